"""Sets of (protocol, port) kept as sorted disjoint ranges per protocol.

Policies speak in ranges (`port` + `endPort`, or a whole protocol), so the
engine never enumerates ports one by one: every operation works on ranges.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from compliance.intervals import Ranges, intersect, normalise, subtract

FULL_RANGE: Ranges = ((1, 65535),)
PROTOCOLS: tuple[str, ...] = ("TCP", "UDP", "SCTP")
MIN_PORT = 1
MAX_PORT = 65535


@dataclass(frozen=True, slots=True)
class PortSet:
    """Ports per protocol; `ranges[i]` belongs to `PROTOCOLS[i]`."""

    ranges: tuple[Ranges, Ranges, Ranges] = ((), (), ())

    @staticmethod
    def all() -> PortSet:
        return _ALL

    @staticmethod
    def empty() -> PortSet:
        return _EMPTY

    @staticmethod
    def of(protocol: str, lo: int, hi: int | None = None) -> PortSet:
        """One protocol's range `lo..hi`; a single port when `hi` is omitted."""
        idx = PROTOCOLS.index(protocol)
        high = lo if hi is None else hi
        ranges: list[Ranges] = [(), (), ()]
        ranges[idx] = ((lo, high),)
        return PortSet((ranges[0], ranges[1], ranges[2]))

    @staticmethod
    def protocol(protocol: str) -> PortSet:
        """Every port of one protocol."""
        return PortSet.of(protocol, MIN_PORT, MAX_PORT)

    def is_empty(self) -> bool:
        return not (self.ranges[0] or self.ranges[1] or self.ranges[2])

    def is_all(self) -> bool:
        return self == _ALL

    def __bool__(self) -> bool:
        return not self.is_empty()

    def union(self, other: PortSet) -> PortSet:
        if other.is_empty() or self == other:
            return self
        if self.is_empty():
            return other
        a, b = self.ranges, other.ranges
        return PortSet(
            (
                normalise(a[0] + b[0]) if b[0] else a[0],
                normalise(a[1] + b[1]) if b[1] else a[1],
                normalise(a[2] + b[2]) if b[2] else a[2],
            )
        )

    __or__ = union

    def intersection(self, other: PortSet) -> PortSet:
        if self is _ALL:
            return other
        if other is _ALL or self == other:
            return self
        a, b = self.ranges, other.ranges
        return PortSet((intersect(a[0], b[0]), intersect(a[1], b[1]), intersect(a[2], b[2])))

    __and__ = intersection

    def difference(self, other: PortSet) -> PortSet:
        a, b = self.ranges, other.ranges
        return PortSet((subtract(a[0], b[0]), subtract(a[1], b[1]), subtract(a[2], b[2])))

    __sub__ = difference

    def contains(self, protocol: str, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.ranges[PROTOCOLS.index(protocol)])

    def items(self) -> Iterator[tuple[str, Ranges]]:
        """(protocol, ranges) for each protocol with at least one port."""
        for proto, ranges in zip(PROTOCOLS, self.ranges, strict=True):
            if ranges:
                yield proto, ranges

    def describe(self) -> str:
        """`TCP 80, 443; UDP 53` — the form people read in every text output."""
        if self.is_all():
            return "all"
        if self.is_empty():
            return "none"
        parts = []
        for proto, ranges in self.items():
            if ranges == FULL_RANGE:
                parts.append(f"{proto} all")
            else:
                parts.append(f"{proto} " + ", ".join(_range_text(lo, hi) for lo, hi in ranges))
        return "; ".join(parts)


def _range_text(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def parse_description(text: str) -> PortSet:
    """The PortSet whose `describe()` is `text`: documents such as the diff carry ports as
    that text, and a sheet wants one row per range. Anything `describe()` would not
    write is a ValueError, so a misread can never pass as a port range."""
    if text == "all":
        return _ALL
    if text == "none":
        return _EMPTY
    ranges: list[Ranges] = [(), (), ()]
    for part in text.split("; "):
        proto, _, specs = part.partition(" ")
        if proto not in PROTOCOLS or not specs or ranges[PROTOCOLS.index(proto)]:
            raise ValueError(f"not a port description: {text!r}")
        found: list[tuple[int, int]] = []
        for spec in specs.split(", "):
            if spec == "all":
                found.append(FULL_RANGE[0])
                continue
            lo, _, hi = spec.partition("-")
            if not lo.isdigit() or (hi and not hi.isdigit()):
                raise ValueError(f"not a port description: {text!r}")
            low, high = int(lo), int(hi or lo)
            if not MIN_PORT <= low <= high <= MAX_PORT:
                raise ValueError(f"not a port description: {text!r}")
            found.append((low, high))
        ranges[PROTOCOLS.index(proto)] = normalise(found)
    parsed = PortSet((ranges[0], ranges[1], ranges[2]))
    if parsed.describe() != text:
        raise ValueError(f"not a port description: {text!r}")
    return parsed


def union_all(sets: Iterable[PortSet]) -> PortSet:
    acc: list[list[tuple[int, int]]] = [[], [], []]
    for s in sets:
        for i in range(3):
            acc[i].extend(s.ranges[i])
    return PortSet((normalise(acc[0]), normalise(acc[1]), normalise(acc[2])))


_ALL = PortSet((FULL_RANGE, FULL_RANGE, FULL_RANGE))
_EMPTY = PortSet(((), (), ()))
