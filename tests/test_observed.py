"""Flow-log reading: Hubble (each wrapper) and Calico (both policy-name dialects), lines
that carry no policy evidence, malformed lines, and mapping ends to the sample's
workloads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from compliance.errors import InputError
from compliance.load import load_paths
from compliance.model import WorkloadRef, build_cluster
from compliance.observed import (
    MAX_LINE_BYTES,
    LogReport,
    ObservedEnd,
    Resolver,
    read_flow_log,
)

ROOT = Path(__file__).resolve().parent.parent

HUBBLE_FLOW: dict[str, Any] = {
    "time": "2026-11-20T14:03:11.482910337Z",
    "uuid": "0b5a3f1e-6c2d-4d1e-9b7a-2f8e1c4d5a6b",
    "verdict": "FORWARDED",
    "IP": {"source": "10.0.1.23", "destination": "10.0.2.41", "ipVersion": "IPv4"},
    "l4": {"TCP": {"source_port": 51532, "destination_port": 5432, "flags": {"SYN": True}}},
    "source": {
        "identity": 48213,
        "cluster_name": "prod",
        "namespace": "production",
        "labels": ["k8s:app=app", "k8s:io.kubernetes.pod.namespace=production"],
        "pod_name": "app-7c9d5b8f4-x2kqp",
        "workloads": [{"name": "app", "kind": "Deployment"}],
    },
    "destination": {
        "ID": 1873,
        "identity": 30117,
        "namespace": "production",
        "labels": ["k8s:app=postgres"],
        "pod_name": "postgres-0",
        "workloads": [{"name": "postgres", "kind": "StatefulSet"}],
    },
    "Type": "L3_L4",
    "node_name": "prod/worker-2",
    "event_type": {"type": 5},
    "traffic_direction": "INGRESS",
    "policy_match_type": 2,
    "is_reply": False,
    "ingress_allowed_by": [
        {
            "name": "postgres-access",
            "namespace": "production",
            "kind": "NetworkPolicy",
            "revision": "12",
        }
    ],
}
CALICO_LEGACY: dict[str, Any] = {
    "start_time": 1763647200,
    "end_time": 1763647500,
    "host": "worker-2",
    "action": "deny",
    "reporter": "src",
    "proto": "tcp",
    "source_ip": "10.0.1.23",
    "source_name": "-",
    "source_name_aggr": "data-pipeline-6b687c8dcb-*",
    "source_namespace": "analytics",
    "source_type": "wep",
    "source_labels": {"labels": ["app=data-pipeline"]},
    "dest_ip": "10.0.2.41",
    "dest_name": "postgres-0",
    "dest_name_aggr": "postgres-*",
    "dest_namespace": "production",
    "dest_type": "wep",
    "dest_port": 5432,
    "policies": {
        "all_policies": ["1|default|production/knp.default.default-deny-all|deny|-1"],
        "enforced_policies": [
            "1|default|production/knp.default.default-deny-all|deny|-1",
            "0|security|security.pci-egress|pass|0",
        ],
    },
    "num_flows": 1,
}


def _write(tmp_path: Path, lines: list[Any], name: str = "flows.log") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


def test_hubble_wrappers_and_what_is_passed_over(tmp_path: Path) -> None:
    dropped = {
        **HUBBLE_FLOW,
        "verdict": "DROPPED",
        "drop_reason_desc": "POLICY_DENIED",
        "event_type": {"type": 1},
        "time": "2026-11-20T15:00:00Z",
    }
    datapath = {**dropped, "drop_reason_desc": "SERVICE_BACKEND_NOT_FOUND"}
    reply = {**HUBBLE_FLOW, "is_reply": True}
    icmp = {**HUBBLE_FLOW, "l4": {"ICMPv4": {"type": 8}}}
    audit = {**HUBBLE_FLOW, "verdict": "AUDIT"}
    world = {
        **HUBBLE_FLOW,
        "source": {"identity": 2, "labels": ["reserved:world"]},
        "IP": {"source": "203.0.113.7", "destination": "10.0.2.41"},
    }
    path = _write(
        tmp_path,
        [
            {"flow": HUBBLE_FLOW, "node_name": "prod/worker-2", "time": HUBBLE_FLOW["time"]},
            HUBBLE_FLOW,  # legacy bare flow
            {"flow": dropped},
            {"node_status": {"state_change": "NODE_CONNECTED"}},
            {"lost_events": {"source": "HUBBLE_RING_BUFFER", "num_events_lost": "4"}},
            {"flow": datapath},
            {"flow": reply},
            {"flow": icmp},
            "",
            {"flow": audit},
            {"flow": world},
        ],
    )
    report = LogReport(str(path))
    flows = list(read_flow_log(str(path), report))
    assert [(f.line, f.verdict) for f in flows] == [
        (1, "allowed"),
        (2, "allowed"),
        (3, "denied"),
        (10, "audit"),
        (11, "allowed"),
    ]
    first = flows[0]
    assert first.tool == "hubble" and (first.protocol, first.port) == ("TCP", 5432)
    assert first.time == dt.datetime(2026, 11, 20, 14, 3, 11, 482910, tzinfo=dt.UTC)
    assert first.src == ObservedEnd(
        "production", "app-7c9d5b8f4-x2kqp", "app", "Deployment", "10.0.1.23"
    )
    assert first.policies == ("production/postgres-access",)
    assert flows[4].src == ObservedEnd(address="203.0.113.7")
    assert report.passed_over == 5 and report.flows == 5 and report.skipped == []
    assert report.first == first.time
    assert report.last == dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


def test_calico_both_dialects(tmp_path: Path) -> None:
    modern = {
        **CALICO_LEGACY,
        "action": "allow",
        "proto": "udp",
        "dest_port": 53,
        "source_name": "app-7c9d5b8f4-x2kqp",
        "source_namespace": "production",
        "dest_type": "wep",
        "dest_namespace": "kube-system",
        "dest_name": "-",
        "dest_name_aggr": "coredns-5d78c9869d-*",
        "policies": {"enforced_policies": ["0|default|knp:production/app-access|allow|4"]},
    }
    external = {
        **CALICO_LEGACY,
        "dest_type": "net",
        "dest_namespace": "-",
        "dest_name": "-",
        "dest_name_aggr": "pub",
        "dest_ip": "203.0.113.10",
        "dest_port": 443,
    }
    icmp = {**CALICO_LEGACY, "proto": "icmp", "dest_port": None}
    path = _write(tmp_path, [CALICO_LEGACY, modern, external, icmp])
    flows = list(read_flow_log(str(path)))
    assert len(flows) == 3
    legacy, new, out = flows
    assert legacy.tool == "calico" and legacy.verdict == "denied"
    assert legacy.time == dt.datetime.fromtimestamp(1763647200, dt.UTC)
    assert legacy.src == ObservedEnd("analytics", "data-pipeline-6b687c8dcb-*", address="10.0.1.23")
    # Hits sorted by their index (stored order is random), written as the log wrote them.
    assert legacy.policies == (
        "0|security|security.pci-egress|pass|0",
        "1|default|production/knp.default.default-deny-all|deny|-1",
    )
    assert (new.verdict, new.protocol, new.port) == ("allowed", "UDP", 53)
    assert new.policies == ("0|default|knp:production/app-access|allow|4",)
    assert out.dst == ObservedEnd(address="203.0.113.10")


def test_a_line_of_no_known_format_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, [HUBBLE_FLOW, "not json at all", {"some": "object"}])
    with pytest.raises(InputError) as caught:
        list(read_flow_log(str(path)))
    assert str(caught.value) == (
        f"{path}: line 2: not a JSON object (expected Hubble or Calico flow-log lines)"
    )
    report = LogReport(str(path))
    flows = list(read_flow_log(str(path), report, lenient=True))
    assert len(flows) == 1 and report.skipped == [2, 3]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time": "yesterday"}, "time is missing or not an RFC 3339 time"),
        ({"l4": {"TCP": {"destination_port": 70000}}}, "l4.TCP.destination_port is missing"),
    ],
)
def test_malformed_hubble_fields(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = _write(tmp_path, [{"flow": {**HUBBLE_FLOW, **change}}])
    with pytest.raises(InputError, match=message):
        list(read_flow_log(str(path)))


def test_an_endless_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    path.write_bytes(b"{" + b" " * (MAX_LINE_BYTES + 10))
    with pytest.raises(InputError, match="a line longer than"):
        list(read_flow_log(str(path)))


def test_ends_map_to_the_sample_workloads() -> None:
    cluster = build_cluster(load_paths([str(ROOT / "samples" / "shop-cluster")]).objects)
    resolve = Resolver(cluster).resolve
    app = WorkloadRef("production", "app", "Deployment")
    postgres = WorkloadRef("production", "postgres", "StatefulSet")
    assert resolve(ObservedEnd("production", "x", "app", "Deployment")) == app
    assert resolve(ObservedEnd("production", "app-7c9d5b8f4-x2kqp")) == app
    assert resolve(ObservedEnd("production", "postgres-0")) == postgres
    assert resolve(ObservedEnd("production", "postgres-*")) == postgres
    assert resolve(ObservedEnd("production", "app-7c9d5b8f4-*")) == app
    # redis-sentinel is not redis: the longer name wins.
    sentinel = resolve(ObservedEnd("production", "redis-sentinel-6d5f7c9b8-abcde"))
    assert sentinel == WorkloadRef("production", "redis-sentinel", "Deployment")
    assert resolve(ObservedEnd("production", "debug-shell")) == WorkloadRef(
        "production", "debug-shell", "Pod"
    )
    assert resolve(ObservedEnd(address="203.0.113.10")) == "203.0.113.10"
    assert resolve(ObservedEnd("production", "nothing-like-this")) is None


def test_resolver_memory_is_bounded_however_many_pods_a_log_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import compliance.observed

    monkeypatch.setattr(compliance.observed, "RESOLVER_CACHE", 10)
    loaded = load_paths([str(ROOT / "samples" / "shop-cluster")])
    resolver = Resolver(build_cluster(loaded.objects))
    for i in range(100):
        end = ObservedEnd(namespace="production", pod=f"app-7c9d5b8f4-{i:05d}")
        assert resolver.resolve(end) == WorkloadRef("production", "app", "Deployment")
    assert len(resolver._cache) <= 10
