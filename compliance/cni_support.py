"""Which CNIs implement the cluster-wide policy APIs, and what SEG-01 says about it.

AdminNetworkPolicy and BaselineAdminNetworkPolicy (`policy.networking.k8s.io/v1alpha1`)
and their successor ClusterNetworkPolicy (`v1alpha2`) are CRDs: the API server stores
them whether or not the CNI reads them, and a CNI that does not implement them enforces
none of their rules. So an export holding them is evidence of intent only, unless the
CNI running is known to implement them. The table below is data, one row per (CNI,
kind), from kubernetes-sigs/network-policy-api `site-src/implementations.md` and the
v0.2.0 release notes (2026-04); a CNI missing from it is "not known", never "yes".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from compliance.load import LoadResult, api_group

ANP = "AdminNetworkPolicy"
BANP = "BaselineAdminNetworkPolicy"
CNP = "ClusterNetworkPolicy"
ADMIN_KINDS = (ANP, BANP, CNP)
ADMIN_GROUP = "policy.networking.k8s.io"

IMPLEMENTS = "implements"
FROM_VERSION = "from version"
EXPERIMENTAL = "experimental"
NOT_IMPLEMENTED = "does not implement"


@dataclass(frozen=True, slots=True)
class Support:
    """One CNI's support for one kind. `product` is the name SEG-01's agent table gives
    (`ENFORCING_AGENTS` in checks/isolation.py); `version` is the first release that
    implements the kind, for `FROM_VERSION`."""

    product: str
    kind: str
    level: str
    version: str = ""


SUPPORT: tuple[Support, ...] = (
    Support("OVN-Kubernetes", ANP, IMPLEMENTS),
    Support("OVN-Kubernetes", BANP, IMPLEMENTS),
    Support("Antrea", ANP, IMPLEMENTS),
    Support("Antrea", BANP, IMPLEMENTS),
    Support("Kube-OVN", ANP, IMPLEMENTS),
    Support("Kube-OVN", BANP, IMPLEMENTS),
    Support("Kube-OVN", CNP, EXPERIMENTAL),
    Support("Calico", ANP, FROM_VERSION, "3.29"),
    Support("Calico", BANP, FROM_VERSION, "3.29"),
    Support("Calico", CNP, FROM_VERSION, "3.32"),
    Support("kube-network-policies", ANP, IMPLEMENTS),
    Support("kube-network-policies", BANP, IMPLEMENTS),
    Support("kube-network-policies", CNP, IMPLEMENTS),
    Support("Cilium", ANP, NOT_IMPLEMENTED),
    Support("Cilium", BANP, NOT_IMPLEMENTED),
    Support("Cilium", CNP, NOT_IMPLEMENTED),
)

NOT_PROVEN = "configured, not proven enforced"


def admin_policy_kinds(loaded: LoadResult) -> tuple[str, ...]:
    """The cluster-wide policy kinds (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
    ClusterNetworkPolicy) the export holds, in `ADMIN_KINDS` order.

    Read from the load result, not the model, because until the engine models these
    kinds the loader skips them and keeps only `skipped_kinds` ("Kind (apiVersion)"
    with a count); once the model reads them they are among `loaded.objects`. Both are
    looked at, by kind and API group, so the answer is the same before and after. When
    the model holds these policies, point this at the model (its admin policies' kinds)
    instead. A pack's snapshot carries the model, not the load result, so until then it
    records these kinds itself (`admin_policy_kinds` in snapshot.json), which
    `verify --recompute` and an evaluation of the pack read back.
    """
    found: set[str] = set()
    for obj in loaded.objects:
        if obj.kind in ADMIN_KINDS and obj.group == ADMIN_GROUP:
            found.add(obj.kind)
    for label, _count in loaded.skipped_kinds:
        kind, _, rest = label.partition(" (")
        if kind in ADMIN_KINDS and api_group(rest.rstrip(")")) == ADMIN_GROUP:
            found.add(kind)
    return tuple(k for k in ADMIN_KINDS if k in found)


@dataclass(frozen=True, slots=True)
class AdminSupport:
    """What SEG-01 says about the admin policies in the export."""

    statement: str
    severity: str
    """"pass" when every kind present is implemented by a CNI found running; "warn" when
    that depends on a version or an experimental feature, or no CNI is known to; "fail"
    when every CNI found is known not to implement a kind present."""

    @property
    def proven_capable(self) -> bool:
        return self.severity == "pass"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _level(product: str, kind: str) -> Support | None:
    return next((s for s in SUPPORT if s.product == product and s.kind == kind), None)


def admin_support(products: Iterable[str], kinds: Sequence[str]) -> AdminSupport | None:
    """Whether the CNIs found running (SEG-01's products) are known to implement the
    admin policy kinds the export holds; None when it holds none."""
    if not kinds:
        return None
    products = list(dict.fromkeys(products))
    said: dict[tuple[str, str, str], list[str]] = {}  # (product, level, version) -> kinds
    missing: list[str] = []
    worst = "pass"
    for kind in kinds:
        rows = [(p, _level(p, kind)) for p in products]
        implemented = [p for p, s in rows if s is not None and s.level == IMPLEMENTS]
        if implemented:
            for p in implemented:
                said.setdefault((p, IMPLEMENTS, ""), []).append(kind)
            continue
        if not products:
            missing.append(kind)
        for p, s in rows:
            key = (p, "", "") if s is None else (p, s.level, s.version)
            said.setdefault(key, []).append(kind)
        refused = bool(rows) and all(s is not None and s.level == NOT_IMPLEMENTED for _, s in rows)
        worst = "fail" if refused else ("warn" if worst == "pass" else worst)
    parts = [_sentence(p, level, version, _and(ks)) for (p, level, version), ks in said.items()]
    if missing:
        parts.append(f"the export shows no CNI known to implement {_and(missing)}")
    statement = f"the export holds {_and(list(kinds))}: " + "; ".join(parts)
    if worst != "pass":
        statement += f"; the results that rest on them are {NOT_PROVEN}"
    return AdminSupport(statement, worst)


def _sentence(product: str, level: str, version: str, kinds: str) -> str:
    if level == IMPLEMENTS:
        return f"{product} is known to implement {kinds}"
    if level == FROM_VERSION:
        return (
            f"{product} implements {kinds} from {version}, and the export does not show its version"
        )
    if level == EXPERIMENTAL:
        return f"{product} implements {kinds} only as an experimental feature"
    if level == NOT_IMPLEMENTED:
        return f"{product} does not implement {kinds}, so it enforces none of their rules"
    return f"{product} is not known to implement {kinds}"


def _label(s: Support) -> str:
    if s.level == FROM_VERSION:
        return f"{s.product} (from {s.version})"
    if s.level == EXPERIMENTAL:
        return f"{s.product} (experimental)"
    return s.product


def _refuses_all(product: str) -> bool:
    levels = [_level(product, k) for k in ADMIN_KINDS]
    return all(s is not None and s.level == NOT_IMPLEMENTED for s in levels)


def implementations() -> str:
    """The table in one sentence, for the report's methodology: which CNIs implement
    which kinds, and which implement none, so the text never drifts from SEG-01's data."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for kind in ADMIN_KINDS:
        labels = tuple(_label(s) for s in SUPPORT if s.kind == kind and s.level != NOT_IMPLEMENTED)
        groups.setdefault(labels, []).append(kind)
    parts: list[str] = []
    for labels, kinds in groups.items():
        verb = "" if parts else (" are implemented" if len(kinds) > 1 else " is implemented")
        parts.append(f"{_and(kinds)}{verb} by {_and(list(labels))}")
    text = "; ".join(parts)
    refusing = [p for p in dict.fromkeys(s.product for s in SUPPORT) if _refuses_all(p)]
    if refusing:
        verb = "implements" if len(refusing) == 1 else "implement"
        text += f"; {_and(refusing)} {verb} none of them"
    return text
