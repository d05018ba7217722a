"""Read cluster exports (files, folders, standard input) into Kubernetes objects.

This is the only module of the core that reads files. It parses YAML and JSON
safely (no arbitrary objects, bounded nesting and alias expansion), flattens
`kind: List` and typed lists as `kubectl get -o yaml|json` prints them, and
refuses duplicates. It does not interpret the objects: `model` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

import yaml

from compliance.errors import InputError
from compliance.gcpause import gc_paused
from compliance.limits import DEFAULT_MAX_FILE_BYTES as DEFAULT_MAX_FILE_BYTES
from compliance.limits import size_text as size_text
from compliance.provenance import Capture, captures_in

try:  # libyaml is an order of magnitude faster; the pure loader is the fallback.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


_INT = "tag:yaml.org,2002:int"
_MERGE = "tag:yaml.org,2002:merge"
MAX_INT_BITS = 64
"""Widest integer accepted: Kubernetes numbers are int64, and a number thousands of
digits long cannot even be printed (Python's int-to-text limit)."""


class _FieldError(Exception):
    """A value that cannot be built, on its way up to the document root; each mapping
    and list it passes through adds its key or index, so the error names the field."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.mark = mark
        self.parts: list[str | int] = []


class _Loader(_BaseLoader):
    """The safe loader with a lean constructor for the plain maps, lists and strings
    that exports are made of, and rules the stock loader lacks: a key repeated in one
    map is an error (the stock loader keeps the last, silently dropping rules), a
    value its tag cannot build (`!!int abc`) or an integer wider than 64 bits is an
    input error naming the field, and merge keys (`<<`) are expanded here, by YAML
    1.1's rule (explicit keys win; among merged maps the earlier wins), so that the
    maps they build get the same checks and keep dates as text."""

    def construct_document(self, node: yaml.Node) -> Any:
        self._built: dict[int, Any] = {}
        data = self._build(node)
        self.constructed_objects = {}
        self.recursive_objects = {}
        return data

    def _build(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR and isinstance(node, yaml.ScalarNode):
            return node.value
        built = self._built.get(id(node))
        if built is not None:  # an alias: share the object, as the stock loader does
            return built
        if tag == _SEQ and isinstance(node, yaml.SequenceNode):
            items: list[Any] = []
            self._built[id(node)] = items
            try:
                for child in node.value:
                    items.append(self._build(child))
            except _FieldError as exc:
                exc.parts.insert(0, len(items))  # the index of the child that failed
                raise
            return items
        if tag == _MAP and isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if tag == _TIMESTAMP and isinstance(node, yaml.ScalarNode):
            # Kept as text: an impossible date (2027-13-01) must be an input error where
            # it is used, not a crash while parsing; no export field needs a datetime.
            return node.value
        if tag == _INT and isinstance(node, yaml.ScalarNode) and len(node.value) > 40:
            digits = sum(ch.isdigit() for ch in node.value)
            if digits > 40:  # refused before int() meets Python's int-to-text limit
                raise _FieldError(f"integer too large ({digits} digits)", node.start_mark)
        try:  # numbers, booleans, null, other tags
            value = self.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:  # a tag the safe loader does not build
            raise _FieldError(exc.problem or "cannot be built", node.start_mark) from None
        except (ValueError, KeyError, TypeError, OverflowError):
            short = tag.replace("tag:yaml.org,2002:", "!!")
            raise _FieldError(
                f"{short} cannot hold the value {_clip(str(node.value))!r}", node.start_mark
            ) from None
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise _FieldError(
                f"integer out of range (wider than {MAX_INT_BITS} bits)", node.start_mark
            )
        self._built[id(node)] = value
        return value

    def _mapping(self, node: yaml.MappingNode) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        self._built[id(node)] = mapping
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                if merges:
                    raise _FieldError("found duplicate merge key '<<'", key_node.start_mark)
                merges.append(value_node)
                continue
            key = self._build(key_node)
            try:
                duplicate = key in mapping
            except TypeError:
                raise _FieldError("found an unhashable key", key_node.start_mark) from None
            if duplicate:
                raise _FieldError(f"found duplicate key {_clip(str(key))!r}", key_node.start_mark)
            try:
                mapping[key] = self._build(value_node)
            except _FieldError as exc:
                exc.parts.insert(0, str(key))
                raise
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                merged = self._build(source)
                if not isinstance(source, yaml.MappingNode) or not isinstance(merged, dict):
                    raise _FieldError(
                        "a merge key (<<) takes a map or a list of maps", source.start_mark
                    )
                for key, value in merged.items():
                    mapping.setdefault(key, value)
        return mapping


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_DEPTH = 128
"""Deepest nesting accepted; real objects stay under 30, and libyaml's composer
recurses in C, so a document nested thousands deep must be refused before it."""
MAX_ALIAS_EXPANSION = 200_000
"""Nodes that YAML aliases may add beyond the document's own: a few repeated
snippets are fine, an alias bomb ("billion laughs") is not."""

USED_KINDS: dict[str, frozenset[str]] = {
    "Namespace": frozenset({""}),
    "Pod": frozenset({""}),
    "ReplicationController": frozenset({""}),
    "Deployment": frozenset({"apps", "extensions"}),
    "StatefulSet": frozenset({"apps"}),
    "DaemonSet": frozenset({"apps", "extensions"}),
    "ReplicaSet": frozenset({"apps", "extensions"}),
    "Job": frozenset({"batch"}),
    "CronJob": frozenset({"batch"}),
    "NetworkPolicy": frozenset({"networking.k8s.io", "extensions"}),
    "AdminNetworkPolicy": frozenset({"policy.networking.k8s.io"}),
    "BaselineAdminNetworkPolicy": frozenset({"policy.networking.k8s.io"}),
    "ClusterNetworkPolicy": frozenset({"policy.networking.k8s.io"}),
    "Node": frozenset({""}),
}
"""Kinds the model reads, with the API groups they must come from: a CRD that
reuses a name (Calico's NetworkPolicy) is not the Kubernetes object."""

CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
        "ClusterNetworkPolicy",
    }
)

OTHER_POLICY_KINDS = {
    "projectcalico.org": "Calico",
    "crd.projectcalico.org": "Calico",
    "cilium.io": "Cilium",
    "policy.networking.k8s.io": "AdminNetworkPolicy",
    "security.istio.io": "Istio",
    "networking.istio.io": "Istio",
    "antrea.io": "Antrea",
    "crd.antrea.io": "Antrea",
}
"""API groups whose policies can change what is allowed but are not modelled."""


@dataclass(frozen=True, slots=True)
class K8sObject:
    """One Kubernetes object and where it came from."""

    source: str
    api_version: str
    kind: str
    namespace: str | None
    name: str
    body: dict[str, Any]

    @property
    def group(self) -> str:
        return api_group(self.api_version)

    @property
    def ref(self) -> str:
        """`Kind namespace/name` (or `Kind name` when cluster-scoped), as errors name it."""
        if self.namespace is None:
            return f"{self.kind} {self.name}"
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class InputFile:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class LoadResult:
    objects: tuple[K8sObject, ...]
    inputs: tuple[InputFile, ...]
    warnings: tuple[str, ...] = ()
    skipped_kinds: tuple[tuple[str, int], ...] = ()
    """Kinds present but not used, with counts, sorted by kind."""
    captures: tuple[Capture, ...] = ()
    """Capture records of files that `compliance collect` wrote."""


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def read_file(path: Path | str, display: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file, at most `max_bytes` of them.

    A FIFO would block forever and a device (`/dev/zero`, also behind a symlink) never
    ends, so anything but a regular file is refused before it is read; the file is
    opened without blocking and checked again once open, and the read itself is
    bounded, so a file that grows while read cannot exhaust memory either.
    """
    try:
        before = os.stat(path)
        if not stat.S_ISREG(before.st_mode):
            raise _not_regular(display, before.st_mode)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=display) from None
    with open(fd, "rb") as stream:
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise _not_regular(display, mode)
            data = stream.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", source=display) from None
    if len(data) > max_bytes:
        raise _too_large(display, max_bytes)
    return data


def read_stream(stream: TextIO, display: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """Standard input, bounded like a file; bytes, so bad UTF-8 is our error to report."""
    raw_stream = getattr(stream, "buffer", None)
    if raw_stream is not None:
        data: bytes = raw_stream.read(max_bytes + 1)
    else:
        data = stream.read(max_bytes + 1).encode()
    if len(data) > max_bytes:
        raise _too_large(display, max_bytes)
    return data


def _not_regular(display: str, mode: int) -> InputError:
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    return InputError(f"{kind}, not a regular file; only regular files are read", source=display)


def _too_large(display: str, max_bytes: int) -> InputError:
    return InputError(
        f"larger than the limit of {size_text(max_bytes)} per input file; raise it with "
        "--max-file-size (or COMPLIANCE_MAX_FILE_SIZE) if the file is genuine",
        source=display,
    )


def load_paths(
    paths: Sequence[str],
    stdin: TextIO | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> LoadResult:
    """Load every manifest under `paths`; `-` reads `stdin` (default: sys.stdin).

    Each file, and standard input, may hold at most `max_bytes`."""
    if not paths:
        raise InputError("no input given: name export files, folders, or - for standard input")
    files: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for raw in paths:
        if raw == "-":
            if "-" in seen:
                continue
            seen.add("-")
            stream = stdin if stdin is not None else sys.stdin
            files.append(("<stdin>", read_stream(stream, "<stdin>", max_bytes)))
            continue
        for display, data in _read_path(raw, max_bytes):
            real = os.path.realpath(display)
            if real not in seen:  # a file named twice (folder and file) is read once
                seen.add(real)
                files.append((display, data))
    return load_texts(files)


def load_texts(files: Iterable[tuple[str, bytes]]) -> LoadResult:
    """Parse already-read files; exposed so tests and other front ends skip the disk."""
    objects: list[K8sObject] = []
    inputs: list[InputFile] = []
    warnings: list[str] = []
    skipped: Counter[str] = Counter()
    captures: list[Capture] = []
    seen: dict[tuple[str, str | None, str], str] = {}
    for source, data in files:
        inputs.append(InputFile(source, hashlib.sha256(data).hexdigest(), len(data)))
        docs = parse_documents(source, data)
        captures.extend(captures_in(source, docs))
        found = list(_objects_in(source, docs))
        if not found:
            if any(d is not None for d in docs):
                warnings.append(
                    f"{source}: holds no Kubernetes objects (no apiVersion/kind); skipped"
                )
            continue
        for obj in found:
            kind_groups = USED_KINDS.get(obj.kind)
            if kind_groups is None or obj.group not in kind_groups:
                skipped[f"{obj.kind} ({obj.api_version})"] += 1
                tool = OTHER_POLICY_KINDS.get(obj.group)
                if tool and "Policy" in obj.kind:
                    warnings.append(
                        f"{source}: {obj.ref}: {tool} policies are not modelled; the flows "
                        "shown assume Kubernetes NetworkPolicy alone"
                    )
                continue
            # The groups a used kind may come from are aliases of one resource.
            key = (obj.kind, obj.namespace, obj.name)
            if key in seen:
                raise InputError(
                    f"duplicate object: also defined in {seen[key]}", source=source, obj=obj.ref
                )
            seen[key] = source
            objects.append(obj)
    if not inputs:
        raise InputError("no manifests found")
    return LoadResult(
        objects=tuple(objects),
        inputs=tuple(inputs),
        warnings=tuple(warnings),
        skipped_kinds=tuple(sorted(skipped.items())),
        captures=tuple(captures),
    )


def _read_path(raw: str, max_bytes: int) -> list[tuple[str, bytes]]:
    path = Path(raw)
    if not path.exists():
        raise InputError("no such file or directory", source=raw)
    if not path.is_dir():
        return [(raw, read_file(path, raw, max_bytes))]
    found: list[tuple[str, bytes]] = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or not name.lower().endswith(MANIFEST_SUFFIXES):
                continue
            full = Path(root) / name
            display = full.as_posix()
            found.append((display, read_file(full, display, max_bytes)))
    if not found:
        raise InputError(
            "folder holds no manifests (no .yaml, .yml or .json files below it)", source=raw
        )
    return found


def parse_documents(source: str, data: bytes) -> list[Any]:
    """Parse one file's bytes into its documents.

    A `.json` file is JSON; standard input is JSON when it parses as JSON and YAML
    otherwise (a YAML flow map also starts with `{`); everything else is YAML.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=source) from None
    if source.lower().endswith(".json"):
        return [_parse_json(source, text)]
    if source == "<stdin>" and text.lstrip()[:1] in ("{", "["):
        try:
            return [_parse_json(source, text)]
        except _NotJSON:
            pass
    return _parse_yaml(source, text)


class _NotJSON(InputError):
    """The text is not JSON at all (as opposed to JSON we refuse)."""


class _Dict(dict[str, Any]):
    """A JSON object that repeated a key; kept only until the path is reported."""

    duplicate: str = ""


class _BigInt(int):
    """A JSON integer wider than MAX_INT_BITS; kept only until the path is reported."""


_SUSPECT_JSON = re.compile(r"[0-9]{19}|\\u[dD][89a-fA-F]")
"""Long digit runs and surrogate escapes: only then is the parsed JSON walked."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def _parse_json(source: str, text: str) -> Any:
    """JSON with the rules YAML files get: no repeated keys, no integers wider than 64
    bits, and no lone surrogates (`"\\ud800"` is valid JSON but not Unicode text)."""
    flagged = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal flagged
        mapping = dict(items)
        if len(mapping) == len(items):
            return mapping
        flagged = True
        marked = _Dict(mapping)
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                marked.duplicate = key
                break
            seen.add(key)
        return marked

    def integer(digits: str) -> int:
        nonlocal flagged
        if len(digits) > 40:  # before int() meets Python's int-to-text limit
            flagged = True
            return _BigInt(0)
        value = int(digits)
        if value.bit_length() > MAX_INT_BITS:
            flagged = True
            return _BigInt(value)
        return value

    suspect = _SUSPECT_JSON.search(text) is not None
    try:
        with gc_paused():
            doc = json.loads(text, object_pairs_hook=pairs, parse_int=integer if suspect else None)
    except json.JSONDecodeError as exc:
        raise _NotJSON(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source
        ) from None
    except RecursionError:
        raise InputError("JSON nested too deeply; refused", source=source) from None
    if flagged or suspect:
        problem = _json_problem(doc, [])
        if problem is not None:
            parts, message = problem
            raise InputError(message, source=source, field=path_text(parts) or None)
    return doc


def _json_problem(node: Any, parts: list[str | int]) -> tuple[list[str | int], str] | None:
    """The first repeated key, over-wide integer or lone surrogate, with its path."""
    if isinstance(node, dict):
        if isinstance(node, _Dict):
            return parts, f"found duplicate key {_clip(node.duplicate)!r}"
        for key, value in node.items():
            if _SURROGATE.search(key):
                return parts, f"key {_clip(key)!a} holds a lone surrogate (not Unicode text)"
            found = _json_problem(value, [*parts, key])
            if found is not None:
                return found
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found = _json_problem(value, [*parts, index])
            if found is not None:
                return found
    elif isinstance(node, _BigInt):
        return parts, f"integer out of range (wider than {MAX_INT_BITS} bits)"
    elif isinstance(node, str) and _SURROGATE.search(node):
        return parts, f"{_clip(node)!a} holds a lone surrogate (not Unicode text)"
    return None


def path_text(parts: Iterable[str | int]) -> str:
    """`["spec", "ingress", 0]` -> `spec.ingress[0]`, as errors name a field."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_LEADING = re.compile(r"^[ \-?]*", re.MULTILINE)
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s\[\]{},]")


def _depth_bound(text: str) -> int:
    """A cheap upper bound of the nesting depth, read from the raw text.

    Block nesting needs indentation or a `- `/`? ` indicator per level, and flow
    nesting needs a bracket per level, so the longest run of those at a line start
    plus the deepest bracket nesting bound the real depth (brackets in strings only
    make the bound looser, never smaller).
    """
    lead = max((len(m) for m in _LEADING.findall(text)), default=0)
    depth = best = 0
    for ch in re.findall(r"[\[\]{}]", text):
        if ch in "[{":
            depth += 1
            if depth > best:
                best = depth
        else:
            depth -= 1
    return 2 * (lead + 2) + best


def _check_depth_exactly(source: str, text: str) -> None:
    """Walk the parser's events (libyaml keeps its own stack) and refuse deep nesting."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
                    raise InputError(
                        f"YAML nested deeper than {MAX_DEPTH} levels{where}; refused",
                        source=source,
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(source, exc) from None


def _parse_yaml(source: str, text: str) -> list[Any]:
    if _depth_bound(text) > MAX_DEPTH:
        _check_depth_exactly(source, text)
    try:
        with gc_paused():
            docs = list(yaml.load_all(text, Loader=_Loader))
    except _FieldError as exc:
        mark = exc.mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(
            f"invalid YAML{where}: {exc.problem}", source=source, field=path_text(exc.parts) or None
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(source, exc) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}".splitlines()[0], source=source) from None
    if _ANCHOR.search(text):
        for doc in docs:
            _check_expansion(source, doc)
    return docs


def _yaml_error(source: str, exc: yaml.MarkedYAMLError) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = " ".join(p for p in (exc.context, exc.problem) if p) or "syntax error"
    return InputError(f"invalid YAML{where}: {problem}", source=source)


def _check_expansion(source: str, doc: Any) -> None:
    """Refuse documents whose aliases expand far beyond their own size.

    The safe loader shares one Python object per anchor, so loading is cheap;
    walking the result would not be. Sizes are memoised per shared object, which
    keeps this check linear in the document's real size.
    """
    sizes: dict[int, int] = {}
    distinct = 0

    def size(node: Any) -> int:
        nonlocal distinct
        if not isinstance(node, (dict, list)):
            return 1
        key = id(node)
        cached = sizes.get(key)
        if cached is not None:
            return cached
        distinct += 1
        sizes[key] = 1  # a cycle (recursive alias) counts once
        children = node.values() if isinstance(node, dict) else node
        total = 1 + sum(size(child) for child in children)
        sizes[key] = total
        return total

    total = size(doc)
    if total > 10 * max(distinct, 1) + MAX_ALIAS_EXPANSION:
        raise InputError(
            f"YAML aliases expand to {total:,} nodes from {distinct:,} distinct ones; refused "
            "(alias bomb?)",
            source=source,
        )


def _objects_in(source: str, docs: list[Any]) -> Iterable[K8sObject]:
    """Flatten documents and lists into objects; typed list items inherit their kind."""
    kubernetes_docs = [
        d for d in docs if isinstance(d, dict) and ("kind" in d or "apiVersion" in d)
    ]
    if not kubernetes_docs:
        return
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        where = f"document {index + 1}"
        if not isinstance(doc, dict):
            raise InputError(f"{where}: expected a Kubernetes object (a map)", source=source)
        yield from _flatten(source, doc, where, None)


def _flatten(
    source: str, doc: dict[str, Any], where: str, inherited: tuple[str, str] | None
) -> Iterable[K8sObject]:
    kind = doc.get("kind")
    api_version = doc.get("apiVersion")
    if kind is None and api_version is None and inherited is not None:
        api_version, kind = inherited
    if not isinstance(kind, str) or not kind:
        raise InputError(f"{where}: kind is missing or not a string", source=source, field="kind")
    if not isinstance(api_version, str) or not api_version:
        raise InputError(
            f"{where}: apiVersion is missing or not a string", source=source, field="apiVersion"
        )
    if kind.endswith("List") and "items" in doc:
        items = doc.get("items")
        if items is None:
            return
        if not isinstance(items, list):
            raise InputError(f"{where}: expected a list", source=source, field="items")
        item_kind = None if kind == "List" else (api_version, kind[: -len("List")])
        for i, item in enumerate(items):
            item_where = f"{where}, items[{i}]"
            if not isinstance(item, dict):
                raise InputError(f"{item_where}: expected a Kubernetes object", source=source)
            yield from _flatten(source, item, item_where, item_kind)
        return
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        raise InputError(
            f"{where}: metadata is missing or not a map", source=source, obj=kind, field="metadata"
        )
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(
            f"{where}: metadata.name is missing", source=source, obj=kind, field="metadata.name"
        )
    namespace = metadata.get("namespace")
    if kind in CLUSTER_SCOPED:
        namespace = None
    elif namespace is None or namespace == "":
        namespace = "default"
    elif not isinstance(namespace, str):
        raise InputError(
            "expected a string", source=source, obj=f"{kind} {name}", field="metadata.namespace"
        )
    yield K8sObject(source, api_version, kind, namespace, name, doc)


PACK_MANIFEST = "manifest.json"
PACK_SNAPSHOT = "snapshot.json"
PACK_RESULTS = "results.json"


def pack_files(path: str) -> dict[str, bytes] | None:
    """A pack's manifest and snapshot (and results.json, when present) when `path` is a
    pack (a folder or zip holding both), None when it is anything else (an export file
    or folder)."""
    target = Path(path)
    if path == "-":
        return None
    if target.is_dir():
        if not (target / PACK_MANIFEST).is_file():
            return None
        if not (target / PACK_SNAPSHOT).is_file():
            raise InputError(
                f"an evidence pack without {PACK_SNAPSHOT} (written before packs kept their "
                "facts) cannot be read as input",
                source=path,
            )
        names = (PACK_MANIFEST, PACK_SNAPSHOT, PACK_RESULTS)
        return {n: read_file(target / n, f"{path}/{n}") for n in names if (target / n).is_file()}
    if target.suffix.lower() != ".zip" or not target.is_file():
        return None
    import zipfile  # only for a zip: exports are read without it

    if zipfile.is_zipfile(target):
        with zipfile.ZipFile(target) as archive:
            found: dict[str, bytes] = {}
            for name in archive.namelist():
                base = PurePosixPath(name).name
                depth = len(PurePosixPath(name).parts)
                wanted = (PACK_MANIFEST, PACK_SNAPSHOT, PACK_RESULTS)
                if base in wanted and depth <= 2 and base not in found:
                    found[base] = archive.read(name)
        if PACK_MANIFEST in found and PACK_SNAPSHOT in found:
            return found
        raise InputError(
            f"a zip without {PACK_MANIFEST} and {PACK_SNAPSHOT} is not an evidence pack "
            "(packs written before snapshots cannot be read as input)",
            source=path,
        )
    return None
