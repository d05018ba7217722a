"""Observed flows from CNI flow logs: Cilium Hubble and Calico Enterprise/Cloud.

The flow graph says what the policies allow; a flow log says what the network did.
Comparing the two is evidence of enforcement (an observed flow the graph denies is an
enforcement gap or a path the export does not show) and of need (an allowed flow never
seen is a candidate for tightening). This module only reads: it turns each line into
an `ObservedFlow` whose ends are still as the log names them, and `Resolver` maps
those ends to the export's workloads. Nothing here changes the flow graph.

Formats (facts and sources in the project's research notes on flow logs):

- Hubble: `hubble observe -o json|jsonpb` and exporter files, one JSON object per line
  wrapped as `{"flow": {...}, "node_name": ..., "time": ...}`; the legacy bare-flow form;
  other wrapper variants (`node_status`, `lost_events`, `agent_event`, `debug_event`)
  carry no flow and are passed over. Replies (`is_reply: true`) and datapath drops that
  are not policy decisions are passed over too.
- Calico Enterprise/Cloud flow logs: one aggregated JSON record per line with
  `source_*`, `dest_*`, `proto`, `dest_port`, `action`, `reporter` and `policies`
  (both the legacy and the kind-prefixed policy-name dialects are kept as written).

Logs are large: they are read line by line, and each line is bounded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance.errors import InputError
from compliance.model import Cluster, WorkloadRef
from compliance.paths import recorded_path

MAX_LINE_BYTES = 1 << 20
"""A flow record is a few kilobytes at most; a longer line is not a flow log."""
PROTOCOLS = {"TCP": "TCP", "UDP": "UDP", "SCTP": "SCTP", "tcp": "TCP", "udp": "UDP", "sctp": "SCTP"}
POLICY_DROPS = frozenset({"POLICY_DENIED", "POLICY_DENY", "AUTH_REQUIRED"})
"""Hubble drop reasons that are policy decisions; the rest are datapath errors."""
HUBBLE_NON_FLOW = frozenset({"node_status", "lost_events", "agent_event", "debug_event"})


@dataclass(frozen=True, slots=True)
class ObservedEnd:
    """One end of an observed flow as the log names it."""

    namespace: str | None = None
    pod: str | None = None
    """A pod name, or Calico's aggregated name (`checkout-7c9d5b8f4-*`)."""
    workload: str | None = None
    kind: str | None = None
    address: str | None = None

    def describe(self) -> str:
        if self.namespace and (self.workload or self.pod):
            return f"{self.namespace}/{self.workload or self.pod}"
        return self.address or "unknown"


@dataclass(frozen=True, slots=True)
class ObservedFlow:
    source: str
    line: int
    time: dt.datetime
    tool: str  # "hubble" | "calico"
    src: ObservedEnd
    dst: ObservedEnd
    protocol: str
    port: int
    verdict: str  # "allowed" | "denied" | "audit"
    policies: tuple[str, ...] = ()


@dataclass(slots=True)
class LogReport:
    """What reading one file gave besides its flows."""

    source: str
    lines: int = 0
    flows: int = 0
    passed_over: int = 0
    """Lines of a known format that carry no policy evidence (replies, node status,
    ICMP, datapath drops)."""
    skipped: list[int] = field(default_factory=list)
    """Lines that fit no known format (only with `lenient`)."""
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    sha256: str = ""
    """Of the whole file, computed while reading it (set once it is read to the end)."""
    size: int = 0

    def counts(self) -> dict[str, Any]:
        """The file as recorded and what reading it counted: the part of a log's record
        that the report and the snapshot share."""
        return {
            "path": recorded_path(self.source),
            "lines": self.lines,
            "flows": self.flows,
            "passed_over": self.passed_over,
            "skipped": len(self.skipped),
        }


def read_flow_log(
    path: str, report: LogReport | None = None, lenient: bool = False
) -> Iterator[ObservedFlow]:
    """Every flow in one log file, in file order. A line that fits no known format is an
    input error naming the file and line, unless `lenient` (then it is counted)."""
    report = report if report is not None else LogReport(path)
    if not Path(path).is_file():  # a FIFO or device would hang or never end
        raise InputError("not a regular file", source=path)
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from None
    digest = hashlib.sha256()
    with handle:
        for number, raw in enumerate(_lines(handle, path), start=1):
            digest.update(raw)
            report.size += len(raw)
            report.lines = number
            if not raw.strip():
                continue
            try:
                flow = parse_line(path, number, raw)
            except _NotAFlow as exc:
                if not lenient:
                    raise InputError(str(exc), source=path, field=f"line {number}") from None
                report.skipped.append(number)
                continue
            if flow is None:
                report.passed_over += 1
                continue
            report.flows += 1
            if report.first is None or flow.time < report.first:
                report.first = flow.time
            if report.last is None or flow.time > report.last:
                report.last = flow.time
            yield flow
    report.sha256 = digest.hexdigest()


def _lines(handle: Any, path: str) -> Iterator[bytes]:
    while True:
        raw: bytes = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise InputError(
                f"a line longer than {MAX_LINE_BYTES} bytes: not a flow log", source=path
            )
        yield raw


class _NotAFlow(Exception):
    pass


def parse_line(source: str, number: int, raw: bytes) -> ObservedFlow | None:
    """One line: a flow, None for a known record without policy evidence, or _NotAFlow."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        raise _NotAFlow("not a JSON object (expected Hubble or Calico flow-log lines)") from None
    if not isinstance(record, dict):
        raise _NotAFlow("not a JSON object (expected Hubble or Calico flow-log lines)")
    if isinstance(record.get("flow"), dict):
        return _hubble(source, number, record["flow"])
    if HUBBLE_NON_FLOW & record.keys():
        return None
    if "verdict" in record and ("IP" in record or "source" in record):
        return _hubble(source, number, record)  # the legacy bare-flow form
    if "reporter" in record and "action" in record and ("dest_port" in record or "proto" in record):
        return _calico(source, number, record)
    raise _NotAFlow("fits no known flow-log format (Hubble JSON, Calico flow log)")


def _hubble(source: str, number: int, flow: dict[str, Any]) -> ObservedFlow | None:
    if flow.get("is_reply") is True:
        return None
    verdict = flow.get("verdict")
    if verdict == "FORWARDED":
        seen = "allowed"
    elif verdict == "AUDIT":
        seen = "audit"
    elif verdict == "DROPPED" and flow.get("drop_reason_desc") in POLICY_DROPS:
        seen = "denied"
    else:
        return None  # datapath errors, redirects, traces without a verdict
    l4 = flow.get("l4")
    if not isinstance(l4, dict):
        return None
    proto = next((p for p in ("TCP", "UDP", "SCTP") if isinstance(l4.get(p), dict)), None)
    if proto is None:
        return None  # ICMP and the like: NetworkPolicy speaks of ports
    port = _port(l4[proto].get("destination_port"))
    if port is None:
        raise _NotAFlow(f"l4.{proto}.destination_port is missing or not a port")
    moment = _rfc3339(flow.get("time"))
    if moment is None:
        raise _NotAFlow("time is missing or not an RFC 3339 time")
    found_ip = flow.get("IP")
    ip: dict[str, Any] = found_ip if isinstance(found_ip, dict) else {}
    policies = tuple(
        f"{p.get('namespace', '')}/{p.get('name', '')}".lstrip("/")
        for key in (
            "egress_allowed_by",
            "ingress_allowed_by",
            "egress_denied_by",
            "ingress_denied_by",
        )
        for p in (flow.get(key) or [])
        if isinstance(p, dict)
    )
    return ObservedFlow(
        source,
        number,
        moment,
        "hubble",
        _hubble_end(flow.get("source"), ip.get("source")),
        _hubble_end(flow.get("destination"), ip.get("destination")),
        proto,
        port,
        seen,
        policies,
    )


def _hubble_end(end: Any, address: Any) -> ObservedEnd:
    end = end if isinstance(end, dict) else {}
    workloads = end.get("workloads")
    first = workloads[0] if isinstance(workloads, list) and workloads else {}
    first = first if isinstance(first, dict) else {}
    labels = end.get("labels") if isinstance(end.get("labels"), list) else []
    namespace = _text(end.get("namespace"))
    if "reserved:world" in labels or (namespace is None and not end.get("pod_name")):
        return ObservedEnd(address=_text(address))
    return ObservedEnd(
        namespace=namespace,
        pod=_text(end.get("pod_name")),
        workload=_text(first.get("name")),
        kind=_text(first.get("kind")),
        address=_text(address),
    )


def _calico(source: str, number: int, record: dict[str, Any]) -> ObservedFlow | None:
    action = record.get("action")
    if action not in ("allow", "deny"):
        raise _NotAFlow("action is neither allow nor deny")
    proto = PROTOCOLS.get(str(record.get("proto")))
    if proto is None:
        return None  # icmp and the like
    port = _port(record.get("dest_port"))
    if port is None:
        return None  # aggregated away: no port to compare
    start = record.get("start_time")
    if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start < 2**33:
        raise _NotAFlow("start_time is missing or not UNIX seconds")
    policies_field = record.get("policies")
    hits = policies_field.get("enforced_policies") if isinstance(policies_field, dict) else None
    hits = sorted((h for h in (hits or []) if isinstance(h, str)), key=lambda h: _hit_index(h))
    return ObservedFlow(
        source,
        number,
        dt.datetime.fromtimestamp(start, dt.UTC),
        "calico",
        _calico_end(record, "source"),
        _calico_end(record, "dest"),
        proto,
        port,
        "allowed" if action == "allow" else "denied",
        tuple(hits),
    )


def _calico_end(record: dict[str, Any], side: str) -> ObservedEnd:
    kind = record.get(f"{side}_type")
    namespace = _text(record.get(f"{side}_namespace"))
    address = _text(record.get(f"{side}_ip"))
    if kind != "wep" or namespace in (None, "-"):
        return ObservedEnd(address=address)
    name = _text(record.get(f"{side}_name"))
    if name in (None, "-"):
        name = _text(record.get(f"{side}_name_aggr"))
    return ObservedEnd(namespace=namespace, pod=name, address=address)


def _hit_index(hit: str) -> int:
    head = hit.split("|", 1)[0]
    return int(head) if head.isdigit() else 1 << 30


def _port(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _rfc3339(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    # Python reads at most microseconds; Hubble writes nanoseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else None


# --------------------------------------------------------------------------- resolving

POD_SUFFIX = re.compile(r"-(?:[0-9a-z]{5,10}-)?(?:[0-9a-z]{5}|\*)\Z|-\d+\Z|-\*\Z")
"""What controllers append to a workload's name to name its pods: a ReplicaSet hash and
a random suffix (Deployments), a random suffix (DaemonSets, Jobs), an ordinal
(StatefulSets), or Calico's aggregation star."""


class Resolver:
    """Maps observed ends to the export's workloads: by the workload Hubble names, by
    pod name, then by the longest workload name the pod name extends; addresses stay
    addresses. An end in the cluster's namespaces that matches nothing is unknown."""

    def __init__(self, cluster: Cluster) -> None:
        self.by_id: dict[tuple[str, str], list[WorkloadRef]] = {}
        self.by_namespace: dict[str, list[WorkloadRef]] = {}
        for w in cluster.workloads:
            self.by_id.setdefault((w.ref.namespace, w.ref.name), []).append(w.ref)
            self.by_namespace.setdefault(w.ref.namespace, []).append(w.ref)
        for refs in self.by_namespace.values():
            refs.sort(key=lambda r: -len(r.name))
        self._cache: dict[ObservedEnd, WorkloadRef | str | None] = {}

    def resolve(self, end: ObservedEnd) -> WorkloadRef | str | None:
        """A workload, an address (outside the cluster), or None when unknown."""
        found = self._cache.get(end, _MISSING)
        if found is _MISSING:
            if len(self._cache) >= RESOLVER_CACHE:
                self._cache.clear()  # pods come and go: a long log names millions
            found = self._cache[end] = self._resolve(end)
        return found  # type: ignore[return-value]

    def _resolve(self, end: ObservedEnd) -> WorkloadRef | str | None:
        if end.namespace is None:
            return end.address
        if end.workload:
            refs = self.by_id.get((end.namespace, end.workload), [])
            exact = [r for r in refs if r.kind == end.kind] or refs
            if exact:
                return exact[0]
        if end.pod:
            refs = self.by_id.get((end.namespace, end.pod), [])
            if refs:
                return refs[0]
            for ref in self.by_namespace.get(end.namespace, ()):
                rest = end.pod[len(ref.name) :]
                if end.pod.startswith(ref.name) and POD_SUFFIX.fullmatch(rest):
                    return ref
        return None


_MISSING = object()
RESOLVER_CACHE = 50_000
"""Ends remembered by `Resolver`: bounded, so memory does not grow with pod churn."""


def read_flow_logs(
    paths: Iterable[str], lenient: bool = False
) -> tuple[list[ObservedFlow], list[LogReport]]:
    """Every flow of every file, with a report per file (small logs; large ones stream
    through `read_flow_log`)."""
    flows: list[ObservedFlow] = []
    reports = []
    for path in paths:
        report = LogReport(path)
        flows.extend(read_flow_log(path, report, lenient))
        reports.append(report)
    return flows, reports
