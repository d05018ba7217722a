"""Sets of IP addresses (IPv4 and IPv6) kept as sorted disjoint integer intervals.

`ipBlock` peers are a CIDR minus its `except` list; intervals make that exact
and let the engine split the address space by what each part is allowed,
without enumerating addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from compliance.intervals import Ranges, intersect, normalise, subtract

V4_MAX = 2**32 - 1
V6_MAX = 2**128 - 1

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class AddrSet:
    """Addresses outside the cluster's pods, per family."""

    v4: Ranges = ()
    v6: Ranges = ()

    @staticmethod
    def all() -> AddrSet:
        return _ALL

    @staticmethod
    def empty() -> AddrSet:
        return _EMPTY

    @staticmethod
    def from_network(net: IPNetwork) -> AddrSet:
        lo, hi = int(net.network_address), int(net.broadcast_address)
        if net.version == 4:
            return AddrSet(v4=((lo, hi),))
        return AddrSet(v6=((lo, hi),))

    @staticmethod
    def from_cidr(cidr: str) -> AddrSet:
        return AddrSet.from_network(ipaddress.ip_network(cidr, strict=False))

    def is_empty(self) -> bool:
        return not (self.v4 or self.v6)

    def __bool__(self) -> bool:
        return not self.is_empty()

    def union(self, other: AddrSet) -> AddrSet:
        if other.is_empty():
            return self
        if self.is_empty():
            return other
        return AddrSet(normalise(self.v4 + other.v4), normalise(self.v6 + other.v6))

    __or__ = union

    def intersection(self, other: AddrSet) -> AddrSet:
        return AddrSet(intersect(self.v4, other.v4), intersect(self.v6, other.v6))

    __and__ = intersection

    def difference(self, other: AddrSet) -> AddrSet:
        return AddrSet(subtract(self.v4, other.v4), subtract(self.v6, other.v6))

    __sub__ = difference

    def contains(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        ranges = self.v4 if ip.version == 4 else self.v6
        value = int(ip)
        return any(lo <= value <= hi for lo, hi in ranges)

    def to_cidrs(self) -> tuple[str, ...]:
        """The smallest list of CIDRs covering exactly this set, IPv4 first."""
        out: list[str] = []
        for ranges, cls in ((self.v4, ipaddress.IPv4Address), (self.v6, ipaddress.IPv6Address)):
            for lo, hi in ranges:
                out.extend(str(net) for net in ipaddress.summarize_address_range(cls(lo), cls(hi)))
        return tuple(out)

    def describe(self) -> str:
        """CIDRs for people: `0.0.0.0/0 except 10.0.0.0/8` when holes are the shorter story."""
        parts = []
        for ranges, top, cls in (
            (self.v4, V4_MAX, ipaddress.IPv4Network),
            (self.v6, V6_MAX, ipaddress.IPv6Network),
        ):
            if not ranges:
                continue
            plain = AddrSet(ranges, ()) if cls is ipaddress.IPv4Network else AddrSet((), ranges)
            cidrs = plain.to_cidrs()
            hull = _hull(ranges[0][0], ranges[-1][1], top, cls)
            holes = (AddrSet.from_network(hull) - plain).to_cidrs()
            if holes and len(holes) + 1 < len(cidrs):
                parts.append(f"{hull} except {', '.join(holes)}")
            else:
                parts.extend(cidrs)
        return ", ".join(parts) or "none"


def _hull(lo: int, hi: int, top: int, cls: type[IPNetwork]) -> IPNetwork:
    """The smallest CIDR holding every address from lo to hi."""
    bits = top.bit_length()
    prefix = bits - (lo ^ hi).bit_length()
    mask = (top >> prefix) ^ top if prefix else 0
    return cls((lo & mask, prefix))


def union_all(sets: Iterable[AddrSet]) -> AddrSet:
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    for s in sets:
        v4.extend(s.v4)
        v6.extend(s.v6)
    return AddrSet(normalise(v4), normalise(v6))


_ALL = AddrSet(((0, V4_MAX),), ((0, V6_MAX),))
_EMPTY = AddrSet((), ())
