"""Class pairs of a cluster with admin policies, decided by blocks.

First match over the tiers is exact per pair, but deciding every pair of pod classes one
by one is quadratic: broad guardrails touch nearly every pair, and a 5,000-workload
cluster has millions. Outside the pairs a NetworkPolicy rule lists by selector (its
peers are not every pod), a pair decides through four things only:

* the source's *egress side*: its admin and baseline egress rules, whether a
  NetworkPolicy isolates its egress, its egress rules that match every pod, host
  networking;
* which of those admin rules match the destination (and which may, by unknown address);
* the destination's *ingress side*, likewise, with its container ports;
* which of its admin ingress rules match the source.

Admin policies select by namespace and pod labels, so sides and memberships are few and
shared by many classes. Sources with one egress side and one membership in admin ingress
rules share one row of destinations, computed once per block of destinations that match
the same admin egress rules and have one ingress side. Pairs a NetworkPolicy rule lists
are then decided one at a time, with the block's answer for the side no rule lists.

The answers are the engine's (`Engine.decide_pair`): the same decisions, sides and
readings of unknown addresses; only the order of work differs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from compliance.admintiers import Decision, allowed_of
from compliance.ports import PortSet

if TYPE_CHECKING:
    from compliance.flows import CompiledRule, Engine, PodClass, Side, SourceRow
    from compliance.model import ContainerPort

Pair = tuple[PortSet, "Side", "Side"]
Egress = list[tuple[list[Decision], PortSet]]
"""Per reading of unknown addresses, a side's decisions and the ports they allow
(readings that allow nothing are left out)."""
Ingress = tuple[list[Decision], PortSet]
Key = tuple[int, ...]
"""Admin-rule membership codes (`Engine._build_classes`: 4a+1 peer, 4a+2 maybe a peer)."""


class AdminPairs:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.classes = engine.classes
        self.first_admin = len(engine.rules)
        self._sides()
        self._signatures()
        self._eg_cache: dict[tuple[object, ...], Egress] = {}
        self._in_cache: dict[tuple[object, ...], Ingress] = {}
        self._combined: dict[tuple[int, int], Pair | None] = {}

    # ---- grouping

    def _sides(self) -> None:
        """Egress and ingress sides (see the module's docstring), one id per class."""
        engine = self.engine
        eg_ids: dict[object, int] = {}
        in_ids: dict[object, int] = {}
        self.eg_of: list[int] = []
        self.in_of: list[int] = []
        self.eg_members: list[list[int]] = []
        self.in_members: list[set[int]] = []
        for c in self.classes:
            key: object = (
                engine.eg_profile[c.index],
                tuple(r.uid for r in c.egress_rules if r.pods is None),
            )
            e = eg_ids.setdefault(key, len(eg_ids))
            if e == len(self.eg_members):
                self.eg_members.append([])
            self.eg_members[e].append(c.index)
            self.eg_of.append(e)
            key = (
                engine.in_profile[c.index],
                tuple(r.uid for r in c.ingress_rules if r.pods is None),
            )
            i = in_ids.setdefault(key, len(in_ids))
            if i == len(self.in_members):
                self.in_members.append(set())
            self.in_members[i].add(c.index)
            self.in_of.append(i)
        self.eg_rep = [self.classes[m[0]] for m in self.eg_members]
        self.in_rep = [self.classes[min(m)] for m in self.in_members]

    def _signatures(self) -> None:
        """Per class, the admin rules whose peers hold it, split by the rules' direction."""
        direction_of = [direction for _, direction, _, _ in self.engine.admin]
        self.sig_eg: dict[Key, list[int]] = defaultdict(list)
        sig_in: dict[Key, list[int]] = defaultdict(list)
        sig_in_of: list[Key] = []
        for c, codes in enumerate(self.engine.admin_codes):
            key_in = tuple(k for k in codes if k % 4 == 1 and direction_of[k // 4] == "ingress")
            key_eg = tuple(k for k in codes if k % 4 and direction_of[k // 4] == "egress")
            sig_in[key_in].append(c)
            self.sig_eg[key_eg].append(c)
            sig_in_of.append(key_in)
        self.signatures = list(sig_in)
        sid_of = {sig: sid for sid, sig in enumerate(self.signatures)}
        self.sid_of = [sid_of[sig] for sig in sig_in_of]

    def _own_admin(self, cls: PodClass, egress: bool) -> set[int]:
        rules = (
            (*cls.admin_egress, *cls.baseline_egress)
            if egress
            else (*cls.admin_ingress, *cls.baseline_ingress)
        )
        return {r.uid - self.first_admin for r in rules}

    # ---- all pairs

    def run(self) -> list[SourceRow]:
        """Every class pair with an allowed connection, except open egress to open
        ingress (the caller expands that block)."""
        from compliance.flows import SourceRow

        self._ingress_blocks()
        self._egress_parts()
        rows = self._rows()
        classes = self.classes
        listed: list[set[int]] = [set() for _ in classes]
        by_eg: list[set[int]] = [set() for _ in classes]
        for c in classes:
            for rule in c.egress_rules:
                if rule.pods is not None:
                    by_eg[c.index] |= rule.classes
            for rule in c.ingress_rules:
                if rule.pods is not None:
                    for s in rule.classes:
                        listed[s].add(c.index)
        out = []
        for src in classes:
            s = src.index
            by_in = listed[s]
            mine = by_in | by_eg[s]
            own = []
            for d in mine:
                got = self._listed(src, classes[d], d in by_eg[s], d in by_in)
                if got is not None:
                    own.append((d, got))
            out.append(SourceRow(s, rows[(self.eg_of[s], self.sid_of[s])], mine, own))
        return out

    def _ingress_blocks(self) -> None:
        """Ingress per (ingress side, source signature), and per signature the classes
        whose ingress allows it something."""
        self.ingress: dict[tuple[int, int], Ingress] = {}
        self.key_b: dict[tuple[int, int], Key] = {}
        self.admits: list[set[int]] = []
        # Sides with the same admin rules share their view of a signature; sides that
        # differ only in container ports no rule names, or in NetworkPolicy rules that
        # allow them nothing, decide alike.
        owners: dict[frozenset[int], list[int]] = defaultdict(list)
        decides: list[object] = []
        np_rules: list[list[tuple[CompiledRule, PortSet]]] = []
        for i, dst in enumerate(self.in_rep):
            own = frozenset(self._own_admin(dst, egress=False))
            owners[own].append(i)
            mine = [
                (rule, ports)
                for rule, ports in zip(dst.ingress_rules, dst.ingress_ports, strict=True)
                if rule.pods is None and ports
            ]
            np_rules.append(mine)
            admin = (*dst.admin_ingress, *dst.baseline_ingress)
            decides.append(
                (
                    tuple(r.uid for r in admin),
                    bool(dst.ingress_policies),
                    dst.host_network,
                    dst.ingress_open,
                    dst.ports if any(r.named for r in admin) else (),
                    tuple((r.uid, p) for r, p in mine),
                )
            )
        for sid, sig in enumerate(self.signatures):
            admitted: set[int] = set()
            for own, sides in owners.items():
                key_b = tuple(k for k in sig if k // 4 in own)
                for i in sides:
                    self.key_b[(i, sid)] = key_b
                    cache_key = ("base", decides[i], key_b)
                    res = self._in_cache.get(cache_key)
                    if res is None:
                        res = self._ingress(self.in_rep[i], key_b, np_rules[i])
                        self._in_cache[cache_key] = res
                    self.ingress[(i, sid)] = res
                    if res[1]:
                        admitted |= self.in_members[i]
            self.admits.append(admitted)

    def _egress_parts(self) -> None:
        """Per egress side, the classes grouped by the side's admin rules that match them."""
        self.parts: list[dict[Key, set[int]]] = []
        self.key_a: list[list[Key]] = []
        self.named: list[bool] = []
        n = len(self.classes)
        for src in self.eg_rep:
            own = self._own_admin(src, egress=True)
            parts: dict[Key, set[int]] = defaultdict(set)
            for sig, members in self.sig_eg.items():
                parts[tuple(k for k in sig if k // 4 in own)].update(members)
            key_of: list[Key] = [()] * n
            for key, held in parts.items():
                for d in held:
                    key_of[d] = key
            self.parts.append(parts)
            self.key_a.append(key_of)
            # Named ports resolve per destination: only then do its ports matter here.
            self.named.append(
                any(r.named for r in (*src.admin_egress, *src.baseline_egress))
                or any(r.named for r in src.egress_rules if r.pods is None)
            )

    def _rows(self) -> dict[tuple[int, int], list[tuple[int, Pair]]]:
        """Per (egress side, signature), the destinations allowed something and how,
        as if no NetworkPolicy rule listed them."""
        rows: dict[tuple[int, int], list[tuple[int, Pair]]] = {}
        for e, src in enumerate(self.eg_rep):
            src_open = src.egress_open
            named = self.named[e]
            for sid in sorted({self.sid_of[s] for s in self.eg_members[e]}):
                row: list[tuple[int, Pair]] = []
                admitted = self.admits[sid]
                for key_a, part in self.parts[e].items():
                    if not named and not self._base_egress(e, key_a, ()):
                        continue
                    cands = part & admitted if len(part) < len(admitted) else admitted & part
                    by_side: dict[int, list[int]] = defaultdict(list)
                    for d in cands:
                        by_side[self.in_of[d]].append(d)
                    for i, ds in by_side.items():
                        dst = self.in_rep[i]
                        if src_open and dst.ingress_open:
                            continue  # the open block, expanded by the caller
                        eg = self._base_egress(e, key_a, dst.ports if named else ())
                        res = self._combine(src, dst, eg, self.ingress[(i, sid)])
                        if res is not None:
                            row.extend((d, res) for d in ds)
                rows[(e, sid)] = row
        return rows

    def _listed(self, src: PodClass, dst: PodClass, by_eg: bool, by_in: bool) -> Pair | None:
        """A pair some NetworkPolicy rule lists: that side decided with the rules that
        match, the other side as its block says."""
        if src.egress_open and dst.ingress_open:
            return None
        engine = self.engine
        e, i, sid = self.eg_of[src.index], self.in_of[dst.index], self.sid_of[src.index]
        if by_in:
            np_in = engine.ingress_from(dst, src)
            key_b = self.key_b[(i, sid)]
            cache_key: tuple[object, ...] = (
                "listed",
                engine.in_profile[dst.index],
                key_b,
                _uids(np_in),
            )
            ing = self._in_cache.get(cache_key)
            if ing is None:
                ing = self._in_cache[cache_key] = self._ingress(dst, key_b, np_in)
        else:
            ing = self.ingress[(i, sid)]
        if not ing[1]:
            return None
        key_a = self.key_a[e][dst.index]
        if by_eg:
            np_eg = engine.egress_towards(src, dst)
            cache_key = ("listed", engine.eg_profile[src.index], key_a, _uids(np_eg), dst.ports)
            eg = self._eg_cache.get(cache_key)
            if eg is None:
                eg = self._eg_cache[cache_key] = self._egress(src, key_a, dst.ports, np_eg)
        else:
            eg = self._base_egress(e, key_a, dst.ports if self.named[e] else ())
        return self._combine(src, dst, eg, ing)

    # ---- one side

    def _base_egress(self, e: int, key: Key, dst_ports: tuple[ContainerPort, ...]) -> Egress:
        cache_key = ("base", e, key, dst_ports)
        hit = self._eg_cache.get(cache_key)
        if hit is None:
            src = self.eg_rep[e]
            np_rules = []
            for rule in src.egress_rules:
                if rule.pods is None:
                    ports = rule.ports_for(dst_ports)
                    if ports:
                        np_rules.append((rule, ports))
            hit = self._eg_cache[cache_key] = self._egress(src, key, dst_ports, np_rules)
        return hit

    def _egress(
        self,
        src: PodClass,
        key: Key,
        dst_ports: tuple[ContainerPort, ...],
        np_rules: list[tuple[CompiledRule, PortSet]],
    ) -> Egress:
        """The source's egress towards a peer its admin rules match as `key` says and
        its NetworkPolicy rules as `np_rules` say, per reading of unknown addresses:
        with only Deny rules in doubt, not matching them allows at least as much (with
        only Allow rules, matching them), so one reading gives the union of both."""
        engine = self.engine
        if src.egress_open:
            return [(engine.open_decisions, PortSet.all())]
        first = self.first_admin
        peer = {first + k // 4 for k in key if k % 4 == 1}
        maybe = {first + k // 4 for k in key if k % 4 == 2}
        actions = {engine.admin[uid - first][3].action for uid in maybe}
        if not actions or actions == {"allow"}:
            readings: tuple[bool, ...] = (True,)
        elif actions == {"deny"}:
            readings = (False,)
        else:
            readings = (True, False)
        out = []
        for reading in readings:
            matched = peer | maybe if reading else peer
            decisions = engine.decide_side(src, True, matched, dst_ports, np_rules)
            allowed = allowed_of(decisions)
            if allowed:
                out.append((decisions, allowed))
        return out

    def _ingress(
        self, dst: PodClass, key: Key, np_rules: list[tuple[CompiledRule, PortSet]]
    ) -> Ingress:
        """The destination's ingress from a peer its admin rules match as `key` says and
        its NetworkPolicy rules as `np_rules` say."""
        engine = self.engine
        if dst.ingress_open:
            return engine.open_decisions, PortSet.all()
        ids = {self.first_admin + k // 4 for k in key}
        decisions = engine.decide_side(dst, False, ids, dst.ports, np_rules)
        return decisions, allowed_of(decisions)

    def _combine(
        self, src: PodClass, dst: PodClass, egress: Egress, ingress: Ingress
    ) -> Pair | None:
        """Both sides together, the readings merged. Keyed by the sides' lists, which the
        caches keep alive; the sides depend on the classes only by host networking, which
        their sides' decisions already differ by."""
        key = (id(egress), id(ingress))
        if key in self._combined:
            return self._combined[key]
        from compliance.flows import merge_pair

        ing, in_allowed = ingress
        result: Pair | None = None
        if in_allowed:
            for eg, eg_allowed in egress:
                allowed = eg_allowed & in_allowed
                if not allowed:
                    continue
                res = (
                    allowed,
                    self.engine.decided_side(src, eg, allowed),
                    self.engine.decided_side(dst, ing, allowed),
                )
                result = res if result is None else merge_pair(result, res)
        self._combined[key] = result
        return result


def _uids(rules: list[tuple[CompiledRule, PortSet]]) -> tuple[int, ...]:
    return tuple(r.uid for r, _ in rules)
