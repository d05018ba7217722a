"""Export a cluster with `kubectl`, recording when and where, and nothing an evidence pack
must not carry.

An export made by hand says nothing about which cluster it came from or when; an
assessor has to take the preparer's word for both. The collector writes one `List`
whose annotations record the context, the server version, the cluster's identity (the
`kube-system` namespace UID, which survives renames of the context), the capture's
start and end, the kinds collected and the kinds the API did not serve. It also strips
what a pack must never hold: environment values, secret volumes, managedFields and
annotations (`last-applied-configuration` repeats the whole object, env included).

The core runs `kubectl` through a `Runner`, so tests replay recorded outputs and the
CLI alone prints progress.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.errors import CollectError, InputError

# The capture record's annotation keys; provenance, which reads them from every export,
# holds them, so that reading an export does not import the collector.
from compliance.provenance import CAPTURE_END as CAPTURE_END
from compliance.provenance import CAPTURE_START as CAPTURE_START
from compliance.provenance import CLUSTER_ID as CLUSTER_ID
from compliance.provenance import COLLECTOR as COLLECTOR
from compliance.provenance import CONTEXT as CONTEXT
from compliance.provenance import KINDS_COLLECTED as KINDS_COLLECTED
from compliance.provenance import KINDS_NOT_SERVED as KINDS_NOT_SERVED
from compliance.provenance import SERVER_VERSION as SERVER_VERSION


@dataclass(frozen=True, slots=True)
class Kind:
    """One resource to export: `kubectl get RESOURCE`, by its fully qualified name."""

    resource: str
    """Plural with its API group (`deployments.apps`), as `kubectl api-resources -o name`
    prints it; the core group has none (`pods`)."""
    required: bool
    """Every API server serves it; optional kinds are fetched only when served."""


KINDS: tuple[Kind, ...] = (
    Kind("namespaces", True),
    Kind("nodes", True),
    Kind("pods", True),
    Kind("replicationcontrollers", True),
    Kind("deployments.apps", True),
    Kind("statefulsets.apps", True),
    Kind("daemonsets.apps", True),
    Kind("replicasets.apps", True),
    Kind("jobs.batch", True),
    Kind("cronjobs.batch", True),
    Kind("networkpolicies.networking.k8s.io", True),
    Kind("adminnetworkpolicies.policy.networking.k8s.io", False),
    Kind("baselineadminnetworkpolicies.policy.networking.k8s.io", False),
    Kind("clusternetworkpolicies.policy.networking.k8s.io", False),
    Kind("tiers.projectcalico.org", False),
    Kind("networkpolicies.projectcalico.org", False),
    Kind("globalnetworkpolicies.projectcalico.org", False),
    Kind("stagednetworkpolicies.projectcalico.org", False),
    Kind("stagedglobalnetworkpolicies.projectcalico.org", False),
    Kind("networksets.projectcalico.org", False),
    Kind("globalnetworksets.projectcalico.org", False),
    Kind("ciliumnetworkpolicies.cilium.io", False),
    Kind("ciliumclusterwidenetworkpolicies.cilium.io", False),
)
"""Every kind the tool reads or reports as unmodelled, in the order they are fetched."""

KEPT_ANNOTATIONS: frozenset[str] = frozenset()
"""Annotation keys the engine reads; none today, so every annotation is dropped."""

POD_SPEC_PATHS: tuple[tuple[str, ...], ...] = (
    ("spec",),
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)
"""Where a pod spec sits in a Pod, in a workload template and in a CronJob."""


@dataclass(frozen=True, slots=True)
class Completed:
    """What one `kubectl` call returned."""

    returncode: int
    stdout: bytes
    stderr: bytes


Runner = Callable[[Sequence[str]], Completed]
"""Runs `kubectl` with the given arguments (without `kubectl` itself)."""
Clock = Callable[[], dt.datetime]
Progress = Callable[[str], None]


def kubectl_runner(executable: str = "kubectl") -> Runner:
    """A runner over the real `kubectl` on PATH; refuses early when there is none."""
    found = shutil.which(executable)
    if found is None:
        raise InputError(f"{executable} not found on PATH; install it or export by hand")
    path = found

    def run(args: Sequence[str]) -> Completed:
        proc = subprocess.run([path, *args], capture_output=True, check=False, stdin=None)
        return Completed(proc.returncode, proc.stdout, proc.stderr)

    return run


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def collect(
    runner: Runner,
    *,
    context: str | None = None,
    clock: Clock = utc_now,
    progress: Progress | None = None,
    tool: str = "compliance",
) -> dict[str, Any]:
    """The cluster as one `List` with provenance annotations, stripped of secrets."""
    say = progress or (lambda _message: None)
    base = ["--context", context] if context else []
    start = clock()

    def call(what: str, args: Sequence[str]) -> Any:
        done = runner([*base, *args])
        if done.returncode != 0:
            reason = _first_line(done.stderr) or f"kubectl exited {done.returncode}"
            if _is_context_error(reason):
                raise InputError(f"kubectl context {context or '(current)'}: {reason}")
            raise CollectError(f"kubectl failed while reading {what}: {reason}")
        try:
            return json.loads(done.stdout)
        except (ValueError, RecursionError):
            raise CollectError(f"kubectl printed something other than JSON for {what}") from None

    current = context or _current_context(runner)
    version = call("the server version", ["version", "-o", "json"])
    server = _dig(version, "serverVersion", "gitVersion")
    system = call("namespace kube-system", ["get", "namespace", "kube-system", "-o", "json"])
    cluster_id = _dig(system, "metadata", "uid")
    served = _served(runner, base)

    items: list[dict[str, Any]] = []
    collected: list[str] = []
    not_served: list[str] = []
    for kind in KINDS:
        if not kind.required and kind.resource not in served:
            not_served.append(kind.resource)
            continue
        listed = call(kind.resource, ["get", kind.resource, "--all-namespaces", "-o", "json"])
        objects = [o for o in _items(listed) if isinstance(o, dict)]
        items.extend(strip(o) for o in objects)
        collected.append(kind.resource)
        say(f"{kind.resource}: {len(objects)}")
    end = clock()

    annotations = {
        COLLECTOR: tool,
        CONTEXT: current or "",
        SERVER_VERSION: server or "unknown",
        CLUSTER_ID: cluster_id or "unknown",
        CAPTURE_START: _timestamp(start),
        CAPTURE_END: _timestamp(end),
        KINDS_COLLECTED: ",".join(collected),
        KINDS_NOT_SERVED: ",".join(not_served),
    }
    return {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"annotations": annotations},
        "items": items,
    }


def strip(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy without what a pack must never carry; the engine reads none of it."""
    out: dict[str, Any] = json.loads(json.dumps(obj))
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            kept = {k: v for k, v in annotations.items() if k in KEPT_ANNOTATIONS}
            if kept:
                meta["annotations"] = kept
            else:
                meta.pop("annotations", None)
    if out.get("kind") == "Node":
        return _node_facts(out)
    for path in POD_SPEC_PATHS:
        spec = _dig(out, *path)
        if isinstance(spec, dict) and "containers" in spec:
            _strip_pod_spec(spec)
    return out


def _strip_pod_spec(spec: dict[str, Any]) -> None:
    secret_volumes = set()
    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        kept = []
        for volume in volumes:
            if isinstance(volume, dict) and _mounts_secret(volume):
                secret_volumes.add(volume.get("name"))
            else:
                kept.append(volume)
        spec["volumes"] = kept
    for key in ("initContainers", "containers", "ephemeralContainers"):
        containers = spec.get(key)
        if not isinstance(containers, list):
            continue
        for container in containers:
            if not isinstance(container, dict):
                continue
            env = container.get("env")
            if isinstance(env, list):
                # Names show what is configured; values and references are not evidence.
                container["env"] = [
                    {"name": e.get("name")} for e in env if isinstance(e, dict) and "name" in e
                ]
            container.pop("envFrom", None)
            mounts = container.get("volumeMounts")
            if isinstance(mounts, list):
                container["volumeMounts"] = [
                    m
                    for m in mounts
                    if not (isinstance(m, dict) and m.get("name") in secret_volumes)
                ]


def _mounts_secret(volume: dict[str, Any]) -> bool:
    if "secret" in volume:
        return True
    sources = _dig(volume, "projected", "sources")
    return isinstance(sources, list) and any(isinstance(s, dict) and "secret" in s for s in sources)


def _node_facts(node: dict[str, Any]) -> dict[str, Any]:
    """A Node reduced to what an address-based rule needs: name, labels, addresses."""
    found = node.get("metadata")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    kept_meta = {k: meta[k] for k in ("name", "uid", "labels") if k in meta}
    out: dict[str, Any] = {
        "apiVersion": node.get("apiVersion", "v1"),
        "kind": "Node",
        "metadata": kept_meta,
    }
    addresses = _dig(node, "status", "addresses")
    if isinstance(addresses, list):
        out["status"] = {"addresses": addresses}
    return out


def _served(runner: Runner, base: Sequence[str]) -> frozenset[str]:
    """Resources the API serves; a partial answer (an unavailable aggregated API) still
    lists the rest, so a non-zero exit with output is used as far as it goes."""
    done = runner([*base, "api-resources", "-o", "name"])
    if done.returncode != 0 and not done.stdout.strip():
        reason = _first_line(done.stderr) or f"kubectl exited {done.returncode}"
        raise CollectError(f"kubectl failed while listing API resources: {reason}")
    text = done.stdout.decode("utf-8", "replace")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _current_context(runner: Runner) -> str | None:
    done = runner(["config", "current-context"])
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace").strip() or None


def _items(listed: Any) -> Iterable[Any]:
    items = listed.get("items") if isinstance(listed, dict) else None
    return items if isinstance(items, list) else ()


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _first_line(data: bytes) -> str:
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _is_context_error(message: str) -> bool:
    lowered = message.lower()
    return "context" in lowered and (
        "does not exist" in lowered or "not found" in lowered or "no context" in lowered
    )


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def serialise(document: dict[str, Any], fmt: str) -> bytes:
    """The export as bytes: JSON by default, because it loads several times faster than
    YAML; YAML for people who read it."""
    if fmt == "json":
        return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
    if fmt == "yaml":
        import yaml

        text = yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=2**31 - 1)
        return text.encode()
    raise ValueError(f"unknown format {fmt!r}")


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside the destination and rename, so a failed run leaves no partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
