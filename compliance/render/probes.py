"""A probe plan as the files a team runs: plan.json, netassert.yaml and run-probes.sh.

`plan.json` is the record an assessor keeps; `netassert.yaml` feeds controlplaneio's
netassert v2 for teams that run it (its TAP output joins back by probe ID);
`run-probes.sh` needs nothing but `kubectl` and a shell. Values from the cluster go
into the script only as single-quoted words, so no name or label can become code.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from compliance import __version__
from compliance.errors import InputError, RenderError
from compliance.load import InputFile
from compliance.model import Cluster, Workload, WorkloadRef
from compliance.paths import recorded_path
from compliance.probeplan import Probe, ProbePlan

PLAN_VERSION = 1
NETASSERT_KINDS = {
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "Pod": "pod",
}
"""Source and destination kinds netassert v2 resolves; others are left to the script."""
PROBE_TIMEOUT_SECONDS = 3


def plan_document(
    plan: ProbePlan, inputs: Sequence[InputFile], scope_path: str, scope_sha256: str
) -> dict[str, Any]:
    cov = plan.coverage
    return {
        "plan_version": PLAN_VERSION,
        "tool": {"name": "compliance", "version": __version__},
        "as_of": plan.as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cluster": plan.cluster,
        "inputs": [
            {"path": recorded_path(i.path), "sha256": i.sha256, "size": i.size} for i in inputs
        ],
        "scope": {"path": recorded_path(scope_path), "sha256": scope_sha256},
        "zones": list(plan.zones),
        "max_probes": plan.max_probes,
        "coverage": {
            "boundaries_total": cov.boundaries_total,
            "boundaries_covered": cov.boundaries_covered,
            "candidates": cov.candidates,
            "chosen": cov.chosen,
            "cut": cov.cut,
            "uncovered": [str(b) for b in cov.uncovered],
            "from_outside": [str(b) for b in cov.from_outside],
            "from_host_network": [str(b) for b in cov.from_host_network],
        },
        "probes": [_probe(p) for p in plan.probes],
    }


def _probe(p: Probe) -> dict[str, Any]:
    return {
        "id": p.id,
        "kind": p.kind,
        "src": _end(p.src),
        "dst": _end(p.dst),
        "protocol": p.protocol,
        "port": p.port,
        "expect": p.expect,
        "reason": p.reason,
        "boundaries": [str(b) for b in p.boundaries],
        "rules": {
            "egress": {"allowed": p.egress.allowed, "by": list(p.egress.by)},
            "ingress": {"allowed": p.ingress.allowed, "by": list(p.ingress.by)},
        },
    }


def _end(end: WorkloadRef | str) -> dict[str, str]:
    if isinstance(end, WorkloadRef):
        return {"workload": end.id, "kind": end.kind}
    return {"address": end}


def plan_json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def netassert_yaml(plan: ProbePlan) -> bytes:
    """netassert v2 test cases: `name` is the probe ID, `exitCode` 0 open, 1 blocked."""
    tests = []
    skipped = []
    for p in plan.probes:
        src_kind = NETASSERT_KINDS.get(p.src.kind)
        dst_kind = NETASSERT_KINDS.get(p.dst.kind) if isinstance(p.dst, WorkloadRef) else None
        if (
            src_kind is None
            or p.protocol == "SCTP"
            or (isinstance(p.dst, WorkloadRef) and not dst_kind)
        ):
            skipped.append(p.id)
            continue
        dst: dict[str, Any]
        if isinstance(p.dst, WorkloadRef):
            dst = {
                "k8sResource": {"kind": dst_kind, "name": p.dst.name, "namespace": p.dst.namespace}
            }
        else:
            dst = {"host": {"name": p.dst}}
        tests.append(
            {
                "name": p.id,
                "type": "k8s",
                "protocol": p.protocol.lower(),
                "targetPort": p.port,
                "timeoutSeconds": 20,
                "attempts": 3,
                "exitCode": 0 if p.expect == "open" else 1,
                "src": {
                    "k8sResource": {
                        "kind": src_kind,
                        "name": p.src.name,
                        "namespace": p.src.namespace,
                    }
                },
                "dst": dst,
            }
        )
    head = (
        f"# netassert v2 test cases for the probe plan of cluster {json.dumps(plan.cluster)}, "
        f"as of {plan.as_of:%Y-%m-%dT%H:%M:%SZ}.\n"
        "# Run: netassert run -f netassert.yaml -t results.tap; each test's name is its probe ID.\n"
    )
    if skipped:
        head += (
            "# Not expressible for netassert (a Job, CronJob or ReplicaSet end, or SCTP); "
            f"run-probes.sh covers them: {', '.join(skipped)}\n"
        )
    body = yaml.safe_dump(tests, sort_keys=False, allow_unicode=True, width=2**31 - 1)
    return (head + body).encode()


def _quote(value: str) -> str:
    """One single-quoted shell word: nothing inside is expanded."""
    return "'" + value.replace("'", "'\\''") + "'"


def _selector(workload: Workload) -> tuple[str, str]:
    """(label selector, pod name) that find a pod of the workload at run time."""
    if workload.ref.kind == "Pod":
        return "", workload.ref.name
    labels = dict(workload.variants[0].labels) if workload.variants else {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())), ""


def probe_script(plan: ProbePlan, cluster: Cluster) -> bytes:
    workloads = {w.ref: w for w in cluster.workloads}
    lines = []
    for p in plan.probes:
        src_sel, src_pod = _selector(workloads[p.src])
        if isinstance(p.dst, WorkloadRef):
            dst_sel, dst_pod = _selector(workloads[p.dst])
            dst_ns, dst_addr, dst_text = p.dst.namespace, "", str(p.dst)
        else:
            dst_sel, dst_pod, dst_ns, dst_addr, dst_text = "", "", "", p.dst, p.dst
        words = [
            p.id,
            p.src.namespace,
            src_sel,
            src_pod,
            f"{p.src}",
            dst_ns,
            dst_sel,
            dst_pod,
            dst_addr,
            dst_text,
            p.protocol,
            str(p.port),
            p.expect,
        ]
        lines.append("probe " + " ".join(_quote(w) for w in words))
    text = (Path(__file__).parent / "run-probes.sh.in").read_text(encoding="utf-8")
    text = text.replace("@CLUSTER@", _quote(plan.cluster))
    text = text.replace("@COUNT@", str(len(plan.probes)))
    text = text.replace("@TIMEOUT@", str(PROBE_TIMEOUT_SECONDS))
    text = text.replace("@PROBES@", "\n".join(lines))
    return text.encode()


def write_folder(destination: Path, files: dict[str, bytes]) -> None:
    """Write every file into a fresh folder beside the destination, then rename it into
    place, so a failed run leaves nothing half-written."""
    parent = destination.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=parent)
        )
    except OSError as exc:
        raise InputError(f"cannot create: {exc.strerror or exc}", source=str(destination)) from None
    try:
        for name, data in sorted(files.items()):
            (staging / name).write_bytes(data)
        (staging / "run-probes.sh").chmod(0o755)
        if destination.exists():
            destination.rmdir()  # checked empty before the work started
        os.replace(staging, destination)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise RenderError(f"{destination}: cannot write the plan: {exc.strerror or exc}") from None
