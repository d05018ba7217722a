"""`flows.partition` (external addresses split by what is allowed there) against brute force,
and the interval algebra on long address lists.

The sweep in `partition` replaced a loop over every segment times every contribution, and
`subtract` a loop over all of one list per range of the other; these tests hold the first
to a per-address reference (test_sets holds `subtract` to Python sets) and keep the
many-allowlist shape near-linear.
"""

from __future__ import annotations

import time
from functools import reduce

from helpers import allowed, flows_from_yaml
from hypothesis import given
from hypothesis import strategies as st

from compliance.addresses import AddrSet
from compliance.flows import Contribution, RuleRef, Side, partition
from compliance.intervals import normalise, subtract
from compliance.ports import PortSet

SPACE = 48  # addresses 0..47 in each family keep the brute force small; the code is generic

spans = st.lists(
    st.tuples(st.integers(0, SPACE - 1), st.integers(0, 12)).map(
        lambda t: (t[0], min(SPACE - 1, t[0] + t[1]))
    ),
    max_size=3,
)
port_sets = st.lists(
    st.tuples(st.sampled_from(("TCP", "UDP")), st.integers(1, 6), st.integers(0, 2)),
    max_size=2,
).map(
    lambda specs: reduce(
        PortSet.union, (PortSet.of(p, lo, lo + n) for p, lo, n in specs), PortSet.empty()
    )
)
sides = st.builds(
    Side,
    st.lists(
        st.builds(
            RuleRef, st.just("ns"), st.sampled_from("abcd"), st.just("egress"), st.integers(0, 2)
        ),
        max_size=2,
        unique=True,
    ).map(lambda refs: tuple(sorted(refs))),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
contributions = st.lists(
    st.tuples(spans, spans, port_sets, sides).map(
        lambda t: (AddrSet(normalise(t[0]), normalise(t[1])), t[2], t[3])
    ),
    min_size=2,
    max_size=6,
)


def brute_force(items: list[Contribution]) -> dict[PortSet, tuple[set[tuple[str, int]], Side]]:
    """Address by address: the ports every covering contribution adds up to, grouped."""
    out: dict[PortSet, tuple[set[tuple[str, int]], Side]] = {}
    for family in ("v4", "v6"):
        for address in range(SPACE):
            covering = [
                (ports, side)
                for addrs, ports, side in items
                if any(lo <= address <= hi for lo, hi in getattr(addrs, family))
            ]
            ports = reduce(PortSet.union, (p for p, _ in covering), PortSet.empty())
            if not ports:
                continue
            side = reduce(Side.merge, (s for _, s in covering))
            if ports in out:
                members, prev = out[ports]
                out[ports] = (members | {(family, address)}, prev.merge(side))
            else:
                out[ports] = ({(family, address)}, side)
    return out


def members(addrs: AddrSet) -> set[tuple[str, int]]:
    return {
        (family, a)
        for family in ("v4", "v6")
        for lo, hi in getattr(addrs, family)
        for a in range(lo, hi + 1)
    }


@given(contributions)
def test_partition_matches_address_by_address_reference(items: list[Contribution]) -> None:
    got = partition(items)
    ports_seen = [ports for _, ports, _ in got]
    assert len(ports_seen) == len(set(ports_seen)), "one entry per distinct port set"
    assert {ports: (members(addrs), side) for addrs, ports, side in got} == brute_force(items)


def _allowlist(n: int) -> list[Contribution]:
    """n partner /32s, each allowed on its own port by its own rule (the issue's shape)."""
    return [
        (
            AddrSet(v4=((0x0A000000 + 2 * i, 0x0A000000 + 2 * i),)),
            PortSet.of("TCP", 1000 + i),
            Side((RuleRef("pay", f"partner-{i}", "egress", 0),)),
        )
        for i in range(n)
    ]


def test_partition_of_many_distinct_addresses_is_near_linear() -> None:
    """3,000 partners took about 30 s when every segment was tested against every rule."""
    items = _allowlist(3000)
    started = time.perf_counter()
    got = partition(items)
    elapsed = time.perf_counter() - started
    assert len(got) == 3000
    assert all(
        side.rules == (RuleRef("pay", f"partner-{i}", "egress", 0),)
        for i, (_, _, side) in enumerate(got)
    )
    assert elapsed < 5, f"partition of 3,000 /32s took {elapsed:.1f} s"


def test_many_address_policies_end_to_end() -> None:
    """One workload, each policy its own /32 and port in ingress and another in egress."""
    n = 40
    docs = [
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: gw, namespace: pay}
        spec:
          selector: {matchLabels: {app: gw}}
          template:
            metadata: {labels: {app: gw}}
            spec: {containers: [{name: c, image: x}]}
        """
    ]
    for i in range(n):
        docs.append(
            f"""
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {{name: partner-{i}, namespace: pay}}
        spec:
          podSelector: {{matchLabels: {{app: gw}}}}
          policyTypes: [Ingress, Egress]
          ingress: [{{from: [{{ipBlock: {{cidr: 198.51.100.{i}/32}}}}], ports: [{{port: {1000 + i}}}]}}]
          egress: [{{to: [{{ipBlock: {{cidr: 203.0.113.{i}/32}}}}], ports: [{{port: {2000 + i}}}]}}]
        """
        )
    graph = flows_from_yaml("".join(docs))
    for i in range(n):
        for j in (i, (i + 1) % n):
            assert allowed(graph, f"198.51.100.{j}", "pay/gw", "TCP", 1000 + i) == (i == j)
            assert allowed(graph, "pay/gw", f"203.0.113.{j}", "TCP", 2000 + i) == (i == j)
    assert not allowed(graph, "198.51.100.200", "pay/gw", "TCP", 1000)
    assert not allowed(graph, "pay/gw", "198.51.100.0", "TCP", 2000)


def test_subtracting_long_interval_lists_is_linear() -> None:
    """20,000 ranges minus 20,000 interleaved ones took about 4 s; one merge pass is
    milliseconds."""
    a = tuple((i * 10, i * 10 + 5) for i in range(20_000))
    b = tuple((i * 10 + 3, i * 10 + 7) for i in range(20_000))
    started = time.perf_counter()
    rest = subtract(a, b)
    elapsed = time.perf_counter() - started
    assert rest == tuple((i * 10, i * 10 + 2) for i in range(20_000))
    assert elapsed < 1, f"subtract took {elapsed:.2f} s"
