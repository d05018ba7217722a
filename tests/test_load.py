"""Loading: safe parsing, list flattening, sources, and the bounds that keep it fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from compliance.errors import InputError
from compliance.load import _depth_bound, load_paths, load_texts

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_depth_bound_of_real_exports_is_small() -> None:
    for path in sorted((SAMPLES / "shop-cluster").glob("*.yaml")):
        assert _depth_bound(path.read_text()) < 128, path


def test_anchors_used_sparingly_are_accepted() -> None:
    text = b"""
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a, namespace: x, labels: &l {app: web}}
  spec: &s {containers: [{name: c, image: i}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: b, namespace: x, labels: *l}
  spec: *s
"""
    assert [o.name for o in load_texts([("a.yaml", text)]).objects] == ["a", "b"]


def test_block_nesting_bomb_is_refused_quickly() -> None:
    text = "".join("  " * i + "- \n" for i in range(3000)).encode()
    started = time.perf_counter()
    with pytest.raises(InputError, match="nested deeper"):
        load_texts([("deep.yaml", text)])
    assert time.perf_counter() - started < 5  # generous: the point is no hang or crash


def test_same_file_named_twice_is_read_once(tmp_path: Path) -> None:
    f = tmp_path / "ns.yaml"
    f.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    result = load_paths([str(tmp_path), str(f)])
    assert len(result.objects) == 1 and len(result.inputs) == 1


def test_inputs_carry_sha256_and_size(tmp_path: Path) -> None:
    f = tmp_path / "ns.yaml"
    data = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
    f.write_bytes(data)
    (entry,) = load_paths([str(f)]).inputs
    import hashlib

    assert entry.sha256 == hashlib.sha256(data).hexdigest() and entry.size == len(data)


def test_calico_policies_are_skipped_with_a_warning() -> None:
    text = b"""
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: prod}
spec: {selector: all()}
"""
    result = load_texts([("calico.yaml", text)])
    assert result.objects == ()
    assert any("Calico" in w and "not modelled" in w for w in result.warnings)
    assert result.skipped_kinds == (("NetworkPolicy (crd.projectcalico.org/v1)", 1),)


def test_typed_list_items_inherit_kind() -> None:
    text = b'{"apiVersion": "v1", "kind": "NamespaceList", "items": [{"metadata": {"name": "a"}}]}'
    (obj,) = load_texts([("ns.json", text)]).objects
    assert (obj.kind, obj.name, obj.namespace) == ("Namespace", "a", None)


def test_namespaced_object_without_namespace_is_in_default() -> None:
    text = b"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}}\n"
    (obj,) = load_texts([("p.yaml", text)]).objects
    assert obj.namespace == "default" and obj.ref == "NetworkPolicy default/p"


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/name:os.system",
        "!!binary aGk=",
    ],
)
def test_no_arbitrary_objects_are_constructed(tag: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    tag = tag.format(marker=marker)
    text = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: {{x: {tag}}}\n"
    try:
        result = load_texts([("evil.yaml", text.encode())])
    except InputError as err:
        assert "evil.yaml" in str(err)
    else:  # !!binary is a safe tag: it loads as bytes, which labels then refuse as data
        (obj,) = result.objects
        assert isinstance(obj.body["metadata"]["labels"]["x"], bytes)
    assert not marker.exists()


def test_duplicate_keys_in_one_map_are_refused() -> None:
    text = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n"
    with pytest.raises(InputError, match=r"line 5, column 3: .*duplicate key 'name'"):
        load_texts([("dup.yaml", text)])


def test_stdin_that_is_not_utf8_is_an_input_error() -> None:
    import io

    stream = io.TextIOWrapper(
        io.BytesIO(b"apiVersion: v1\nkind: Namespace\nmetadata: {name: \xff}\n")
    )
    with pytest.raises(InputError, match=r"<stdin>: not UTF-8 text"):
        load_paths(["-"], stdin=stream)
