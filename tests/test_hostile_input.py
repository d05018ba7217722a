"""Hostile and malformed input: every case is an input error naming the file and the
field (exit 2, one line, no traceback), or is accepted with its exact meaning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.errors import InputError
from compliance.load import load_texts, parse_documents
from compliance.model import Cluster, build_cluster
from tests.helpers import scope_from_yaml

SCOPE = """\
cluster: c
zones:
  - name: cde
    role: cde
    frameworks: [pci-dss-4.0.1]
    selectors:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: production}}
"""

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: a, annotations: ANNOTATIONS}
spec: {podSelector: {}, ingress: [{ports: [{port: PORT}]}]}
"""


def export(text: str, source: str = "e.yaml") -> Cluster:
    return build_cluster(load_texts([(source, text.encode())]).objects)


def policy_yaml(port: str = "80", annotations: str = "{}") -> str:
    return POLICY.replace("PORT", port).replace("ANNOTATIONS", annotations)


def policy_json(spec: str, annotations: str = "{}") -> str:
    return (
        '{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", '
        f'"metadata": {{"name": "p", "namespace": "a", "annotations": {annotations}}}, '
        f'"spec": {spec}}}'
    )


def refused(match: str, call: object, *args: object) -> InputError:
    with pytest.raises(InputError) as info:
        call(*args)  # type: ignore[operator]
    message = str(info.value)
    assert "\n" not in message
    assert match in message, message
    return info.value


# --------------------------------------------------------------------------- 4: tags


@pytest.mark.parametrize(
    ("tagged", "tag"),
    [("!!int abc", "!!int"), ("!!float x", "!!float"), ("!!bool maybe", "!!bool")],
)
def test_bad_tagged_value_in_an_export_names_file_and_field(tagged: str, tag: str) -> None:
    error = refused(tag, export, policy_yaml(port=tagged))
    assert error.source == "e.yaml"
    assert error.field == "spec.ingress[0].ports[0].port"
    assert "line 4" in error.detail


@pytest.mark.parametrize("tagged", ["!!int abc", "!!float x", "!!bool maybe"])
def test_bad_tagged_value_in_a_scope_file_names_file_and_field(tagged: str) -> None:
    text = SCOPE + f"parameters: {{max_port_range: {tagged}}}\n"
    error = refused("cannot hold the value", scope_from_yaml, text)
    assert error.source == "scope.yaml" and error.field == "parameters.max_port_range"


def test_valid_tagged_values_still_load() -> None:
    (doc,) = parse_documents("x.yaml", b"a: !!int '42'\nb: !!float '1.5'\nc: !!bool 'true'\n")
    assert doc == {"a": 42, "b": 1.5, "c": True}


# --------------------------------------------------------------------------- 5: huge integers


def test_integer_of_thousands_of_digits_in_yaml() -> None:
    error = refused("integer too large (5000 digits)", export, policy_yaml(port="9" * 5000))
    assert error.field == "spec.ingress[0].ports[0].port"


def test_integer_of_thousands_of_digits_in_json() -> None:
    text = policy_json('{"podSelector": {}, "ingress": [{"ports": [{"port": %s}]}]}' % ("9" * 5000))
    error = refused("integer out of range", export, text, "e.json")
    assert error.field == "spec.ingress[0].ports[0].port"


def test_integer_wider_than_64_bits_anywhere() -> None:
    refused("integer out of range", export, policy_yaml(annotations="{a: b}") + f"x: {2**64}\n")
    big = policy_json('{"podSelector": {}}').replace('"spec"', f'"x": {2**64}, "spec"')
    refused("integer out of range", export, big, "e.json")
    (doc,) = parse_documents("x.json", f'{{"a": {2**63 - 1}, "b": "{"9" * 30}"}}'.encode())
    assert doc == {"a": 2**63 - 1, "b": "9" * 30}  # int64 and long digit strings are fine


def test_huge_integer_in_a_scope_file() -> None:
    text = SCOPE + f"parameters: {{max_port_range: {'9' * 5000}}}\n"
    error = refused("integer too large", scope_from_yaml, text)
    assert error.field == "parameters.max_port_range"


# --------------------------------------------------------------------------- 6: surrogates


def test_lone_surrogate_in_a_scope_string() -> None:
    text = '{"cluster": "c\\ud800", "zones": [{"name": "z", "role": "cde"}]}'
    error = refused("lone surrogate", parse_documents, "s.json", text.encode())
    assert error.field == "cluster" and "\\ud800" in error.detail


def test_lone_surrogate_in_an_export_annotation() -> None:
    text = policy_json('{"podSelector": {}}', annotations='{"note": "x\\udfff"}')
    error = refused("lone surrogate", export, text, "e.json")
    assert error.field == "metadata.annotations.note"


def test_surrogate_pair_escape_is_a_real_character() -> None:
    (doc,) = parse_documents("x.json", b'{"a": "\\ud83d\\ude00"}')
    assert doc == {"a": "\U0001f600"}


# --------------------------------------------------------------------------- 7, 12: merge keys


FLOW = """\
approved_flows:
  - <<: {owner: o, ticket: T-1, justification: j}
    from: {zone: cde}
    to: {cidrs: [10.0.0.0/8]}
    expires: EXPIRES
"""


def test_impossible_date_inside_a_merge_map_is_an_input_error() -> None:
    error = refused(
        "expected a date", scope_from_yaml, SCOPE + FLOW.replace("EXPIRES", "2026-02-30")
    )
    assert error.field == "approved_flows[0].expires"


def test_valid_date_inside_a_merge_map_is_accepted() -> None:
    scope = scope_from_yaml(SCOPE + FLOW.replace("EXPIRES", "2026-03-30"))
    (flow,) = scope.approved_flows
    assert str(flow.expires) == "2026-03-30" and flow.owner == "o" and flow.ticket == "T-1"


WAIVER = """\
waivers:
  - <<: MERGED
    EXTRA
    reason: r
    owner: o
    approved_by: a
    expires: 2026-12-01
"""


def test_merge_key_explicit_key_wins() -> None:
    text = SCOPE + WAIVER.replace("MERGED", "{check: SEG-03}").replace("EXTRA", "check: SEG-02")
    assert scope_from_yaml(text).waivers[0].check == "SEG-02"


def test_merge_key_earlier_map_wins() -> None:
    text = SCOPE + WAIVER.replace("MERGED", "[{check: SEG-03}, {check: SEG-04}]").replace(
        "    EXTRA\n", ""
    )
    assert scope_from_yaml(text).waivers[0].check == "SEG-03"


def test_key_repeated_among_explicit_keys_is_refused_even_with_a_merge() -> None:
    text = SCOPE + WAIVER.replace("MERGED", "{reason: m}").replace(
        "EXTRA", "check: SEG-02\n    check: SEG-03"
    )
    error = refused("duplicate key 'check'", scope_from_yaml, text)
    assert error.field == "waivers[0]"


def test_merge_of_something_other_than_a_map_is_refused() -> None:
    refused("takes a map", parse_documents, "x.yaml", b"a: {<<: [x], b: 1}\n")


def test_duplicate_key_in_json_is_refused() -> None:
    text = policy_json('{"podSelector": {}, "ingress": [], "ingress": [{}]}')
    error = refused("duplicate key 'ingress'", export, text, "e.json")
    assert error.field == "spec"


def test_duplicate_key_in_a_json_scope_file_is_refused() -> None:
    text = '{"cluster": "a", "cluster": "b", "zones": []}'
    refused("duplicate key 'cluster'", parse_documents, "s.json", text.encode())


# --------------------------------------------------------------------------- 8: annotations


@pytest.mark.parametrize(
    ("annotations", "fragment"),
    [
        ("{1: a, b: c}", "annotation key 1 is not text"),
        ("{~: a}", "annotation key None is not text"),
        ("&x {a: *x}", "expected text, got a map"),
    ],
)
def test_annotations_that_json_cannot_hold_are_input_errors(
    annotations: str, fragment: str
) -> None:
    error = refused(fragment, export, policy_yaml(annotations=annotations))
    assert error.obj == "NetworkPolicy a/p" and (error.field or "").startswith(
        "metadata.annotations"
    )


def test_recursive_alias_elsewhere_in_a_policy_names_the_field() -> None:
    text = policy_yaml() + "status: &s {a: [*s]}\n"
    error = refused("contains itself", export, text)
    assert error.field == "status.a[0]"


def test_mixed_key_types_elsewhere_in_a_policy_name_the_field() -> None:
    text = policy_yaml().replace("namespace: a,", "namespace: a, 1: x,")
    error = refused("key 1 is not text", export, text)
    assert error.field == "metadata"


# --------------------------------------------------------------------------- 13: newlines


def test_name_with_a_trailing_newline_is_refused() -> None:
    error = refused(
        "invalid name", export, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: "app\\n"}\n'
    )
    assert error.field == "metadata.name"


@pytest.mark.parametrize(
    "labels", ['{app: "web\\n"}', '{"app\\n": web}', '{"example.com\\n/app": web}']
)
def test_label_with_a_trailing_newline_is_refused(labels: str) -> None:
    text = f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: a, labels: {labels}}}\n"
    refused("invalid label", export, text)


def test_port_name_with_a_trailing_newline_is_refused() -> None:
    refused("invalid port name", export, policy_yaml(port='"http\\n"'))


def test_zone_name_with_a_trailing_newline_is_refused() -> None:
    error = refused("zone name", scope_from_yaml, SCOPE.replace("name: cde", 'name: "cde\\n"'))
    assert error.field == "zones[0].name"


def test_waiver_check_with_a_trailing_newline_is_refused() -> None:
    text = SCOPE + WAIVER.replace("MERGED", "{}").replace("EXTRA", 'check: "SEG-02\\n"')
    error = refused("check ID", scope_from_yaml, text)
    assert error.field == "waivers[0].check"


def test_every_schema_pattern_refuses_a_trailing_newline() -> None:
    """jsonschema searches with Python's `re`, whose `$` also matches before a final
    newline; every pattern must hold in both Python and ECMA regex."""
    import re

    schemas = Path(__file__).resolve().parent.parent / "compliance" / "schemas"
    patterns: list[str] = []

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    patterns.append(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for path in sorted(schemas.glob("*.json")):
        collect(json.loads(path.read_text()))
    assert len(patterns) >= 15
    for pattern in patterns:
        assert pattern.endswith("(?!\\n)$"), pattern
    check_id = next(p for p in patterns if p.startswith("^SEG-"))
    assert re.search(check_id, "SEG-02") and not re.search(check_id, "SEG-02\n")


# --------------------------------------------------------------------------- 14: float ports


@pytest.mark.parametrize("entry", ["{port: 80.0}", "{port: 80, endPort: 90.0}"])
def test_whole_number_float_ports_in_an_export_are_refused(entry: str) -> None:
    text = POLICY.replace("{port: PORT}", entry).replace("ANNOTATIONS", "{}")
    refused("must be a number from 1 to 65535", export, text)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("{service: x, protocol: TCP, port: 80.0}", "parameters.insecure_ports[0].port"),
        (
            "{service: x, protocol: TCP, port: 80, endPort: 90.0}",
            "parameters.insecure_ports[0].endPort",
        ),
    ],
)
def test_whole_number_float_ports_in_a_scope_file_are_refused(entry: str, field: str) -> None:
    text = SCOPE + f"parameters: {{insecure_ports: [{entry}]}}\n"
    error = refused("expected a whole number", scope_from_yaml, text)
    assert error.field == field


def test_whole_number_float_port_in_an_approved_flow_is_refused() -> None:
    flow = FLOW.replace("EXPIRES", "2026-03-30") + "    ports: [{protocol: TCP, port: 443.0}]\n"
    error = refused("expected a whole number", scope_from_yaml, SCOPE + flow)
    assert error.field == "approved_flows[0].ports[0].port"


# --------------------------------------------------------------------------- 15: stdin


def test_yaml_flow_map_on_standard_input_is_yaml() -> None:
    text = b"{apiVersion: v1, kind: Namespace, metadata: {name: a}}\n"
    (obj,) = load_texts([("<stdin>", text)]).objects
    assert (obj.kind, obj.name) == ("Namespace", "a")


def test_json_on_standard_input_keeps_json_rules() -> None:
    text = b'{"apiVersion": "v1", "apiVersion": "v1", "kind": "Namespace"}'
    refused("duplicate key 'apiVersion'", load_texts, [("<stdin>", text)])


def test_invalid_flow_map_on_standard_input_is_a_yaml_error() -> None:
    refused("invalid YAML", load_texts, [("<stdin>", b"{apiVersion: v1, kind: [}\n")])


# --------------------------------------------------------------------------- end to end


HOSTILE_EXPORTS = {
    "tag.yaml": (policy_yaml(port="!!bool maybe"), "spec.ingress[0].ports[0].port"),
    "digits.yaml": (policy_yaml(port="9" * 5000), "integer too large"),
    "digits.json": (
        policy_json('{"podSelector": {}, "x": %s}' % ("9" * 5000)),
        "spec.x: integer out of range",
    ),
    "surrogate.json": (
        policy_json('{"podSelector": {}}', annotations='{"a": "\\ud800"}'),
        "metadata.annotations.a",
    ),
    "keys.yaml": (policy_yaml(annotations="{1: a, b: c}"), "annotation key 1 is not text"),
    "alias.yaml": (policy_yaml(annotations="&x {a: *x}"), "metadata.annotations.a"),
    "dup.json": (
        policy_json('{"podSelector": {}, "ingress": [], "ingress": [{}]}'),
        "spec: found duplicate key 'ingress'",
    ),
    "newline.yaml": (
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: "app\\n"}\n',
        "invalid name 'app\\n'",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_EXPORTS))
def test_hostile_export_is_one_line_and_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from compliance.cli import cli, run

    text, fragment = HOSTILE_EXPORTS[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    code = run(cli.main, ["flows", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}: "), err
    assert fragment in err and "Traceback" not in err
