"""The approved-flow register against a brute-force reference.

A flow is "not in the register" exactly where no current entry covers it; a
wrong answer either hides an unapproved flow (a false pass) or invents one. The
property below checks `Register.uncovered` point by point: every sampled
(address, protocol, port) of a flow is covered by some active entry if and only
if it lies in none of the uncovered pieces.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from compliance import addresses
from compliance.addresses import AddrSet
from compliance.checks.base import Register
from compliance.flows import EXTERNAL, NOT_ISOLATED, External, Flow
from compliance.model import WorkloadRef
from compliance.ports import PortSet, union_all
from compliance.scope import ApprovedFlow, FlowEnd, Placement

AS_OF = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
APP = WorkloadRef("pay", "app", "Deployment")
DB = WorkloadRef("pay", "db", "StatefulSet")
PLACEMENT = Placement({APP: frozenset({"cde"}), DB: frozenset({"cde", "data"})})
PROTOS = ("TCP", "UDP")
SAMPLE_PORTS = range(1, 21)
SAMPLE_ADDRS = [f"10.0.0.{i}" for i in range(0, 256, 3)] + ["10.0.1.1", "2001:db8::1"]

blocks = st.lists(
    st.sampled_from(
        [
            "10.0.0.0/24",
            "10.0.0.0/25",
            "10.0.0.128/26",
            "10.0.0.16/28",
            "10.0.0.64/30",
            "10.0.1.0/24",
            "2001:db8::/64",
            "10.0.0.200/32",
        ]
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def port_sets(draw: st.DrawFn) -> PortSet:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        proto = draw(st.sampled_from(PROTOS))
        lo = draw(st.integers(1, 20))
        hi = draw(st.integers(lo, 20))
        parts.append(PortSet.of(proto, lo, hi))
    return union_all(parts)


@st.composite
def entries(draw: st.DrawFn, index: int) -> ApprovedFlow:
    expired = draw(st.booleans())
    if draw(st.booleans()):
        cidrs = draw(blocks)
        dst = FlowEnd(",".join(cidrs), addresses=addresses.union_all(map(AddrSet.from_cidr, cidrs)))
    else:
        dst = draw(
            st.sampled_from(
                [
                    FlowEnd("db", workload="pay/db"),
                    FlowEnd("zone data", zone="data"),
                    FlowEnd("ns", namespace="pay"),
                    FlowEnd("other", workload="pay/other"),
                ]
            )
        )
    src = draw(
        st.sampled_from(
            [
                FlowEnd("app", workload="pay/app"),
                FlowEnd("zone cde", zone="cde"),
                FlowEnd("db", workload="pay/db"),
            ]
        )
    )
    ports = draw(st.one_of(st.just(PortSet.all()), port_sets()))
    return ApprovedFlow(
        ref=f"AF-{index}",
        src=src,
        dst=dst,
        ports=ports,
        justification="j",
        owner="o",
        ticket="t",
        expires=dt.date(2026, 1, 1) if expired else dt.date(2027, 1, 1),
    )


@st.composite
def registers(draw: st.DrawFn) -> list[ApprovedFlow]:
    return [draw(entries(i)) for i in range(draw(st.integers(0, 4)))]


def covered(
    register: list[ApprovedFlow],
    src: WorkloadRef,
    dst: object,
    addr: str | None,
    proto: str,
    port: int,
) -> bool:
    """Brute force: does an active entry name both ends and the port?"""
    for e in register:
        if e.expires < AS_OF.date():
            continue
        if not e.src.matches(src, PLACEMENT.zones(src)):
            continue
        if addr is None:
            assert isinstance(dst, WorkloadRef)
            if not e.dst.matches(dst, PLACEMENT.zones(dst)):
                continue
        elif e.dst.addresses is None or not e.dst.addresses.contains(addr):
            continue
        if e.ports.contains(proto, port):
            return True
    return False


def in_pieces(
    pieces: list[tuple[AddrSet | None, PortSet]], addr: str | None, proto: str, port: int
) -> bool:
    return any(
        ports.contains(proto, port)
        and (addr is None or (addrs is not None and addrs.contains(addr)))
        for addrs, ports in pieces
    )


@given(
    register=registers(),
    flow_ports=st.one_of(st.just(PortSet.all()), port_sets()),
    flow_blocks=blocks,
)
def test_uncovered_external_parts_match_brute_force(
    register: list[ApprovedFlow], flow_ports: PortSet, flow_blocks: list[str]
) -> None:
    target = addresses.union_all(map(AddrSet.from_cidr, flow_blocks))
    flow = Flow(APP, External(target), flow_ports, NOT_ISOLATED, EXTERNAL)
    pieces = Register(register, PLACEMENT, AS_OF).uncovered(flow)
    for addrs, ports in pieces:  # pieces stay inside the flow
        assert addrs is not None and not (addrs - target)
        assert not (ports - flow_ports)
    for addr in SAMPLE_ADDRS:
        if not target.contains(addr):
            continue
        for proto in PROTOS:
            for port in SAMPLE_PORTS:
                if not flow_ports.contains(proto, port):
                    continue
                want = not covered(register, APP, None, addr, proto, port)
                assert in_pieces(pieces, addr, proto, port) == want, (addr, proto, port)


@given(register=registers(), flow_ports=st.one_of(st.just(PortSet.all()), port_sets()))
def test_uncovered_workload_parts_match_brute_force(
    register: list[ApprovedFlow], flow_ports: PortSet
) -> None:
    flow = Flow(APP, DB, flow_ports, NOT_ISOLATED, NOT_ISOLATED)
    pieces = Register(register, PLACEMENT, AS_OF).uncovered(flow)
    assert all(addrs is None for addrs, _ in pieces)
    for proto in PROTOS:
        for port in SAMPLE_PORTS:
            if flow_ports.contains(proto, port):
                want = not covered(register, APP, DB, None, proto, port)
                assert in_pieces(pieces, None, proto, port) == want, (proto, port)


def test_sampled_addresses_are_valid() -> None:
    for addr in SAMPLE_ADDRS:
        ipaddress.ip_address(addr)
