"""The snapshot: the facts one analysis used, kept inside its pack as `snapshot.json`.

A pack's manifest holds hashes of the inputs, not the inputs; a later quarter's diff,
or an assessor re-running the evaluation, needs the facts themselves. The snapshot
keeps exactly what the engine reads (namespace labels; each workload's pod shapes with
their labels, container ports, hostNetwork and hostPort; every NetworkPolicy's
canonical object, whose sha256 the report prints; the kinds of cluster-wide policy
the export held, which SEG-01 weighs against the CNI; the parsed scope; the control
files' IDs and hashes) and nothing else: environment variables, annotations of
workloads, images, commands and volumes never reach it, so a pack cannot leak them.

Reading a snapshot back rebuilds the same `Cluster` value the export gave, so flows
and results from a pack are the same bytes as from the export it was made from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from compliance import __version__
from compliance.errors import InputError
from compliance.load import (
    DEFAULT_MAX_FILE_BYTES,
    PACK_MANIFEST,
    PACK_RESULTS,
    PACK_SNAPSHOT,
    InputFile,
    K8sObject,
    LoadResult,
    load_paths,
    pack_files,
)
from compliance.model import (
    Cluster,
    ContainerPort,
    Namespace,
    Node,
    PodVariant,
    Workload,
    WorkloadRef,
    _Builder,
    build_cluster,
    object_digest,
)
from compliance.tiers import ordered

if TYPE_CHECKING:
    from compliance.evaluate import Evaluation
    from compliance.provenance import ExportTime
    from compliance.scope import Scope

SNAPSHOT = PACK_SNAPSHOT
MANIFEST = PACK_MANIFEST
FORMAT = "compliance-snapshot/1"
SCHEMA = "snapshot.schema.json"


def canonical(doc: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, one final newline: the same facts, the same bytes."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return (text + "\n").encode()


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- writing


def snapshot_document(ev: Evaluation) -> dict[str, Any]:
    """The snapshot of one evaluation, as JSON data (see the module docstring)."""
    from compliance.evidence_snapshot import evidence_part  # its readers import jsonschema

    cluster = ev.cluster
    return {
        "format": FORMAT,
        "tool": {"name": "compliance", "version": __version__},
        "as_of": _iso(ev.as_of),
        "cluster": ev.scope.cluster,
        "inputs": [{"path": i.path, "sha256": i.sha256, "size": i.size} for i in ev.inputs],
        **cluster_facts(cluster),
        "scope": {
            "path": ev.scope.source,
            "sha256": ev.scope.sha256,
            "size": ev.scope.size,
            "document": ev.scope.document,
        },
        "export_time": export_time_facts(ev.export_time),
        "admin_policy_kinds": list(ev.admin_policies),
        **evidence_part(ev.evidence),
        "controls": [
            {
                "id": fw.framework.id,
                "version": fw.framework.version,
                "path": _control_path(fw.framework.path, fw.framework.shipped),
                "sha256": fw.framework.sha256,
                "size": fw.framework.size,
            }
            for fw in ev.frameworks
        ],
    }


def export_time_facts(facts: ExportTime | None) -> dict[str, Any] | None:
    """When the export was taken, as far as it could tell (capture records and the
    newest object time): a pack read back states the same, since its objects' own times
    are not kept."""
    if facts is None:
        return None
    newest = facts.newest
    return {
        "captures": [dataclasses.asdict(c) for c in facts.captures],
        "newest": None
        if newest is None
        else {"moment": _iso(newest.moment), "obj": newest.obj, "field": newest.field},
    }


def export_time_of(snap: Snapshot, stated: bool) -> ExportTime | None:
    """The export time facts a snapshot recorded, with this run's `stated`."""
    from compliance.provenance import Capture, ExportTime, ObjectTime

    facts = snap.document.get("export_time")
    if facts is None:
        return None
    newest = facts["newest"]
    return ExportTime(
        tuple(Capture(**c) for c in facts["captures"]),
        None
        if newest is None
        else ObjectTime(
            dt.datetime.fromisoformat(newest["moment"].replace("Z", "+00:00")),
            newest["obj"],
            newest["field"],
        ),
        stated,
    )


def cluster_facts(cluster: Cluster) -> dict[str, Any]:
    """The snapshot's part that `rebuild_cluster` reads back: namespaces, workloads,
    policies and the model's warnings."""
    return {
        "namespaces": [
            {"name": n.name, "labels": dict(n.labels), "in_export": n.in_export}
            for n in cluster.namespaces
        ],
        "workloads": [_workload(w, bool(cluster.admin_policies)) for w in cluster.workloads],
        "policies": [
            {
                "namespace": p.namespace,
                "name": p.name,
                "source": p.source,
                "sha256": p.digest,
                "object": p.body,
            }
            for p in cluster.policies
        ],
        "warnings": list(cluster.warnings),
        **_admin_facts(cluster),
    }


def _admin_facts(cluster: Cluster) -> dict[str, Any]:
    """Admin policies, and the nodes the engine read for their `nodes` peers: only when
    the export holds admin policies, so packs of other clusters keep their bytes."""
    if not cluster.admin_policies:
        return {}
    out: dict[str, Any] = {
        "admin_policies": [
            {
                "kind": p.kind,
                "name": p.name,
                "source": p.source,
                "sha256": p.digest,
                "object": p.body,
            }
            for p in cluster.admin_policies
        ]
    }
    if cluster.nodes is not None:
        out["nodes"] = [
            {"name": n.name, "labels": dict(n.labels), "addresses": list(n.addresses)}
            for n in cluster.nodes
        ]
    return out


def _workload(w: Workload, admin: bool = False) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if admin and w.node_names is not None and w.host_network:
        extra["node_names"] = list(w.node_names)
    if admin and w.pod_ips is not None:
        extra["pod_ips"] = list(w.pod_ips)
    return {
        **extra,
        "namespace": w.ref.namespace,
        "name": w.ref.name,
        "kind": w.ref.kind,
        "sources": list(w.sources),
        "ready": list(w.ready) if w.ready is not None else None,
        "pods": [
            {
                "labels": dict(v.labels),
                "host_network": v.host_network,
                "ports": [
                    {
                        "port": p.port,
                        "protocol": p.protocol,
                        "name": p.name,
                        "host_port": p.host_port,
                    }
                    for p in v.ports
                ],
            }
            for v in w.variants
        ],
    }


def _control_path(path: str, shipped: bool) -> str:
    """Shipped control files by their place in the tool, as the manifest names them."""
    return f"compliance:controls/{PurePath(path).name}" if shipped else path


def snapshot_bytes(ev: Evaluation) -> bytes:
    return canonical(snapshot_document(ev))


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A snapshot read back: the cluster it describes, and what it records about itself."""

    source: str
    document: dict[str, Any]
    cluster: Cluster
    inputs: tuple[InputFile, ...]
    manifest: dict[str, Any]
    results: bytes | None = None
    """The pack's results.json, for `verify --recompute`."""

    @property
    def as_of(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.document["as_of"].replace("Z", "+00:00"))


def read_pack(path: str, files: dict[str, bytes] | None = None) -> Snapshot | None:
    """The snapshot of the pack at `path`, or None when `path` is not a pack; `files`
    are its manifest and snapshot when the caller has read them already."""
    files = files if files is not None else pack_files(path)
    if files is None:
        return None
    source = f"{path}: {SNAPSHOT}"
    try:
        manifest = json.loads(files[MANIFEST])
        document = json.loads(files[SNAPSHOT])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", source=source) from None
    if isinstance(document, dict) and document.get("format") != FORMAT:
        raise InputError(
            f"unknown snapshot format {document.get('format')!r} (this tool reads {FORMAT})",
            source=source,
            field="format",
        )
    from compliance.datafile import schema_problem  # jsonschema: only when a pack is read

    problem = schema_problem(document, SCHEMA)
    if problem is not None:
        raise InputError(problem, source=source)
    if not isinstance(manifest, dict):
        raise InputError("expected a map", source=f"{path}: {MANIFEST}")
    return Snapshot(
        path,
        document,
        rebuild_cluster(document, source),
        _inputs(document),
        manifest,
        files.get(PACK_RESULTS),
    )


def admin_policy_kinds_of(snap: Snapshot) -> tuple[str, ...]:
    """The cluster-wide policy kinds the pack's export held (SEG-01 weighs the CNI against
    them); a pack written before snapshots recorded them held none that SEG-01 used."""
    return tuple(snap.document.get("admin_policy_kinds", ()))


def check_snapshot_as_of(moment: dt.datetime, snap: Snapshot) -> None:
    """Refuse an as-of before the pack's own: the export's object times are not in the
    snapshot, and the pack's as-of is the earliest moment its facts are known to hold."""
    if moment < snap.as_of:
        raise InputError(
            f"as-of {_iso(moment)} precedes the pack's as-of {snap.document['as_of']} "
            f"({snap.source})",
            field="--as-of",
        )


def _inputs(doc: dict[str, Any]) -> tuple[InputFile, ...]:
    return tuple(InputFile(i["path"], i["sha256"], i["size"]) for i in doc["inputs"])


def rebuild_cluster(doc: dict[str, Any], source: str) -> Cluster:
    """The `Cluster` the snapshot was taken of. Policies are parsed again from their
    canonical objects by the model's own parser, and their recorded sha256 is checked,
    so a snapshot edited by hand cannot pass for the pack's facts."""
    namespaces = tuple(
        Namespace(n["name"], tuple(sorted(n["labels"].items())), n["in_export"])
        for n in doc["namespaces"]
    )
    workloads = []
    for w in doc["workloads"]:
        ref = WorkloadRef(w["namespace"], w["name"], w["kind"])
        variants = tuple(
            PodVariant(
                ref,
                tuple(sorted(v["labels"].items())),
                tuple(
                    ContainerPort(p["port"], p["protocol"], p["name"], p["host_port"])
                    for p in v["ports"]
                ),
                v["host_network"],
            )
            for v in w["pods"]
        )
        ready = (w["ready"][0], w["ready"][1]) if w["ready"] is not None else None
        ips = w.get("pod_ips")
        on = w.get("node_names")
        workloads.append(
            Workload(
                ref,
                variants,
                tuple(w["sources"]),
                ready,
                None if ips is None else tuple(ips),
                None if on is None else tuple(on),
            )
        )
    builder = _Builder()
    policies = []
    for i, p in enumerate(doc["policies"]):
        body = p["object"]
        obj_ref = f"NetworkPolicy {p['namespace']}/{p['name']}"
        if object_digest(body) != p["sha256"]:
            raise InputError(
                "the object does not match its recorded sha256",
                source=source,
                obj=obj_ref,
                field=f"policies[{i}].object",
            )
        obj = K8sObject(
            p["source"],
            body.get("apiVersion", ""),
            "NetworkPolicy",
            p["namespace"],
            p["name"],
            body,
        )
        policies.append(builder._policy(obj, {"source": p["source"], "obj": obj.ref}))
    admin = []
    for i, p in enumerate(doc.get("admin_policies", [])):
        from compliance.adminpolicy import parse_admin_policy  # only for packs that have some

        body = p["object"]
        obj = K8sObject(p["source"], body.get("apiVersion", ""), p["kind"], None, p["name"], body)
        if object_digest(body) != p["sha256"]:
            raise InputError(
                "the object does not match its recorded sha256",
                source=source,
                obj=obj.ref,
                field=f"admin_policies[{i}].object",
            )
        admin.append(parse_admin_policy(obj, p["sha256"]))
    nodes = doc.get("nodes")
    return Cluster(
        namespaces,
        tuple(workloads),
        tuple(policies),
        tuple(doc["warnings"]),
        admin_policies=tuple(ordered(admin)),
        nodes=None
        if nodes is None
        else tuple(
            Node(n["name"], tuple(sorted(n["labels"].items())), tuple(n["addresses"]))
            for n in nodes
        ),
    )


@dataclass(frozen=True, slots=True)
class ClusterInput:
    """A cluster to analyse, from exports or from a pack's snapshot."""

    loaded: LoadResult
    cluster: Cluster
    snapshot: Snapshot | None = None


def load_input(paths: tuple[str, ...], max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> ClusterInput:
    """Exports as `load_paths` reads them, or one pack (folder or zip), read alone: a
    pack's facts are a whole cluster, and mixing them with an export would merge two."""
    for path in paths:
        files = pack_files(path)
        if files is None:
            continue
        if len(paths) != 1:
            raise InputError(
                "an evidence pack is read alone, not together with other inputs", source=path
            )
        snap = read_pack(path, files)
        assert snap is not None
        return ClusterInput(LoadResult((), snap.inputs), snap.cluster, snap)
    loaded = load_paths(paths, max_bytes=max_bytes)
    return ClusterInput(loaded, build_cluster(loaded.objects))


def snapshot_scope(
    snap: Snapshot, known_frameworks: Iterable[str] | None = None, known_checks: Iterable[str] = ()
) -> Scope:
    """The scope the pack was evaluated with, parsed again from the file's content it
    keeps, and named, hashed and sized as the original file was."""
    from compliance.scope import parse_scope

    recorded = snap.document["scope"]
    scope = parse_scope(
        recorded["document"], f"{snap.source}: {SNAPSHOT}: scope.document",
        known_frameworks, known_checks,
    )  # fmt: skip
    return dataclasses.replace(
        scope,
        source=recorded["path"],
        sha256=recorded["sha256"],
        size=recorded["size"],
        document=recorded["document"],
    )


def first_difference(recorded: bytes, recomputed: bytes) -> str | None:
    """`line N: ...` for the first line where the pack's results.json and the recomputed
    one differ, or None when they are the same bytes."""
    if recorded == recomputed:
        return None
    old, new = recorded.decode(errors="replace").splitlines(), recomputed.decode().splitlines()
    for number, (a, b) in enumerate(zip(old, new, strict=False), start=1):
        if a != b:
            return f"line {number}: the pack has {a.strip()[:80]!r}, recomputed {b.strip()[:80]!r}"
    shorter = "the pack's" if len(old) < len(new) else "the recomputed"
    return f"line {min(len(old), len(new)) + 1}: {shorter} results.json ends there"
