"""AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy validation:
what the API server would refuse is refused with one line naming file, object and field."""

from __future__ import annotations

import textwrap

import pytest

from compliance.errors import InputError
from compliance.tiers import ADMIN, ALLOW, BASELINE, DENY, PASS
from tests.helpers import cli_run, cluster_from_yaml


def doc(kind: str, name: str, spec: str, version: str = "v1alpha1") -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return (
        f"apiVersion: policy.networking.k8s.io/{version}\nkind: {kind}\n"
        f"metadata:\n  name: {name}\nspec:\n{body}\n"
    )


GOOD_ANP = """
priority: 10
subject: {namespaces: {matchLabels: {zone: cde}}}
ingress:
- {name: deny-dev, action: Deny, from: [{namespaces: {matchLabels: {zone: dev}}}]}
- {action: Pass, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {a: b}}}}],
   ports: [{portNumber: {protocol: UDP, port: 53}}, {portRange: {start: 80, end: 90}},
           {namedPort: http}]}
egress:
- {action: Allow, to: [{networks: ["10.0.0.0/8", "fd00::/8"]}]}
- {action: Allow, to: [{domainNames: ["*.example.com"]}]}
- {action: Deny, to: [{nodes: {matchLabels: {role: control}}}]}
"""


def test_a_valid_anp_parses_into_the_common_form() -> None:
    cluster = cluster_from_yaml(doc("AdminNetworkPolicy", "g", GOOD_ANP))
    (pol,) = cluster.admin_policies
    assert (pol.id, pol.tier, pol.priority) == ("anp/g", ADMIN, 10)
    assert [r.label for r in pol.ingress] == ["deny-dev", "1"]
    assert [r.action for r in pol.ingress] == [DENY, PASS]
    assert [r.action for r in pol.egress] == [ALLOW, ALLOW, DENY]
    assert pol.egress[0].peers[0].cidrs == ("10.0.0.0/8", "fd00::/8")
    ports = pol.ingress[1].ports
    assert ports is not None and [(p.protocol, p.start, p.end, p.name) for p in ports] == [
        ("UDP", 53, 53, None),
        ("TCP", 80, 90, None),
        (None, None, None, "http"),
    ]
    assert pol.digest and pol.body["kind"] == "AdminNetworkPolicy"


def test_tiers_are_ordered_admin_then_baseline_cnps_then_the_banp() -> None:
    text = "---\n".join(
        [
            doc("BaselineAdminNetworkPolicy", "default", "subject: {namespaces: {}}"),
            doc(
                "ClusterNetworkPolicy",
                "base",
                "tier: Baseline\npriority: 1\nsubject: {namespaces: {}}",
                "v1alpha2",
            ),
            doc("AdminNetworkPolicy", "b", "priority: 5\nsubject: {namespaces: {}}"),
            doc("AdminNetworkPolicy", "a", "priority: 5\nsubject: {namespaces: {}}"),
            doc(
                "ClusterNetworkPolicy",
                "adm",
                "tier: Admin\npriority: 1\nsubject: {namespaces: {}}",
                "v1alpha2",
            ),
        ]
    )
    cluster = cluster_from_yaml(text)
    assert [p.id for p in cluster.admin_policies] == [
        "cnp/adm",
        "anp/a",
        "anp/b",
        "cnp/base",
        "banp/default",
    ]
    assert [p.tier for p in cluster.admin_policies][-2:] == [BASELINE, BASELINE]


BAD = [
    ("priority out of range", "AdminNetworkPolicy", "x", "priority: 1001\nsubject: {namespaces: {}}", "spec.priority"),
    ("priority missing", "AdminNetworkPolicy", "x", "subject: {namespaces: {}}", "spec.priority"),
    ("BANP not named default", "BaselineAdminNetworkPolicy", "x", "subject: {namespaces: {}}", "metadata.name"),
    ("BANP with Pass", "BaselineAdminNetworkPolicy", "default", "subject: {namespaces: {}}\ningress: [{action: Pass, from: [{namespaces: {}}]}]", "spec.ingress[0].action"),
    ("subject with two fields", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}, pods: {podSelector: {}}}", "spec.subject"),
    ("peer with two fields", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\ningress: [{action: Allow, from: [{namespaces: {}, pods: {podSelector: {}}}]}]", "spec.ingress[0].from[0]"),
    ("peer with no field", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\ningress: [{action: Allow, from: [{}]}]", "spec.ingress[0].from[0]"),
    ("ingress networks", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\ningress: [{action: Allow, from: [{networks: [10.0.0.0/8]}]}]", "spec.ingress[0].from[0].networks"),
    ("no peers", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\negress: [{action: Allow}]", "spec.egress[0].to"),
    ("bad action", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\negress: [{action: Accept, to: [{namespaces: {}}]}]", "spec.egress[0].action"),
    ("port with two fields", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\negress: [{action: Allow, to: [{namespaces: {}}], ports: [{portNumber: {port: 1}, namedPort: x}]}]", "spec.egress[0].ports[0]"),
    ("port range reversed", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\negress: [{action: Allow, to: [{namespaces: {}}], ports: [{portRange: {start: 90, end: 80}}]}]", "spec.egress[0].ports[0].portRange.end"),
    ("port zero", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\negress: [{action: Allow, to: [{namespaces: {}}], ports: [{portNumber: {port: 0}}]}]", "spec.egress[0].ports[0].portNumber.port"),
    ("domainNames in a Deny rule", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\negress: [{action: Deny, to: [{domainNames: [a.io]}]}]", "spec.egress[0].to[0].domainNames"),
    ("named port with networks", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\negress: [{action: Allow, to: [{networks: [10.0.0.0/8]}], ports: [{namedPort: http}]}]", "spec.egress[0].to[0]"),
    ("bad CIDR", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\negress: [{action: Allow, to: [{networks: [10.0.0.0]}]}]", "spec.egress[0].to[0].networks[0]"),
    ("101 rules", "AdminNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}\ningress: [" + ", ".join(["{action: Allow, from: [{namespaces: {}}]}"] * 101) + "]", "spec.ingress"),
    ("26 CNP rules", "ClusterNetworkPolicy", "x", "tier: Admin\npriority: 1\nsubject: {namespaces: {}}\ningress: [" + ", ".join(["{action: Accept, from: [{namespaces: {}}]}"] * 26) + "]", "spec.ingress"),
    ("CNP without tier", "ClusterNetworkPolicy", "x", "priority: 1\nsubject: {namespaces: {}}", "spec.tier"),
    ("CNP with Allow", "ClusterNetworkPolicy", "x", "tier: Admin\npriority: 1\nsubject: {namespaces: {}}\ningress: [{action: Allow, from: [{namespaces: {}}]}]", "spec.ingress[0].action"),
    ("CNP protocol without port", "ClusterNetworkPolicy", "x", "tier: Admin\npriority: 1\nsubject: {namespaces: {}}\ningress: [{action: Deny, from: [{namespaces: {}}], protocols: [{tcp: {}}]}]", "spec.ingress[0].protocols[0].tcp.destinationPort"),
    ("CNP with 26 peers", "ClusterNetworkPolicy", "x", "tier: Admin\npriority: 1\nsubject: {namespaces: {}}\ningress: [{action: Deny, from: [" + ", ".join(["{namespaces: {}}"] * 26) + "]}]", "spec.ingress[0].from"),
]  # fmt: skip


@pytest.mark.parametrize(("title", "kind", "name", "spec", "field"), BAD, ids=[b[0] for b in BAD])
def test_invalid_admin_policies_are_refused_naming_the_field(
    title: str, kind: str, name: str, spec: str, field: str
) -> None:
    version = "v1alpha2" if kind == "ClusterNetworkPolicy" else "v1alpha1"
    with pytest.raises(InputError) as err:
        cluster_from_yaml(doc(kind, name, spec, version), source="guard.yaml")
    assert err.value.field == field, str(err.value)
    assert err.value.source == "guard.yaml"
    assert err.value.obj == f"{kind} {name}"


def test_the_cli_refuses_an_invalid_anp_in_one_line_with_exit_2(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "g.yaml"
    path.write_text(doc("AdminNetworkPolicy", "g", "priority: -1\nsubject: {namespaces: {}}"))
    result = cli_run(["flows", str(path)], capsys)
    assert result.code == 2
    assert len(result.err_lines) == 1
    line = result.err_lines[0]
    assert "g.yaml" in line and "AdminNetworkPolicy g" in line and "spec.priority" in line


def test_anps_are_no_longer_skipped_as_not_modelled(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "g.yaml"
    path.write_text(doc("AdminNetworkPolicy", "g", GOOD_ANP))
    result = cli_run(["flows", str(path)], capsys)
    assert result.code == 0
    assert "not modelled" not in result.err


def test_pod_addresses_and_nodes_are_read() -> None:
    text = textwrap.dedent(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: a}
        spec: {containers: [{name: c, image: x}]}
        status: {podIP: 10.0.0.9, podIPs: [{ip: 10.0.0.9}, {ip: "fd00::9"}]}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: n1, labels: {role: control}}
        status:
          addresses:
          - {type: InternalIP, address: 192.168.0.10}
          - {type: Hostname, address: n1}
        """
    )
    cluster = cluster_from_yaml(text)
    assert cluster.workloads[0].pod_ips == ("10.0.0.9", "fd00::9")
    assert cluster.nodes is not None
    assert [(n.name, n.addresses) for n in cluster.nodes] == [("n1", ("192.168.0.10",))]
    assert cluster_from_yaml(text.split("---")[0]).nodes is None


def test_both_generations_in_one_export_are_ordered_and_warned_about() -> None:
    text = "---\n".join(
        [
            doc("AdminNetworkPolicy", "a", "priority: 5\nsubject: {namespaces: {}}"),
            doc(
                "ClusterNetworkPolicy",
                "c",
                "tier: Admin\npriority: 5\nsubject: {namespaces: {}}",
                "v1alpha2",
            ),
        ]
    )
    cluster = cluster_from_yaml(text)
    assert [p.id for p in cluster.admin_policies] == ["anp/a", "cnp/c"]
    assert any("both AdminNetworkPolicy" in w for w in cluster.warnings)
    only_anp = cluster_from_yaml(
        doc("AdminNetworkPolicy", "a", "priority: 5\nsubject: {namespaces: {}}")
    )
    assert not any("both" in w for w in only_anp.warnings)


def test_equal_priorities_whose_rules_overlap_are_named_in_a_warning() -> None:
    from compliance.flows import compute_flows

    ns = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c, image: x}]}\n"
    rule = "ingress: [{action: %s, from: [{namespaces: {}}]}]"
    text = "---\n".join(
        [
            ns,
            doc(
                "AdminNetworkPolicy",
                "zeta",
                "priority: 7\nsubject: {namespaces: {}}\n" + rule % "Deny",
            ),
            doc(
                "AdminNetworkPolicy",
                "alpha",
                "priority: 7\nsubject: {namespaces: {}}\n" + rule % "Allow",
            ),
            doc(
                "AdminNetworkPolicy",
                "other",
                "priority: 8\nsubject: {namespaces: {}}\n" + rule % "Deny",
            ),
        ]
    )
    graph = compute_flows(cluster_from_yaml(text))
    hits = [w for w in graph.warnings if "share priority" in w]
    assert hits == [
        "anp/alpha and anp/zeta share priority 7 and their rules can match the same "
        "connection: the API lets an implementation apply either; evaluated here in name order"
    ]
    # Name order: alpha's Allow decides before zeta's Deny.
    assert any(str(f.src) == "a/p[Pod]" and str(f.dst) == "a/p[Pod]" for f in graph.flows)


def test_domain_names_are_never_resolved_and_say_so() -> None:
    from compliance.flows import compute_flows

    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c, image: x}]}\n"
    spec = (
        "priority: 1\nsubject: {namespaces: {}}\negress:\n"
        "- {action: Allow, to: [{domainNames: ['*.stripe.com']}]}\n"
        "- {action: Deny, to: [{networks: ['0.0.0.0/0']}]}\n"
    )
    graph = compute_flows(cluster_from_yaml(pod + "---\n" + doc("AdminNetworkPolicy", "d", spec)))
    assert any("domainNames *.stripe.com are not resolved" in w for w in graph.warnings)
    outside = [f for f in graph.flows if str(f.src) == "a/p[Pod]" and "0.0.0.0" in str(f.dst)]
    assert outside == []  # the Deny decides every IPv4 address; no name is turned into one
