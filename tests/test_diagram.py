"""The evidence pack's inline SVG: the status chart and the zone boundary diagrams.

The boundary groups are checked on small inline clusters whose flows are known by hand,
the drawings by parsing them: well-formed, cluster text shown and never interpreted,
nothing drawn outside the viewBox, and WeasyPrint accepting them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
import xml.etree.ElementTree as ET

import pytest

from compliance.checks.base import Register
from compliance.evaluate import Evaluation
from compliance.flows import NOT_ISOLATED, Flow, FlowGraph
from compliance.model import WorkloadRef
from compliance.ports import PortSet
from compliance.render.diagram import (
    MAX_CHARS,
    MAX_PEER_GROUPS,
    STATUS_COLOURS,
    STATUS_ORDER,
    PeerGroup,
    ZoneBoundary,
    boundary_svg,
    status_chart_svg,
    zone_boundaries,
    zone_boundary_summary,
    zone_diagram_svg,
)
from tests.helpers import evaluation_from_yaml, namespace, pod, policy, sample_evaluation

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<img src="file:///etc/passwd">'
SCRIPT = "</svg><script>alert(1)</script>"

# --------------------------------------------------------------------------- helpers


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("width") == "100%"
    return root


def view_box(root: ET.Element) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in (root.get("viewBox") or "").split())
    return x, y, w, h


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def local_tags(root: ET.Element) -> set[str]:
    return {el.tag.rpartition("}")[2] for el in root.iter()}


def rects(root: ET.Element, fill: str) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("fill") == fill]


def segments(root: ET.Element, status: str) -> list[ET.Element]:
    """The chart's bar segments of one status (the legend's swatches are smaller)."""
    return [r for r in rects(root, STATUS_COLOURS[status]) if float(r.get("height") or 0) > 12]


def width_of(el: ET.Element) -> float:
    return float(el.get("width") or "nan")


def assert_inside_view_box(root: ET.Element) -> None:
    _, _, w, h = view_box(root)
    for r in root.iter(f"{SVG}rect"):
        x, y = float(r.get("x") or 0), float(r.get("y") or 0)
        assert x >= 0 and x + width_of(r) <= w + 0.1, ET.tostring(r)
        assert y >= 0 and y + float(r.get("height") or 0) <= h + 0.1, ET.tostring(r)
    for t in root.iter(f"{SVG}text"):
        assert 0 < float(t.get("y") or 0) <= h, ET.tostring(t)


# --------------------------------------------------------------------------- inline clusters

# pay/api and pay/db form zone `cde`, pay/db is also zone `data`; edge/gw is the public
# tier; coredns is not isolated.
# Known flows across cde's boundary:
#   in:  edge/gw -> pay/api TCP 8443 (approved AF-1), 10.0.0.0/8 -> pay/db TCP 5432 (not)
#   out: pay/api -> kube-system/coredns UDP 53 + TCP 53 (AF-2), pay/api -> 203.0.113.0/24
#        TCP 443 (not); pay/api -> pay/db TCP 5432 stays inside cde but enters `data`.
CLUSTER = (
    namespace("pay")
    + namespace("edge")
    + namespace("kube-system")
    + pod("api", "pay", {"app": "api"}, "https:8443/TCP")
    + pod("db", "pay", {"app": "db"}, "pg:5432/TCP")
    + pod("gw", "edge", {"app": "gw"}, "https:443/TCP")
    + pod("coredns", "kube-system", {"k8s-app": "kube-dns"}, "dns:53/UDP,dnstcp:53/TCP")
    + policy("default-deny", "pay", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
    + policy(
        "api",
        "pay",
        """
        podSelector: {matchLabels: {app: api}}
        policyTypes: [Ingress, Egress]
        ingress:
        - from:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: edge}}
          ports: [{port: 8443}]
        egress:
        - to: [{podSelector: {matchLabels: {app: db}}}]
          ports: [{port: 5432}]
        - to:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
          ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
        - to: [{ipBlock: {cidr: 203.0.113.0/24}}]
          ports: [{port: 443}]
        """,
    )
    + policy(
        "db",
        "pay",
        """
        podSelector: {matchLabels: {app: db}}
        policyTypes: [Ingress]
        ingress:
        - from: [{podSelector: {matchLabels: {app: api}}}]
          ports: [{port: 5432}]
        - from: [{ipBlock: {cidr: 10.0.0.0/8}}]
          ports: [{port: 5432}]
        """,
    )
    + policy(
        "gw",
        "edge",
        """
        podSelector: {matchLabels: {app: gw}}
        policyTypes: [Ingress, Egress]
        ingress:
        - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
          ports: [{port: 443}]
        egress:
        - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}}]
          ports: [{port: 8443}]
        """,
    )
)


def scope(dns_ports: str = "[{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]") -> str:
    return f"""
    cluster: test
    zones:
      - name: cde
        role: cde
        frameworks: [pci-dss-4.0.1]
        selectors:
          - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: pay}}}}
      - name: edge-zone
        role: public
        frameworks: [pci-dss-4.0.1]
        selectors:
          - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: edge}}}}
      - name: data
        role: datastore
        frameworks: [pci-dss-4.0.1]
        selectors:
          - podSelector: {{matchLabels: {{app: db}}}}
    approved_flows:
      - id: AF-1
        from: {{zone: edge-zone}}
        to: {{workload: pay/api}}
        ports: [{{protocol: TCP, port: 8443}}]
        justification: storefront requests
        owner: payments
        ticket: CHG-1
        expires: 2027-06-30
      - id: AF-2
        from: {{zone: cde}}
        to: {{namespace: kube-system}}
        ports: {dns_ports}
        justification: DNS
        owner: platform
        ticket: CHG-2
        expires: 2027-06-30
    """


@pytest.fixture(scope="module")
def small() -> Evaluation:
    ev: Evaluation = evaluation_from_yaml(CLUSTER, scope())
    return ev


def many_namespaces(count: int, per_namespace: int = 2) -> str:
    """`target/web` (zone `target`) reachable from `count` open namespaces, and every
    workload of those namespaces in zone `many` (for the member list)."""
    text = namespace("target") + pod("web", "target", {"app": "web"}, "8080/TCP")
    for i in range(count):
        text += namespace(f"n{i:02d}", {"group": "many"})
        for j in range(per_namespace):
            text += pod(f"w{j}", f"n{i:02d}", {"app": f"w{j}"}, "80/TCP")
    return text


MANY_SCOPE = """
cluster: test
zones:
  - name: target
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: target}}
  - name: many
    role: other
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {matchLabels: {group: many}}
"""


# --------------------------------------------------------------------------- status chart


def test_chart_segments_are_proportional_in_status_order() -> None:
    svg = status_chart_svg(
        [("PCI DSS v4.0.1", {"pass": 3, "fail": 1}), ("HIPAA", {"pass": 2, "manual": 2, "warn": 4})]
    )
    root = parse(svg)
    assert view_box(root)[2] > 0
    fail, pass_a, pass_b = (
        *segments(root, "fail"),
        *segments(root, "pass"),
    )
    # Each bar spans the same width; segments share it in proportion to their counts.
    assert width_of(pass_a) == pytest.approx(3 * width_of(fail), abs=0.2)
    (warn,) = segments(root, "warn")
    (manual,) = segments(root, "manual")
    assert width_of(warn) == pytest.approx(2 * width_of(pass_b), abs=0.2)
    assert width_of(manual) == pytest.approx(width_of(pass_b), abs=0.2)
    assert width_of(fail) + width_of(pass_a) == pytest.approx(
        width_of(warn) + width_of(pass_b) + width_of(manual), abs=0.2
    )
    # Worst first: fail before pass, warn before pass before manual.
    x = {id(r): float(r.get("x") or 0) for r in (fail, pass_a, warn, pass_b, manual)}
    assert x[id(fail)] < x[id(pass_a)]
    assert x[id(warn)] < x[id(pass_b)] < x[id(manual)]
    words = texts(root)
    for expected in ("PCI DSS v4.0.1", "HIPAA", "1", "3", "4", "2", "8", "Fail", "Pass"):
        assert expected in words, expected
    assert_inside_view_box(root)


def test_chart_legend_lists_every_status_in_order() -> None:
    root = parse(status_chart_svg([("fw", {"pass": 1})]))
    words = texts(root)
    legend = ["Fail", "Unknown", "Warning", "Waived", "Pass", "Manual", "Not applicable"]
    assert [w for w in words if w in legend] == legend
    assert list(STATUS_COLOURS) == list(STATUS_ORDER)


def test_chart_omits_counts_that_do_not_fit_their_segment() -> None:
    root = parse(status_chart_svg([("fw", {"fail": 1, "pass": 999})]))
    words = texts(root)
    assert "999" in words and "1000" in words
    assert "1" not in words  # the fail segment is half a unit wide
    assert len(segments(root, "fail")) == 1


def test_chart_keeps_unknown_statuses_and_empty_rows() -> None:
    root = parse(status_chart_svg([("fw", {"pass": 2, "mystery": 2}), ("none", {})]))
    words = texts(root)
    assert "mystery" in words  # in the legend, not silently dropped
    assert "no requirements" in words
    parse(status_chart_svg([]))


@pytest.mark.parametrize("label", [HOSTILE, SCRIPT, "R&D \"quoted\" 'framework'"])
def test_chart_escapes_framework_titles(label: str) -> None:
    svg = status_chart_svg([(label, {"fail": 2, "pass": 5})])
    root = parse(svg)
    assert not local_tags(root) & {"img", "script"}
    assert "<script" not in svg and "<img" not in svg
    assert label in texts(root)


def test_chart_truncates_long_titles() -> None:
    title = "A framework title far too long to fit in the label column of the chart"
    root = parse(status_chart_svg([(title, {"pass": 1})]))
    (shown,) = [t for t in texts(root) if t.startswith("A framework")]
    assert shown.endswith("…") and len(shown) < len(title)


def test_chart_is_deterministic() -> None:
    rows = [("b", {"pass": 7, "fail": 3, "waived": 1}), ("a", {"not_applicable": 2})]
    assert status_chart_svg(rows) == status_chart_svg(list(rows))


# --------------------------------------------------------------------------- boundary groups


def test_boundary_groups_match_the_flows_by_hand(small: Evaluation) -> None:
    b = zone_boundary_summary(small, "cde")
    assert b.zone == "cde" and b.role == "cde"
    assert b.members == 2 and b.member_names == ("pay/api", "pay/db")
    # Addresses first, then workloads; pay/api -> pay/db is inside the zone.
    assert b.inbound == (
        PeerGroup("10.0.0.0/8", "TCP 5432", 1, False, "not in register: TCP 5432"),
        PeerGroup("edge/gw", "TCP 8443", 1, True, "AF-1: TCP 8443"),
    )
    assert b.outbound == (
        PeerGroup("203.0.113.0/24", "TCP 443", 1, False, "not in register: TCP 443"),
        PeerGroup("kube-system/coredns", "TCP 53; UDP 53", 1, True, "AF-2: TCP 53; UDP 53"),
    )
    assert b.external == frozenset({"10.0.0.0/8", "203.0.113.0/24"})
    labels = {g.label for g in (*b.inbound, *b.outbound)}
    assert not labels & {"pay/api", "pay/db"}


def test_flows_inside_one_zone_cross_another(small: Evaluation) -> None:
    b = zone_boundary_summary(small, "data")
    assert b.member_names == ("pay/db",)
    assert b.inbound == (
        PeerGroup("10.0.0.0/8", "TCP 5432", 1, False, "not in register: TCP 5432"),
        PeerGroup("pay/api", "TCP 5432", 1, False, "not in register: TCP 5432"),
    )
    assert b.outbound == ()  # default deny, no egress rule


def test_partly_approved_flows_are_not_covered() -> None:
    ev = evaluation_from_yaml(CLUSTER, scope("[{protocol: UDP, port: 53}]"))
    b = zone_boundary_summary(ev, "cde")
    dns = next(g for g in b.outbound if g.label == "kube-system/coredns")
    # the register column says which port the entry covers and which it does not
    assert dns == PeerGroup(
        "kube-system/coredns", "TCP 53; UDP 53", 1, False, "AF-2: UDP 53; not in register: TCP 53"
    )


def test_boundary_of_the_other_side(small: Evaluation) -> None:
    b = zone_boundary_summary(small, "edge-zone")
    # The gateway accepts HTTPS from anywhere (IPv4 only) and sends only to pay/api.
    assert [g[:4] for g in b.inbound] == [("0.0.0.0/0", "TCP 443", 1, False)]
    assert [g[:4] for g in b.outbound] == [("pay/api", "TCP 8443", 1, True)]


def test_single_pass_agrees_with_one_zone_at_a_time(small: Evaluation) -> None:
    every = zone_boundaries(small)
    assert list(every) == ["cde", "edge-zone", "data"]
    for name, b in every.items():
        assert zone_boundary_summary(small, name) == b


def test_unknown_zone_is_an_error(small: Evaluation) -> None:
    with pytest.raises(ValueError, match="no zone 'nope'"):
        zone_boundary_summary(small, "nope")


def test_sample_boundaries_show_the_register() -> None:
    ev = sample_evaluation("pci-dss")
    every = zone_boundaries(ev)
    assert set(every) == {"cde", "cardholder-data", "ingress-tier", "shared-services"}
    cde = every["cde"]
    assert cde.members == 7
    # AF-002 approves the ingress controller into the app; AF-006 (analytics into
    # Kafka) expired on 2026-09-30, so that flow is not in the register.
    assert cde.inbound == (
        PeerGroup("analytics/data-pipeline", "TCP 9092", 1, False, "not in register: TCP 9092"),
        PeerGroup(
            "ingress-nginx/ingress-nginx-controller", "TCP 8080", 1, True, "AF-002: TCP 8080"
        ),
    )
    # AF-001: internet HTTP(S) into the ingress tier.
    assert (
        PeerGroup("0.0.0.0/0, ::/0", "TCP 80, 443", 1, True, "AF-001: TCP 80, 443")
        in every["ingress-tier"].inbound
    )
    # AF-004 covers app -> logging on 24224 only: the group says so per port range.
    cde_out = {g.label: g for g in cde.outbound}
    assert cde_out["shared-services/logging"].register == (
        "AF-004: TCP 24224; not in register: TCP 443"
    )
    # Unisolated shared services: everything reaches them on every port.
    shared_in = {g.label: g for g in every["shared-services"].inbound}
    assert shared_in["0.0.0.0/0, ::/0"][:4] == ("0.0.0.0/0, ::/0", "all ports", 2, False)


def test_many_peers_are_grouped_by_namespace() -> None:
    ev = evaluation_from_yaml(many_namespaces(15), MANY_SCOPE)
    b = zone_boundary_summary(ev, "target")
    # 30 workloads and the internet do not fit: workloads collapse into namespaces.
    expected = [("0.0.0.0/0, ::/0", "all ports", 1, False)] + [
        (f"n{i:02d} (2 workloads)", "all ports", 2, False) for i in range(15)
    ]
    assert [g[:4] for g in b.inbound] == expected
    assert b.external == frozenset({"0.0.0.0/0, ::/0"})


def test_few_peers_are_shown_one_by_one() -> None:
    ev = evaluation_from_yaml(many_namespaces(3), MANY_SCOPE)
    b = zone_boundary_summary(ev, "target")
    assert [g.label for g in b.inbound] == [
        "0.0.0.0/0, ::/0",
        *(f"n{i:02d}/w{j}" for i in range(3) for j in range(2)),
    ]
    assert all(g.flows == 1 for g in b.inbound)


# --------------------------------------------------------------------------- zone diagram


def test_zone_diagram_draws_every_group(small: Evaluation) -> None:
    svg = zone_diagram_svg(small, "cde")
    root = parse(svg)
    words = texts(root)
    for expected in ("cde", "pay/api", "pay/db", "edge/gw", "kube-system/coredns"):
        assert expected in words, expected
    assert "10.0.0.0/8" in words and "203.0.113.0/24" in words
    assert "TCP 8443 · 1 flow" in words and "TCP 53; UDP 53 · 1 flow" in words
    # Two approved groups (solid), two not in the register (dashed red), plus the legend.
    lines = list(root.iter(f"{SVG}line"))
    dashed = [ln for ln in lines if ln.get("stroke-dasharray")]
    solid = [ln for ln in lines if ln.get("stroke") == "#2c3e50" and not ln.get("stroke-dasharray")]
    assert len(dashed) == 2 + 1 and len(solid) == 2 + 1
    assert all(ln.get("stroke") == "#c0392b" for ln in dashed)
    assert_inside_view_box(root)


def test_arrows_point_into_the_zone_and_out_of_it(small: Evaluation) -> None:
    root = parse(zone_diagram_svg(small, "cde"))
    zone_box = next(r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#eaf2f8")
    left = float(zone_box.get("x") or 0)
    right = left + width_of(zone_box)
    tips = []
    for poly in root.iter(f"{SVG}polygon"):
        points = [tuple(map(float, p.split(","))) for p in (poly.get("points") or "").split()]
        tip, back = points[0], points[1]
        assert tip[0] > back[0]  # every head points right: left to right is the flow
        tips.append(tip[0])
    assert tips.count(left) == 2  # the two inbound groups end at the zone
    assert sum(1 for t in tips if t > right) == 2  # the two outbound groups start at it


def test_zone_diagram_caps_groups_and_members() -> None:
    ev = evaluation_from_yaml(many_namespaces(15), MANY_SCOPE)
    root = parse(zone_diagram_svg(ev, "target"))
    words = texts(root)
    hidden = 16 - MAX_PEER_GROUPS
    assert f"+ {hidden} more peer groups" in words
    assert f"{2 * hidden} flows" in words
    assert "0.0.0.0/0, ::/0" in words  # addresses first: they never hide in the rest
    assert "n10 (2 workloads)" in words  # the 12th group is drawn
    assert "n11 (2 workloads)" not in words
    # Peer boxes one under the other, never overlapping, all inside the drawing.
    boxes = sorted(
        (float(r.get("y") or 0), float(r.get("height") or 0))
        for r in root.iter(f"{SVG}rect")
        if float(r.get("x") or 0) < 10 and float(r.get("height") or 0) > 20
    )
    assert len(boxes) == MAX_PEER_GROUPS + 1
    for (y0, h0), (y1, _) in itertools.pairwise(boxes):
        assert y0 + h0 <= y1
    assert_inside_view_box(root)

    members = texts(parse(zone_diagram_svg(ev, "many")))
    assert "+ 19 more workloads" in members  # 30 members, 11 listed
    assert "n05/w0" in members and "n05/w1" not in members


def test_long_names_are_cut_with_an_ellipsis() -> None:
    ns = "a-namespace-with-a-rather-long-name-for-testing"
    text = (
        namespace("pay")
        + namespace(ns)
        + pod("api", "pay", {"app": "api"}, "80/TCP")
        + pod("a-workload-name-that-keeps-going-and-going", ns, {"app": "x"}, "80/TCP")
    )
    scope_text = """
    cluster: test
    zones:
      - name: cde
        role: cde
        frameworks: [pci-dss-4.0.1]
        selectors:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}
    """
    ev = evaluation_from_yaml(text, scope_text)
    full = f"{ns}/a-workload-name-that-keeps-going-and-going"
    b = zone_boundary_summary(ev, "cde")
    assert full in {g.label for g in b.inbound}  # the table gets the whole name
    words = texts(parse(zone_diagram_svg(ev, "cde", b)))
    assert full not in words
    cut = [w for w in words if w.startswith(ns[:20])]
    assert cut and all(w.endswith("…") and len(w) <= MAX_CHARS for w in cut)


def test_empty_zone_and_silent_sides() -> None:
    text = namespace("pay") + pod("api", "pay", {"app": "api"}, "80/TCP")
    text += policy("deny", "pay", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
    scope_text = """
    cluster: test
    zones:
      - name: cde
        role: cde
        frameworks: [pci-dss-4.0.1]
        selectors:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: pay}}
      - name: empty
        role: other
        selectors:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: nowhere}}
    """
    ev = evaluation_from_yaml(text, scope_text)
    b = zone_boundary_summary(ev, "cde")
    assert b.inbound == () and b.outbound == ()
    words = texts(parse(zone_diagram_svg(ev, "cde", b)))
    assert "nothing outside the zone reaches it" in words
    assert "the zone reaches nothing outside it" in words
    empty = texts(parse(zone_diagram_svg(ev, "empty")))
    assert "no workload of the export" in empty


def test_zone_diagram_escapes_every_name(small: Evaluation) -> None:
    """The loader and the scope schema keep markup out of names today; the drawing must
    not depend on that, so hostile names are planted past them."""
    zone_name = 'z&<b>"1"</b>'
    member = WorkloadRef(SCRIPT, "m&m", "Pod")
    peer = WorkloadRef("<img src=x>", "p", "Pod")
    zone = dataclasses.replace(small.scope.zones[0], name=zone_name)
    placement = dataclasses.replace(small.placement, zones_of={member: frozenset({zone_name})})
    flows = (Flow(peer, member, PortSet.of("TCP", 80), NOT_ISOLATED, NOT_ISOLATED),)
    ev = dataclasses.replace(
        small,
        scope=dataclasses.replace(small.scope, zones=(zone,)),
        placement=placement,
        graph=FlowGraph(flows=flows),
        register=Register((), placement, small.as_of),
    )
    svg = zone_diagram_svg(ev, zone_name)
    root = parse(svg)
    assert not local_tags(root) & {"img", "script", "b"}
    assert "<script" not in svg and "<img" not in svg
    words = texts(root)
    assert zone_name in words
    assert member.id in words
    assert "<img src=x>/p" in words
    assert root.get("aria-label") == f"Flows across the boundary of zone {zone_name}"


def test_boundary_svg_draws_what_it_is_given() -> None:
    b = ZoneBoundary(
        zone="z",
        role="other",
        members=1,
        member_names=("ns/a",),
        inbound=(PeerGroup(HOSTILE, "TCP 1", 1, True),),
        outbound=(),
    )
    root = parse(boundary_svg(b))
    assert HOSTILE in texts(root)
    assert "img" not in local_tags(root)


def test_zone_diagram_is_deterministic() -> None:
    a, b = sample_evaluation("pci-dss"), sample_evaluation("pci-dss")
    for zone in ("cde", "shared-services"):
        assert zone_diagram_svg(a, zone) == zone_diagram_svg(b, zone)
    assert zone_boundaries(a) == zone_boundaries(b)


def test_weasyprint_renders_the_drawings() -> None:
    """Embedded in HTML the SVG goes through an HTML parser, not an XML one: the hostile
    title must still come out of the PDF as text."""
    weasyprint = pytest.importorskip("weasyprint")
    pypdf = pytest.importorskip("pypdf")
    ev = sample_evaluation("pci-dss")
    chart = status_chart_svg([(f.framework.title, f.status_counts) for f in ev.frameworks])
    diagram = zone_diagram_svg(ev, "cde")
    hostile = status_chart_svg([(HOSTILE, {"fail": 1})])
    html = f"<html><body>{chart}{diagram}{hostile}</body></html>"
    pdf = weasyprint.HTML(string=html).write_pdf()
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "production/postgres-backup" in text
    assert "file:///etc/passwd" in text


def test_a_large_zone_is_grouped_and_capped(small: Evaluation) -> None:
    """A large cluster: 1000 members, 200 outside workloads, 200k flows across the
    boundary (plus as many inside it). Speed is `make bench`'s business."""
    members = [WorkloadRef(f"m{i % 20:02d}", f"w{i}", "Deployment") for i in range(1000)]
    outside = [WorkloadRef(f"o{i % 40:02d}", f"w{i}", "Deployment") for i in range(200)]
    ports = [PortSet.of("TCP", 8000 + i % 7) for i in range(10)]
    flows = []
    for i, m in enumerate(members):
        for j, o in enumerate(outside[: 100 + i % 100]):
            flows.append(Flow(o, m, ports[(i + j) % 10], NOT_ISOLATED, NOT_ISOLATED))
            flows.append(
                Flow(m, members[(i + j + 1) % 1000], ports[j % 10], NOT_ISOLATED, NOT_ISOLATED)
            )
    zone = small.scope.zones[0]
    placement = dataclasses.replace(
        small.placement, zones_of={m: frozenset({zone.name}) for m in members}
    )
    ev = dataclasses.replace(
        small,
        scope=dataclasses.replace(small.scope, zones=(zone,)),
        placement=placement,
        graph=FlowGraph(flows=tuple(flows)),
        register=Register((), placement, dt.datetime(2026, 11, 26, tzinfo=dt.UTC)),
    )
    b = zone_boundaries(ev)[zone.name]
    assert b.members == 1000
    assert sum(g.flows for g in b.inbound) == len(flows) // 2
    assert b.outbound == ()
    assert len(b.inbound) == 40  # grouped by namespace
    root = parse(boundary_svg(b))
    assert "+ 989 more workloads" in texts(root)
