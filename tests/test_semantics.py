"""NetworkPolicy semantics, one or more hand-checked cases per rule in DESIGN.md.

Each case is an inline cluster and a list of (src, dst, protocol, port, allowed)
expectations; src/dst are `namespace/name` or an IP address outside the cluster.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers import allowed, flows_from_yaml, namespace, pod, policy

WEB = pod("web", "prod", {"app": "web"}, "http:80/TCP,dns:53/UDP")
DB = pod("db", "prod", {"app": "db"}, "pg:5432/TCP")
CLIENT = pod("client", "prod", {"app": "client"})
OTHER = pod("other", "dev", {"app": "client"})
NS = namespace("prod", {"team": "a"}) + namespace("dev", {"team": "b"})
BASE = NS + WEB + DB + CLIENT + OTHER

CASES = [
    (
        "no policy allows everything, both ways and outside",
        BASE,
        [
            ("prod/client", "prod/db", "TCP", 1, True),
            ("dev/other", "prod/db", "SCTP", 9999, True),
            ("prod/db", "8.8.8.8", "UDP", 53, True),
            ("8.8.8.8", "prod/web", "TCP", 65535, True),
        ],
    ),
    (
        "a policy with Ingress and no rules isolates ingress only",
        BASE
        + policy("deny", "prod", "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Ingress]"),
        [
            ("prod/client", "prod/db", "TCP", 5432, False),
            ("8.8.8.8", "prod/db", "TCP", 5432, False),
            ("prod/db", "prod/web", "TCP", 80, True),
            ("prod/db", "8.8.8.8", "TCP", 443, True),
        ],
    ),
    (
        "policyTypes omitted: Ingress always, Egress only with egress rules",
        BASE
        + policy("a", "prod", "podSelector: {matchLabels: {app: db}}")
        + policy(
            "b",
            "prod",
            """
            podSelector: {matchLabels: {app: web}}
            egress:
            - to: [{podSelector: {matchLabels: {app: db}}}]
            """,
        ),
        [
            ("prod/client", "prod/db", "TCP", 5432, False),  # a: ingress isolated
            ("prod/db", "prod/client", "TCP", 1, True),  # a: egress untouched
            ("prod/client", "prod/web", "TCP", 80, False),  # b: Ingress implied, no rules
            ("prod/web", "prod/client", "TCP", 1, False),  # b: Egress implied by its rules
            ("prod/web", "prod/db", "TCP", 5432, False),  # db ingress isolated by a
        ],
    ),
    (
        "policyTypes Egress only leaves ingress open",
        BASE + policy("e", "prod", "podSelector: {}\npolicyTypes: [Egress]"),
        [
            ("prod/web", "prod/db", "TCP", 5432, False),
            ("dev/other", "prod/db", "TCP", 5432, True),
            ("8.8.8.8", "prod/web", "TCP", 80, True),
            ("prod/web", "8.8.8.8", "TCP", 80, False),
        ],
    ),
    (
        "rules of all selecting policies are OR-ed",
        BASE
        + policy(
            "one",
            "prod",
            """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from: [{podSelector: {matchLabels: {app: web}}}]
              ports: [{port: 5432}]
            """,
        )
        + policy(
            "two",
            "prod",
            """
            podSelector: {}
            ingress:
            - from: [{podSelector: {matchLabels: {app: client}}}]
              ports: [{port: 9000}]
            """,
        ),
        [
            ("prod/web", "prod/db", "TCP", 5432, True),
            ("prod/client", "prod/db", "TCP", 9000, True),
            ("prod/client", "prod/db", "TCP", 5432, False),
            ("prod/web", "prod/db", "TCP", 9000, False),
        ],
    ),
    (
        "a rule with from omitted matches every peer, external included; ports omitted all ports",
        BASE + policy("all", "prod", "podSelector: {matchLabels: {app: db}}\ningress:\n- {}"),
        [
            ("dev/other", "prod/db", "SCTP", 7, True),
            ("203.0.113.9", "prod/db", "UDP", 1, True),
            ("2001:db8::1", "prod/db", "TCP", 65535, True),
        ],
    ),
    (
        "an empty from list is the same as an omitted one",
        BASE
        + policy(
            "all",
            "prod",
            "podSelector: {matchLabels: {app: db}}\ningress:\n- from: []\n  ports: [{port: 5432}]",
        ),
        [
            ("dev/other", "prod/db", "TCP", 5432, True),
            ("203.0.113.9", "prod/db", "TCP", 5432, True),
            ("203.0.113.9", "prod/db", "TCP", 5433, False),
        ],
    ),
    (
        "podSelector alone selects pods of the policy's namespace only",
        BASE
        + policy(
            "p",
            "prod",
            "podSelector: {matchLabels: {app: db}}\ningress:\n- from: [{podSelector: {matchLabels: {app: client}}}]",
        ),
        [
            ("prod/client", "prod/db", "TCP", 5432, True),
            ("dev/other", "prod/db", "TCP", 5432, False),
        ],
    ),
    (
        "namespaceSelector alone selects every pod of matching namespaces, and no address",
        BASE
        + policy(
            "p",
            "prod",
            "podSelector: {matchLabels: {app: db}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {team: b}}}]",
        ),
        [
            ("dev/other", "prod/db", "TCP", 5432, True),
            ("prod/client", "prod/db", "TCP", 5432, False),
            ("8.8.8.8", "prod/db", "TCP", 5432, False),
        ],
    ),
    (
        "namespaceSelector {} selects every pod in every namespace but nothing outside",
        BASE
        + policy(
            "p",
            "prod",
            "podSelector: {matchLabels: {app: db}}\ningress:\n- from: [{namespaceSelector: {}}]",
        ),
        [
            ("dev/other", "prod/db", "TCP", 5432, True),
            ("prod/web", "prod/db", "TCP", 5432, True),
            ("10.0.0.1", "prod/db", "TCP", 5432, False),
        ],
    ),
    (
        "both selectors in one peer are AND-ed",
        BASE
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - namespaceSelector: {matchLabels: {team: b}}
                podSelector: {matchLabels: {app: client}}
            """,
        ),
        [
            ("dev/other", "prod/db", "TCP", 5432, True),
            ("prod/client", "prod/db", "TCP", 5432, False),
        ],
    ),
    (
        "separate peers are OR-ed",
        BASE
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - namespaceSelector: {matchLabels: {team: b}}
              - podSelector: {matchLabels: {app: client}}
            """,
        ),
        [
            ("dev/other", "prod/db", "TCP", 5432, True),
            ("prod/client", "prod/db", "TCP", 5432, True),
            ("prod/web", "prod/db", "TCP", 5432, False),
        ],
    ),
    (
        "ipBlock is the cidr minus its excepts, IPv4 and IPv6, and never matches a pod",
        BASE
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.3.4/32]}
              - ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}
              ports: [{port: 5432}]
            """,
        ),
        [
            ("10.0.0.1", "prod/db", "TCP", 5432, True),
            ("10.1.2.3", "prod/db", "TCP", 5432, False),
            ("10.2.3.4", "prod/db", "TCP", 5432, False),
            ("10.2.3.5", "prod/db", "TCP", 5432, True),
            ("11.0.0.1", "prod/db", "TCP", 5432, False),
            ("2001:db8::1", "prod/db", "TCP", 5432, True),
            ("2001:db8:1::1", "prod/db", "TCP", 5432, False),
            ("prod/client", "prod/db", "TCP", 5432, False),
        ],
    ),
    (
        "egress to 0.0.0.0/0 reaches outside but no pod",
        BASE
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {app: web}}
            policyTypes: [Egress]
            egress:
            - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
            """,
        ),
        [
            ("prod/web", "1.1.1.1", "TCP", 443, True),
            ("prod/web", "2001:db8::1", "TCP", 443, False),
            ("prod/web", "prod/db", "TCP", 5432, False),
        ],
    ),
    (
        "matchExpressions: In, NotIn, Exists, DoesNotExist; NotIn and DoesNotExist match a missing key",
        NS
        + pod("a", "prod", {"app": "x", "tier": "f"})
        + pod("b", "prod", {"app": "y"})
        + pod("c", "prod", {"app": "z", "tier": "b"})
        + pod("t", "prod", {"role": "target"})
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {role: target}}
            ingress:
            - from:
              - podSelector: {matchExpressions: [{key: app, operator: In, values: [x, z]}, {key: tier, operator: NotIn, values: [b]}]}
              ports: [{port: 1}]
            - from:
              - podSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}, {key: app, operator: Exists}]}
              ports: [{port: 2}]
            - from:
              - podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [f]}]}
              ports: [{port: 3}]
            """,
        ),
        [
            ("prod/a", "prod/t", "TCP", 1, True),
            ("prod/c", "prod/t", "TCP", 1, False),
            ("prod/b", "prod/t", "TCP", 1, False),
            ("prod/b", "prod/t", "TCP", 2, True),
            ("prod/a", "prod/t", "TCP", 2, False),
            ("prod/b", "prod/t", "TCP", 3, True),
            ("prod/c", "prod/t", "TCP", 3, True),
            ("prod/a", "prod/t", "TCP", 3, False),
        ],
    ),
    (
        "matchLabels and matchExpressions together are AND-ed",
        NS
        + pod("a", "prod", {"app": "x", "tier": "f"})
        + pod("b", "prod", {"app": "x"})
        + pod("t", "prod", {"role": "target"})
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {role: target}}
            ingress:
            - from: [{podSelector: {matchLabels: {app: x}, matchExpressions: [{key: tier, operator: Exists}]}}]
            """,
        ),
        [("prod/a", "prod/t", "TCP", 80, True), ("prod/b", "prod/t", "TCP", 80, False)],
    ),
    (
        "protocol defaults to TCP; UDP and SCTP are their own",
        BASE
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - ports: [{port: 5432}, {protocol: UDP, port: 53}, {protocol: SCTP, port: 9}]
            """,
        ),
        [
            ("prod/web", "prod/db", "TCP", 5432, True),
            ("prod/web", "prod/db", "UDP", 5432, False),
            ("prod/web", "prod/db", "UDP", 53, True),
            ("prod/web", "prod/db", "TCP", 53, False),
            ("prod/web", "prod/db", "SCTP", 9, True),
        ],
    ),
    (
        "a protocol with no port allows every port of that protocol",
        BASE
        + policy(
            "p",
            "prod",
            "podSelector: {matchLabels: {app: db}}\ningress:\n- ports: [{protocol: UDP}]",
        ),
        [
            ("prod/web", "prod/db", "UDP", 1, True),
            ("prod/web", "prod/db", "UDP", 65535, True),
            ("prod/web", "prod/db", "TCP", 5432, False),
        ],
    ),
    (
        "endPort gives an inclusive range",
        BASE
        + policy(
            "p",
            "prod",
            "podSelector: {matchLabels: {app: db}}\ningress:\n- ports: [{port: 32000, endPort: 32768}]",
        ),
        [
            ("prod/web", "prod/db", "TCP", 31999, False),
            ("prod/web", "prod/db", "TCP", 32000, True),
            ("prod/web", "prod/db", "TCP", 32768, True),
            ("prod/web", "prod/db", "TCP", 32769, False),
        ],
    ),
    (
        "ingress named port resolves against the selected pod, matching name and protocol",
        BASE
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {app: web}}
            ingress:
            - ports: [{port: http}, {port: dns, protocol: UDP}, {port: pg}]
            """,
        ),
        [
            ("prod/client", "prod/web", "TCP", 80, True),
            ("prod/client", "prod/web", "UDP", 53, True),
            ("prod/client", "prod/web", "TCP", 53, False),
            ("prod/client", "prod/web", "TCP", 5432, False),  # pg is db's port, not web's
            ("8.8.8.8", "prod/web", "TCP", 80, True),  # ingress names resolve on the pod itself
        ],
    ),
    (
        "a named port with the wrong protocol matches nothing",
        BASE
        + policy(
            "p", "prod", "podSelector: {matchLabels: {app: web}}\ningress:\n- ports: [{port: dns}]"
        ),
        [
            ("prod/client", "prod/web", "UDP", 53, False),
            ("prod/client", "prod/web", "TCP", 53, False),
        ],
    ),
    (
        "egress named port resolves against the peer pod and never matches an ipBlock",
        BASE
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {app: client}}
            policyTypes: [Egress]
            egress:
            - ports: [{port: pg}, {port: http}]
            """,
        ),
        [
            ("prod/client", "prod/db", "TCP", 5432, True),
            ("prod/client", "prod/web", "TCP", 80, True),
            ("prod/client", "prod/db", "TCP", 80, False),
            ("prod/client", "prod/web", "TCP", 5432, False),
            ("prod/client", "8.8.8.8", "TCP", 80, False),
            ("prod/client", "8.8.8.8", "TCP", 5432, False),
        ],
    ),
    (
        "a flow needs the source's egress and the destination's ingress",
        BASE
        + policy(
            "eg",
            "prod",
            """
            podSelector: {matchLabels: {app: web}}
            policyTypes: [Egress]
            egress:
            - to: [{podSelector: {matchLabels: {app: db}}}]
              ports: [{port: 5432}, {port: 6000}]
            """,
        )
        + policy(
            "in",
            "prod",
            """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from: [{podSelector: {matchLabels: {app: web}}}]
              ports: [{port: 5432}, {port: 7000}]
            """,
        ),
        [
            ("prod/web", "prod/db", "TCP", 5432, True),
            ("prod/web", "prod/db", "TCP", 6000, False),
            ("prod/web", "prod/db", "TCP", 7000, False),
        ],
    ),
    (
        "a policy without a namespace lives in default",
        namespace("default")
        + pod("a", "default", {"app": "a"})
        + pod("b", "default", {"app": "b"})
        + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
        "spec: {podSelector: {matchLabels: {app: b}}}\n",
        [("default/a", "default/b", "TCP", 80, False), ("default/b", "default/a", "TCP", 80, True)],
    ),
    (
        "namespaces get kubernetes.io/metadata.name, also without a Namespace object",
        namespace("prod")
        + pod("x", "prod", {"app": "x"})
        + pod("y", "ghost", {"app": "y"})
        + pod("t", "prod", {"role": "t"})
        + policy(
            "p",
            "prod",
            """
            podSelector: {matchLabels: {role: t}}
            ingress:
            - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ghost}}}]
            """,
        ),
        [("ghost/y", "prod/t", "TCP", 1, True), ("prod/x", "prod/t", "TCP", 1, False)],
    ),
]


@pytest.mark.parametrize(("title", "docs", "checks"), CASES, ids=[c[0] for c in CASES])
def test_semantics(title: str, docs: str, checks: list[tuple[str, str, str, int, bool]]) -> None:
    graph = flows_from_yaml(docs)
    wrong = [
        (src, dst, proto, port, expected)
        for src, dst, proto, port, expected in checks
        if allowed(graph, src, dst, proto, port) is not expected
    ]
    assert not wrong, (
        f"{title}: expected (src, dst, protocol, port, allowed) but got the opposite: {wrong}"
    )


# =========================================================================== admin tiers
# One or more rows per semantics bullet of the cluster-wide guardrails issue: ANP, BANP,
# the order of the tiers, ClusterNetworkPolicy, and host-network pods.


def anp(name: str, spec: str, kind: str = "AdminNetworkPolicy", version: str = "v1alpha1") -> str:
    """A cluster-wide policy document; `spec` is YAML indented as the body of `spec:`."""
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return (
        f"---\napiVersion: policy.networking.k8s.io/{version}\nkind: {kind}\n"
        f"metadata:\n  name: {name}\nspec:\n{body}\n"
    )


def banp(spec: str) -> str:
    return anp("default", spec, "BaselineAdminNetworkPolicy")


def cnp(name: str, spec: str) -> str:
    return anp(name, spec, "ClusterNetworkPolicy", "v1alpha2")


def pod_with_ip(name: str, ns: str, ip: str) -> str:
    """A running Pod whose address the export gives (`status.podIPs`)."""
    return pod(name, ns, {"app": name}) + f"status:\n  podIPs:\n  - ip: {ip}\n"


NODES = (
    "---\napiVersion: v1\nkind: Node\nmetadata: {name: cp-1, labels: {role: control}}\n"
    "status: {addresses: [{type: InternalIP, address: 192.168.10.1}]}\n"
    "---\napiVersion: v1\nkind: Node\nmetadata: {name: w-1, labels: {role: worker}}\n"
    "status: {addresses: [{type: InternalIP, address: 192.168.10.2}]}\n"
)


def host_pod_on(name: str, ns: str, node: str | None) -> str:
    """A host-network Pod scheduled on `node` (`spec.nodeName`; None: not given)."""
    text = pod(name, ns, {"app": name}, host_network=True)
    return text if node is None else text.replace("spec:\n", f"spec:\n  nodeName: {node}\n")


ZONES = (
    namespace("cde", {"zone": "cde"})
    + namespace("dev", {"zone": "dev"})
    + namespace("app", {"zone": "app"})
    + pod("pay", "cde", {"app": "pay"}, "pg:5432/TCP,http:8080/TCP")
    + pod("tool", "dev", {"app": "tool"})
    + pod("web", "app", {"app": "web"}, "http:80/TCP")
    + pod("node-agent", "app", {"app": "agent"}, host_network=True)
)
DENY_DEV = anp(
    "cde-guardrail",
    """
    priority: 10
    subject: {namespaces: {matchLabels: {zone: cde}}}
    ingress:
    - name: deny-dev
      action: Deny
      from: [{namespaces: {matchLabels: {zone: dev}}}]
    """,
)
ALLOW_ALL_NP = policy(
    "open", "cde", "podSelector: {}\ningress: [{}]\negress: [{}]\npolicyTypes: [Ingress, Egress]"
)
DENY_ALL_NP = policy("closed", "cde", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
BANP_DENY = banp(
    """
    subject: {namespaces: {}}
    ingress:
    - {name: allow-app, action: Allow, from: [{namespaces: {matchLabels: {zone: app}}}]}
    - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
    """
)

ADMIN_CASES = [
    (
        "ANP Deny: denied, and no NetworkPolicy can allow it",
        ZONES + DENY_DEV + ALLOW_ALL_NP,
        [
            ("dev/tool", "cde/pay", "TCP", 5432, False),
            ("app/web", "cde/pay", "TCP", 5432, True),
            ("8.8.8.8", "cde/pay", "TCP", 5432, True),
        ],
    ),
    (
        "ANP Allow: allowed, and no NetworkPolicy can deny it",
        ZONES
        + DENY_ALL_NP
        + anp(
            "let-app",
            """
            priority: 5
            subject: {pods: {namespaceSelector: {matchLabels: {zone: cde}},
                             podSelector: {matchLabels: {app: pay}}}}
            ingress:
            - action: Allow
              from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}]
              ports: [{portNumber: {port: 5432}}]
            """,
        ),
        [
            ("app/web", "cde/pay", "TCP", 5432, True),
            ("app/web", "cde/pay", "TCP", 8080, False),  # NetworkPolicy decides the rest
            ("dev/tool", "cde/pay", "TCP", 5432, False),
        ],
    ),
    (
        "rules by priority, then rule order: the first match decides",
        ZONES
        + anp(
            "late-allow",
            """
            priority: 20
            subject: {namespaces: {matchLabels: {zone: cde}}}
            ingress: [{action: Allow, from: [{namespaces: {}}]}]
            """,
        )
        + anp(
            "early",
            """
            priority: 3
            subject: {namespaces: {matchLabels: {zone: cde}}}
            ingress:
            - {action: Allow, from: [{namespaces: {matchLabels: {zone: dev}}}],
               ports: [{portRange: {start: 8000, end: 8100}}]}
            - {action: Deny, from: [{namespaces: {matchLabels: {zone: dev}}}]}
            """,
        ),
        [
            ("dev/tool", "cde/pay", "TCP", 8080, True),
            ("dev/tool", "cde/pay", "TCP", 5432, False),
            ("dev/tool", "cde/pay", "UDP", 8080, False),
            ("app/web", "cde/pay", "TCP", 5432, True),
        ],
    ),
    (
        "Pass skips the remaining ANP rules and lets NetworkPolicy decide",
        ZONES
        + DENY_ALL_NP
        + anp(
            "delegate",
            """
            priority: 1
            subject: {namespaces: {matchLabels: {zone: cde}}}
            ingress: [{action: Pass, from: [{namespaces: {matchLabels: {zone: app}}}]}]
            """,
        )
        + anp(
            "allow-all",
            """
            priority: 2
            subject: {namespaces: {matchLabels: {zone: cde}}}
            ingress: [{action: Allow, from: [{namespaces: {}}]}]
            """,
        ),
        [
            ("app/web", "cde/pay", "TCP", 5432, False),  # passed, the NetworkPolicy denies
            ("dev/tool", "cde/pay", "TCP", 5432, True),  # not passed: the later Allow
        ],
    ),
    (
        "Pass with no NetworkPolicy selecting the pod goes to the BANP",
        ZONES
        + BANP_DENY
        + anp(
            "delegate",
            """
            priority: 1
            subject: {namespaces: {}}
            ingress: [{action: Pass, from: [{namespaces: {}}]}]
            """,
        ),
        [
            ("app/web", "cde/pay", "TCP", 5432, True),
            ("dev/tool", "cde/pay", "TCP", 5432, False),
        ],
    ),
    (
        "NetworkPolicy decides where it selects the pod: the BANP is not reached",
        ZONES + BANP_DENY + ALLOW_ALL_NP,
        [
            ("dev/tool", "cde/pay", "TCP", 5432, True),  # NP allows, BANP never consulted
            ("dev/tool", "app/web", "TCP", 80, False),  # no NP in app: BANP denies
            ("app/web", "dev/tool", "TCP", 1, True),  # BANP first match: allow-app
        ],
    ),
    (
        "BANP: first matching rule; unmatched traffic is allowed",
        ZONES
        + banp(
            """
            subject: {namespaces: {matchLabels: {zone: cde}}}
            egress:
            - {action: Deny, to: [{networks: ["8.8.8.0/24"]}], ports: [{portNumber: {protocol: UDP, port: 53}}]}
            """
        ),
        [
            ("cde/pay", "8.8.8.8", "UDP", 53, False),
            ("cde/pay", "8.8.8.8", "TCP", 53, True),
            ("cde/pay", "9.9.9.9", "UDP", 53, True),
            ("dev/tool", "8.8.8.8", "UDP", 53, True),
        ],
    ),
    (
        "host-network pods are never subjects, nor namespaces or pods peers, of admin policies",
        ZONES
        + banp(
            """
            subject: {namespaces: {}}
            ingress: [{action: Deny, from: [{namespaces: {}}]}]
            egress: [{action: Deny, to: [{namespaces: {}}]}]
            """
        ),
        [
            ("app/node-agent", "app/node-agent", "TCP", 1, True),
            ("app/node-agent", "cde/pay", "TCP", 5432, True),  # not a peer: BANP unmatched
            ("cde/pay", "app/node-agent", "TCP", 1, True),
            ("cde/pay", "app/web", "TCP", 80, False),
        ],
    ),
    (
        "a networks peer matches a host-network pod by its node's address: certainly when "
        "it covers every address, in both readings when the address is unknown",
        ZONES
        + anp(
            "no-internet",
            """
            priority: 5
            subject: {namespaces: {matchLabels: {zone: cde}}}
            egress: [{action: Deny, to: [{networks: ["0.0.0.0/0", "::/0"]}]}]
            """,
        )
        + anp(
            "no-ten",
            """
            priority: 6
            subject: {namespaces: {matchLabels: {zone: dev}}}
            egress: [{action: Deny, to: [{networks: ["10.0.0.0/8"]}]}]
            """,
        ),
        [
            ("cde/pay", "app/node-agent", "TCP", 1, False),
            ("cde/pay", "app/web", "TCP", 80, False),
            ("dev/tool", "app/node-agent", "TCP", 1, True),  # address unknown: either reading
            ("dev/tool", "10.1.1.1", "TCP", 1, False),
        ],
    ),
    (
        "egress networks also match cluster pods whose addresses are inside",
        namespace("a")
        + namespace("b")
        + pod_with_ip("x", "a", "10.1.0.5")
        + pod_with_ip("y", "b", "10.2.0.7")
        + anp(
            "no-10-1",
            """
            priority: 1
            subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: b}}}
            egress: [{action: Deny, to: [{networks: ["10.1.0.0/16"]}]}]
            """,
        ),
        [
            ("b/y", "a/x", "TCP", 80, False),
            ("b/y", "10.1.9.9", "TCP", 80, False),
            ("b/y", "10.2.0.1", "TCP", 80, True),
            ("a/x", "b/y", "TCP", 80, True),
        ],
    ),
    (
        "networks with a pod of unknown address: allowed when either reading allows",
        namespace("a")
        + namespace("b")
        + pod("x", "a", {"app": "x"})
        + pod_with_ip("y", "b", "10.2.0.7")
        + anp(
            "no-10",
            """
            priority: 1
            subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: b}}}
            egress: [{action: Deny, to: [{networks: ["10.0.0.0/8"]}]}]
            """,
        ),
        [("b/y", "a/x", "TCP", 80, True), ("b/y", "10.9.9.9", "TCP", 80, False)],
    ),
    (
        "ClusterNetworkPolicy: Admin tier Accept/Deny before NetworkPolicy, protocols",
        ZONES
        + DENY_ALL_NP
        + cnp(
            "cnp-admin",
            """
            tier: Admin
            priority: 4
            subject: {namespaces: {matchLabels: {zone: cde}}}
            ingress:
            - {action: Accept, from: [{namespaces: {matchLabels: {zone: app}}}],
               protocols: [{tcp: {destinationPort: {number: 5432}}},
                           {udp: {destinationPort: {range: {start: 5000, end: 5010}}}}]}
            """,
        ),
        [
            ("app/web", "cde/pay", "TCP", 5432, True),
            ("app/web", "cde/pay", "UDP", 5005, True),
            ("app/web", "cde/pay", "UDP", 5432, False),
            ("dev/tool", "cde/pay", "TCP", 5432, False),
        ],
    ),
    (
        "ClusterNetworkPolicy Baseline: Pass skips the rest of the baseline (then allowed)",
        ZONES
        + cnp(
            "base-pass",
            """
            tier: Baseline
            priority: 1
            subject: {namespaces: {}}
            ingress: [{action: Pass, from: [{namespaces: {matchLabels: {zone: app}}}]}]
            """,
        )
        + cnp(
            "base-deny",
            """
            tier: Baseline
            priority: 2
            subject: {namespaces: {}}
            ingress: [{action: Deny, from: [{namespaces: {}}]}]
            """,
        ),
        [("app/web", "cde/pay", "TCP", 5432, True), ("dev/tool", "cde/pay", "TCP", 5432, False)],
    ),
    (
        "Baseline-tier CNPs are evaluated before the BANP",
        ZONES
        + BANP_DENY
        + cnp(
            "base-allow-dev",
            """
            tier: Baseline
            priority: 900
            subject: {namespaces: {}}
            ingress: [{action: Accept, from: [{namespaces: {matchLabels: {zone: dev}}}]}]
            """,
        ),
        [("dev/tool", "cde/pay", "TCP", 5432, True), ("cde/pay", "dev/tool", "TCP", 1, False)],
    ),
    (
        "egress nodes peers match the selected Nodes' addresses",
        ZONES
        + NODES
        + anp(
            "no-control-plane",
            """
            priority: 1
            subject: {namespaces: {}}
            egress: [{action: Deny, to: [{nodes: {matchLabels: {role: control}}}]}]
            """,
        ),
        [
            ("cde/pay", "192.168.10.1", "TCP", 6443, False),
            ("cde/pay", "192.168.10.2", "TCP", 10250, True),
            ("cde/pay", "8.8.8.8", "TCP", 443, True),
        ],
    ),
    (
        "without Node objects, a nodes Allow rule reads as every outside address",
        ZONES
        + policy("closed", "cde", "podSelector: {}\npolicyTypes: [Egress]")
        + anp(
            "to-nodes",
            """
            priority: 1
            subject: {namespaces: {matchLabels: {zone: cde}}}
            egress: [{action: Allow, to: [{nodes: {}}], ports: [{portNumber: {port: 10250}}]}]
            """,
        ),
        [
            ("cde/pay", "192.168.10.2", "TCP", 10250, True),
            ("cde/pay", "192.168.10.2", "TCP", 443, False),
            ("cde/pay", "app/web", "TCP", 10250, False),
            # A host-network pod's traffic carries its node's address: read as every node.
            ("cde/pay", "app/node-agent", "TCP", 10250, True),
            ("cde/pay", "app/node-agent", "TCP", 443, False),
        ],
    ),
    (
        "without Node objects, a host-network pod may be behind a nodes Pass: both readings, "
        "never a false denial",
        ZONES
        + anp(
            "delegate-nodes",
            """
            priority: 1
            subject: {namespaces: {matchLabels: {zone: cde}}}
            egress:
            - {action: Pass, to: [{nodes: {}}]}
            - {action: Deny, to: [{namespaces: {}}, {networks: [0.0.0.0/0, "::/0"]}]}
            """,
        ),
        [
            # Passed, NetworkPolicy (none) allows; not passed, the Deny denies: allowed.
            ("cde/pay", "app/node-agent", "TCP", 443, True),
            ("cde/pay", "app/web", "TCP", 443, False),
        ],
    ),
    (
        "a nodes peer matches the host-network pods on the Nodes it selects (spec.nodeName)",
        ZONES
        + NODES
        + host_pod_on("on-cp", "app", "cp-1")
        + host_pod_on("on-worker", "app", "w-1")
        + host_pod_on("unplaced", "app", None)
        + anp(
            "no-control-plane",
            """
            priority: 1
            subject: {namespaces: {}}
            egress: [{action: Deny, to: [{nodes: {matchLabels: {role: control}}}]}]
            """,
        ),
        [
            ("cde/pay", "app/on-cp", "TCP", 6443, False),
            ("cde/pay", "192.168.10.1", "TCP", 6443, False),
            ("cde/pay", "app/on-worker", "TCP", 6443, True),
            ("cde/pay", "app/unplaced", "TCP", 6443, True),  # Node unknown: either reading
            ("cde/pay", "app/web", "TCP", 6443, True),  # not host-network: never a nodes peer
        ],
    ),
    (
        "a nodes Allow admits the host-network pods on the selected Nodes past NetworkPolicy",
        ZONES
        + NODES
        + DENY_ALL_NP
        + host_pod_on("on-cp", "app", "cp-1")
        + host_pod_on("on-worker", "app", "w-1")
        + anp(
            "kubelet",
            """
            priority: 1
            subject: {namespaces: {matchLabels: {zone: cde}}}
            egress:
            - action: Allow
              to: [{nodes: {matchLabels: {role: worker}}}]
              ports: [{portNumber: {port: 10250}}]
            """,
        ),
        [
            ("cde/pay", "app/on-worker", "TCP", 10250, True),
            ("cde/pay", "192.168.10.2", "TCP", 10250, True),
            ("cde/pay", "app/on-worker", "TCP", 443, False),
            ("cde/pay", "app/on-cp", "TCP", 10250, False),
            ("cde/pay", "app/node-agent", "TCP", 10250, True),  # Node unknown: either reading
            ("cde/pay", "app/web", "TCP", 10250, False),
        ],
    ),
    (
        "named ports resolve against the destination's container ports",
        ZONES
        + anp(
            "named",
            """
            priority: 1
            subject: {namespaces: {matchLabels: {zone: cde}}}
            ingress:
            - {action: Deny, from: [{namespaces: {}}], ports: [{namedPort: pg}]}
            """,
        ),
        [("app/web", "cde/pay", "TCP", 5432, False), ("app/web", "cde/pay", "TCP", 8080, True)],
    ),
]


@pytest.mark.parametrize(("title", "docs", "checks"), ADMIN_CASES, ids=[c[0] for c in ADMIN_CASES])
def test_admin_semantics(
    title: str, docs: str, checks: list[tuple[str, str, str, int, bool]]
) -> None:
    test_semantics(title, docs, checks)


def test_a_nodes_peer_warns_about_host_network_pods_of_unknown_node_and_snapshots_keep_nodes() -> (
    None
):
    """The Node of a host-network pod is the fact a `nodes` peer needs: a pod without
    one is warned about, and a pack's snapshot keeps it so the flows can be recomputed."""
    from compliance.flows import compute_flows
    from compliance.snapshot import cluster_facts, rebuild_cluster
    from tests.helpers import cluster_from_yaml

    deny = anp(
        "no-control-plane",
        """
        priority: 1
        subject: {namespaces: {}}
        egress: [{name: cp, action: Deny, to: [{nodes: {matchLabels: {role: control}}}]}]
        """,
    )
    text = ZONES + NODES + host_pod_on("on-cp", "app", "cp-1") + deny
    cluster = cluster_from_yaml(text)
    by_name = {w.ref.name: w for w in cluster.workloads}
    assert by_name["on-cp"].node_names == ("cp-1",)
    assert by_name["node-agent"].node_names is None
    graph = compute_flows(cluster)
    (warning,) = [w for w in graph.warnings if "spec.nodeName" in w]
    assert "anp/no-control-plane" in warning or "no-control-plane" in warning
    assert "egress rule cp" in warning and "either reading" in warning
    facts = cluster_facts(cluster)
    kept = {w["name"]: w.get("node_names") for w in facts["workloads"]}
    assert kept["on-cp"] == ["cp-1"] and kept["node-agent"] is None and kept["pay"] is None
    again = compute_flows(rebuild_cluster(facts, "snapshot.json"))
    assert again.flows == graph.flows
    # Every pod placed on a selected Node: no warning.
    placed = ZONES.replace(
        pod("node-agent", "app", {"app": "agent"}, host_network=True), ""
    ) + NODES + host_pod_on("on-cp", "app", "cp-1") + deny  # fmt: skip
    assert not [w for w in compute_flows(cluster_from_yaml(placed)).warnings if "nodeName" in w]


def test_a_node_name_that_is_not_text_is_refused_with_its_field() -> None:
    from compliance.errors import InputError
    from tests.helpers import cluster_from_yaml

    bad = host_pod_on("x", "app", "cp-1").replace("nodeName: cp-1", "nodeName: [cp-1]")
    with pytest.raises(InputError) as err:
        cluster_from_yaml(namespace("app") + bad)
    assert err.value.field == "spec.nodeName"
    assert "Pod app/x" in str(err.value) and "a list" in str(err.value)
