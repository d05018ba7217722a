"""The zone-to-zone matrix: every allowed flow collapsed onto (from zone, to zone).

An assessor's first picture of segmentation (catalog SEG-10, the pre-test matrix of
PCI DSS 11.4.5) is which zones can reach which, on what. Rows and columns are the
scope file's zones plus two more: `outside-cluster` (addresses outside the cluster)
and `out-of-scope` (workloads in no zone). A workload in several zones counts in
each, so a flow can fill several cells. The PDF, the spreadsheet and SEG-10 read the
same cells, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from compliance.flows import Endpoint, Flow
from compliance.model import WorkloadRef
from compliance.ports import PortSet, union_all
from compliance.scope import NO_ZONE, OUTSIDE, Placement

if TYPE_CHECKING:  # the checks import this module; importing them back would loop
    from compliance.checks.base import Register

COVERED = "covered"
PARTLY = "partly covered"
UNCOVERED = "not in register"
UNJUDGED = "no zone at either end"


def labels(endpoint: Endpoint, placement: Placement) -> frozenset[str]:
    """The matrix rows (or columns) an endpoint belongs to."""
    if not isinstance(endpoint, WorkloadRef):
        return frozenset((OUTSIDE,))
    return placement.zones(endpoint) or frozenset((NO_ZONE,))


def coverage(register: Register, flow: Flow) -> str:
    """How much of a flow the register covers: every part, some, or none."""
    if not register.covering(flow):
        return UNCOVERED
    return PARTLY if register.uncovered(flow) else COVERED


@dataclass(slots=True)
class Cell:
    """One (from, to) pair: the ports its flows allow and how the register covers them."""

    src: str
    dst: str
    port_sets: set[PortSet] = field(default_factory=set)
    """Distinct port sets of its flows: far fewer than flows, so the union is cheap."""
    flows: int = 0
    coverage: set[str] = field(default_factory=set)

    @property
    def register(self) -> str:
        """`covered` when every flow is, `not in register` when none is, else partly."""
        if not self.coverage or self.coverage == {UNJUDGED}:
            return UNJUDGED
        if self.coverage == {COVERED}:
            return COVERED
        if self.coverage == {UNCOVERED}:
            return UNCOVERED
        return PARTLY

    @property
    def ports(self) -> PortSet:
        return union_all(self.port_sets)

    @property
    def ports_text(self) -> str:
        return "every port" if self.ports.is_all() else self.ports.describe()


@dataclass(frozen=True, slots=True)
class Matrix:
    names: tuple[str, ...]
    """Row and column order: the zones as the scope file lists them, then the two extras."""
    cells: dict[tuple[str, str], Cell]

    def cell(self, src: str, dst: str) -> Cell | None:
        return self.cells.get((src, dst))


def zone_matrix(
    flows: Iterable[Flow], zones: Sequence[str], placement: Placement, register: Register
) -> Matrix:
    """One pass over the flows. Flows between two workloads in no zone fill only their
    cell's ports and count: the register is about scope, so their coverage is not asked."""
    cells: dict[tuple[str, str], Cell] = {}
    zones_of = placement.zones_of
    outside = frozenset((OUTSIDE,))
    nowhere = frozenset((NO_ZONE,))
    for flow in flows:
        src, dst = flow.src, flow.dst
        srcs = (zones_of.get(src) or nowhere) if isinstance(src, WorkloadRef) else outside
        dsts = (zones_of.get(dst) or nowhere) if isinstance(dst, WorkloadRef) else outside
        judged = not (srcs <= {NO_ZONE, OUTSIDE} and dsts <= {NO_ZONE, OUTSIDE})
        state = coverage(register, flow) if judged else UNJUDGED
        for s in srcs:
            for d in dsts:
                cell = cells.get((s, d))
                if cell is None:
                    cell = cells[(s, d)] = Cell(s, d)
                cell.port_sets.add(flow.connections)
                cell.flows += 1
                cell.coverage.add(state)
    return Matrix((*zones, OUTSIDE, NO_ZONE), cells)
