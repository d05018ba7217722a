"""Port and address sets against plain Python sets of integers (hypothesis)."""

from __future__ import annotations

import ipaddress
import itertools

from hypothesis import given
from hypothesis import strategies as st

from compliance.addresses import AddrSet
from compliance.ports import PortSet

SMALL = 40  # ports 1..40 keep the brute-force sets small; the code is range-generic

ranges = st.lists(
    st.tuples(st.integers(1, SMALL), st.integers(0, 8)).map(
        lambda t: (t[0], min(SMALL, t[0] + t[1]))
    ),
    max_size=4,
)
port_sets = st.tuples(ranges, ranges, ranges)


def build(spec: tuple[list[tuple[int, int]], ...]) -> tuple[PortSet, set[tuple[int, int]]]:
    ps = PortSet.empty()
    brute: set[tuple[int, int]] = set()
    for p, rs in enumerate(spec):
        proto = ("TCP", "UDP", "SCTP")[p]
        for lo, hi in rs:
            ps = ps | PortSet.of(proto, lo, hi)
            brute |= {(p, x) for x in range(lo, hi + 1)}
    return ps, brute


def members(ps: PortSet) -> set[tuple[int, int]]:
    return {(p, x) for p in range(3) for lo, hi in ps.ranges[p] for x in range(lo, hi + 1)}


@given(port_sets, port_sets)
def test_port_set_algebra_matches_python_sets(a_spec, b_spec) -> None:  # type: ignore[no-untyped-def]
    a, sa = build(a_spec)
    b, sb = build(b_spec)
    assert members(a) == sa
    assert members(a | b) == sa | sb
    assert members(a & b) == sa & sb
    assert members(a - b) == sa - sb
    for ps in (a | b, a & b, a - b):
        for rs in ps.ranges:  # canonical: sorted, disjoint, not adjacent
            assert all(r[0] <= r[1] for r in rs)
            assert all(x[1] + 1 < y[0] for x, y in itertools.pairwise(rs))


def test_port_set_describe_and_all() -> None:
    ps = PortSet.of("TCP", 80) | PortSet.of("TCP", 81, 90) | PortSet.of("UDP", 53)
    assert ps.describe() == "TCP 80-90; UDP 53"
    assert PortSet.all().describe() == "all"
    assert (PortSet.protocol("UDP") | PortSet.of("TCP", 443)).describe() == "TCP 443; UDP all"
    assert (PortSet.protocol("TCP") | PortSet.protocol("UDP") | PortSet.protocol("SCTP")).is_all()


octets = st.integers(0, 255)
cidrs4 = st.tuples(octets, st.integers(24, 32)).map(
    lambda t: str(ipaddress.ip_network(f"10.0.0.{t[0]}/{t[1]}", strict=False))
)


@given(st.lists(cidrs4, max_size=4), st.lists(cidrs4, max_size=4))
def test_address_set_algebra_and_cidr_cover(plus, minus) -> None:  # type: ignore[no-untyped-def]
    universe = [f"10.0.0.{i}" for i in range(256)]
    s = AddrSet.empty()
    for c in plus:
        s = s | AddrSet.from_cidr(c)
    for c in minus:
        s = s - AddrSet.from_cidr(c)
    expected = {
        ip
        for ip in universe
        if any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in plus)
        and not any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in minus)
    }
    assert {ip for ip in universe if s.contains(ip)} == expected
    # the CIDR list covers exactly the set and nothing else
    nets = [ipaddress.ip_network(c) for c in s.to_cidrs()]
    assert {ip for ip in universe if any(ipaddress.ip_address(ip) in n for n in nets)} == expected


def test_address_describe_prefers_holes_when_shorter() -> None:
    s = AddrSet.from_cidr("0.0.0.0/0") - AddrSet.from_cidr("10.0.0.0/8")
    assert s.describe() == "0.0.0.0/0 except 10.0.0.0/8"
    assert s.to_cidrs()[0] == "0.0.0.0/5"
    assert AddrSet.all().describe() == "0.0.0.0/0, ::/0"
    six = AddrSet.from_cidr("2001:db8::/32") - AddrSet.from_cidr("2001:db8:1::/48")
    assert six.describe() == "2001:db8::/32 except 2001:db8:1::/48"
    assert six.contains("2001:db8::1") and not six.contains("2001:db8:1::1")
