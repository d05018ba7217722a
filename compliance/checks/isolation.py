"""Is scope isolated at all: enforcement, default deny, allow-all rules, policy bypass."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from compliance.addresses import AddrSet
from compliance.admindefault import Posture, posture
from compliance.checks.base import (
    Context,
    Finding,
    Verdict,
    check,
    default_deny,
    nothing_in_scope,
)
from compliance.cni_support import admin_support
from compliance.evidence_inputs import Evidence
from compliance.flows import RuleInfo
from compliance.model import Cluster, Workload, WorkloadRef

# Agents whose presence shows a NetworkPolicy engine, by DaemonSet name or k8s-app label.
ENFORCING_AGENTS = {
    "calico-node": "Calico",
    "canal": "Canal (Calico policy on flannel)",
    "cilium": "Cilium",
    "anetd": "GKE Dataplane V2 (Cilium)",
    "antrea-agent": "Antrea",
    "weave-net": "Weave Net",
    "kube-router": "kube-router",
    "azure-npm": "Azure Network Policy Manager",
    "ovnkube-node": "OVN-Kubernetes",
    "kube-ovn-cni": "Kube-OVN",
    "kube-network-policies": "kube-network-policies",
}
CONDITIONAL_AGENTS = {
    "aws-node": "Amazon VPC CNI enforces NetworkPolicy only with its network policy agent "
    "enabled (enableNetworkPolicy); the export cannot show that setting",
}
NON_ENFORCING_AGENTS = {
    "kube-flannel-ds": "flannel",
    "kube-flannel": "flannel",
    "flannel": "flannel",
}
_NAME_LABELS = ("k8s-app", "app", "app.kubernetes.io/name", "name")


@dataclass(frozen=True, slots=True)
class Enforcement:
    status: str  # pass | fail | unknown
    statement: str
    agents: tuple[str, ...]
    products: tuple[str, ...] = ()
    """The enforcing CNIs found running (Calico, Cilium, ...)."""
    tested: str = ""
    """What a segmentation test showed ("proven by segmentation test on ...", or why
    it did not prove enforcement); empty without results."""
    proven: bool = False

    @property
    def present(self) -> bool:
        """A policy-enforcing CNI's agent is in the export and not shown as down. That is
        capability, not proof: only a connectivity test or flow logs show enforcement."""
        return self.status == "pass"

    @property
    def qualifier(self) -> str:
        """What every result says about enforcement: never plain "enforced", which a
        DaemonSet's presence cannot show."""
        if self.proven:
            return self.tested
        if self.tested:
            return f"enforcement not proven: {self.tested}"
        if self.present:
            return f"CNI present ({', '.join(self.products)}); enforcement not proven"
        return "configured, not proven enforced"


def _agent_names(w: Workload) -> set[str]:
    names = {w.ref.name}
    for v in w.variants:
        labels = dict(v.labels)
        names.update(labels[k] for k in _NAME_LABELS if k in labels)
    return names


def proven(found: Enforcement, evidence: Evidence) -> Enforcement:
    """The enforcement statement with what a segmentation test showed: only probe results
    whose every expected-blocked probe was blocked prove enforcement (for what they probed)."""
    if evidence.probes is None:
        return found
    ok, sentence = evidence.probes.proof()
    return dataclasses.replace(found, tested=sentence, proven=ok)


def detect_enforcement(cluster: Cluster) -> Enforcement:
    """Which CNI agents the export shows, and whether one of them can enforce NetworkPolicy.

    A DaemonSet whose exported status has no ready pod is not running: it makes the
    result unknown, never a pass."""
    enforcing: list[str] = []
    products: list[str] = []
    down: list[str] = []
    conditional: list[str] = []
    plain: list[str] = []
    for w in cluster.workloads:
        if w.ref.kind != "DaemonSet":
            continue  # CNI agents run on every node; an app named `cilium` proves nothing
        names = _agent_names(w)
        for agent, product in ENFORCING_AGENTS.items():
            if agent in names:
                if w.ready is not None and w.ready[0] == 0:
                    down.append(
                        f"{product} ({w.ref}) has no ready pod "
                        f"(status.numberReady 0 of {w.ready[1]}): it is not running"
                    )
                    break
                running = "" if w.ready is None else f", {w.ready[0]} of {w.ready[1]} pods ready"
                enforcing.append(f"{product} ({w.ref}{running})")
                products.append(product)
                break
        else:
            for agent, why in CONDITIONAL_AGENTS.items():
                if agent in names:
                    conditional.append(f"{w.ref}: {why}")
                    break
            else:
                for agent, product in NON_ENFORCING_AGENTS.items():
                    if agent in names:
                        plain.append(f"{product} ({w.ref})")
                        break
    if enforcing:
        return Enforcement(
            "pass",
            "a CNI that enforces NetworkPolicy is present: "
            + ", ".join(enforcing)
            + "; whether it enforces every policy is not proven by the export",
            tuple(enforcing),
            tuple(dict.fromkeys(products)),
        )
    if down:
        return Enforcement("unknown", "; ".join(down), tuple(down))
    if conditional:
        return Enforcement("unknown", "; ".join(conditional), tuple(conditional))
    if plain:
        return Enforcement(
            "fail",
            f"only {', '.join(plain)} is present, and flannel does not enforce NetworkPolicy: "
            "every policy in this report is configuration that nothing applies",
            tuple(plain),
        )
    return Enforcement(
        "unknown",
        "the export shows no known CNI agent (calico-node, cilium, antrea, weave-net, ...); "
        "export kube-system's DaemonSets, or document the managed dataplane's policy setting",
        (),
    )


@check("SEG-01", "Enforcement capability")
def enforcement(ctx: Context) -> Verdict:
    """The export shows a CNI that enforces NetworkPolicy (and the admin policies it holds).

    Looks for the DaemonSets of policy-enforcing CNIs (calico-node, canal,
    cilium, GKE's anetd, antrea-agent, weave-net, kube-router, azure-npm,
    ovnkube-node, kube-ovn, kube-network-policies) by name or `k8s-app`-style label.
    Passes when one is present and its exported status (when there is one) shows
    ready pods: the capability is there, enforcement is still not proven. Unknown
    when the agent's status shows no ready pod (`status.numberReady: 0`), when no
    agent is in the export, or for the Amazon VPC CNI whose policy agent is a
    setting; fails when only flannel is (it implements no NetworkPolicy). Results
    always say "CNI present (...); enforcement not proven" or "configured, not proven
    enforced", unless segmentation-test results (SEG-28) blocked every probe expected
    blocked: then "proven by segmentation test on <date>: N of N blocked probes blocked".

    When the export holds AdminNetworkPolicy, BaselineAdminNetworkPolicy or
    ClusterNetworkPolicy objects, it also says whether the CNI found is known to
    implement each kind (a table of CNIs, `cni_support.py`): a CNI that does not
    implement them enforces none of their rules. If the CNI is not known to, or only
    from a version or as an experimental feature the export cannot show, it warns that
    the results resting on them are "configured, not proven enforced"; if every CNI
    found is known not to implement a kind present (Cilium), it fails.
    """
    found = proven(detect_enforcement(ctx.cluster), ctx.evidence)
    admin = admin_support(found.products, ctx.admin_policies)
    findings: list[Finding] = []
    if found.status == "pass":
        summary = found.statement + (f"; {found.qualifier}" if found.tested else "")
        status = "pass"
    else:
        remediation = (
            "Install or enable a CNI that enforces NetworkPolicy (Calico, Cilium, Antrea), "
            "or include its DaemonSet in the export; for managed clusters, attach the "
            "provider's network policy setting as evidence."
        )
        findings.append(
            Finding(
                found.statement,
                severity="fail" if found.status == "fail" else "warn",
                namespace="kube-system",
                direction="both",
                remediation=remediation,
            )
        )
        summary, status = found.statement, found.status
    if admin is not None:
        summary += f"; {admin.statement}"
        if not admin.proven_capable:
            findings.append(
                Finding(
                    admin.statement,
                    severity=admin.severity,
                    direction="both",
                    remediation="Run a CNI that implements these policy kinds (and a version "
                    "that does), attach its configuration as evidence, or prove the rules "
                    "with a segmentation test (compliance probe-plan).",
                    aspect="admin-policies",
                )
            )
            status = _worse(status, admin.severity)
    return Verdict(tuple(findings), status=status, summary=summary)


_RANK = {"pass": 0, "warn": 1, "unknown": 2, "fail": 3}


def _worse(a: str, b: str) -> str:
    return a if _RANK.get(a, 0) >= _RANK.get(b, 0) else b


def _coverage(ctx: Context, direction: str) -> Verdict:
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    findings = []
    kind = direction.capitalize()
    by_admin: dict[str, int] = {}
    for ref in ctx.scoped():
        iso = ctx.graph.isolation[ref]
        isolated = iso.ingress if direction == "ingress" else iso.egress
        policies = iso.ingress_policies if direction == "ingress" else iso.egress_policies
        found = _posture(ctx, ref, direction, isolated)
        if found is not None and not iso.host_network:
            if found.admin_allow:
                findings.append(_admin_allow_finding(ref, direction, found, policies))
                continue
            if not isolated and found.leaks and found.deny_first:
                findings.append(_leak_finding(ref, direction, found))
                continue
            if not isolated and found.denied:
                text = found.deny_text()
                if found.covers_outside:
                    by_admin[text] = by_admin.get(text, 0) + 1
                    continue
                findings.append(_pods_only_finding(ref, direction, found, text))
                continue
        if isolated:
            continue
        if iso.host_network:
            why = f"uses the host network, so no policy reliably isolates its {direction}"
        elif policies:
            why = (
                f"only some of its pods are selected by a policy isolating {direction} "
                f"({', '.join(policies)})"
            )
        else:
            why = f"no NetworkPolicy with {kind} in its policyTypes selects it"
        findings.append(
            Finding(
                f"{why}: every {direction} flow is allowed",
                workload=ref,
                direction=direction,
                policies=policies,
                remediation=default_deny(ref.namespace, (kind,))
                + f"# then allow only the {direction} flows it needs\n",
            )
        )
    summary = (
        f"{len(ctx.in_scope)} in-scope workloads, {len(findings)} not isolated for {direction}"
    )
    if by_admin:
        summary += "; isolated by a cluster-wide default deny: " + ", ".join(
            f"{count} by {rules}" for rules, count in sorted(by_admin.items())
        )
    return Verdict(tuple(findings), summary=summary)


def _posture(ctx: Context, ref: WorkloadRef, direction: str, isolated: bool) -> Posture | None:
    """The admin and baseline tiers' default for the workload (None without admin policies)."""
    if not ctx.cluster.admin_policies:
        return None
    return posture(ctx.cluster, ctx.facts.workloads[ref], direction, isolated)


def _admin_allow_finding(
    ref: WorkloadRef, direction: str, found: Posture, policies: tuple[str, ...]
) -> Finding:
    rules = tuple(r.rule for r in found.admin_allow)
    peer_word = " and ".join(
        dict.fromkeys(_ALLOWS[(direction, r.scope)] for r in found.admin_allow)
    )
    np = f"; the NetworkPolicy isolation ({', '.join(policies)}) cannot deny it" if policies else ""
    return Finding(
        f"not isolated for {direction}: {', '.join(rules)} (admin tier) allows {direction} "
        f"{peer_word} on every port, unless an earlier admin rule decides it, before any "
        f"NetworkPolicy{np}",
        workload=ref,
        direction=direction,
        policies=rules,
        remediation=f"Replace {', '.join(rules)} with rules naming the peers and ports this "
        "workload needs, or make its action Pass so that NetworkPolicy decides.",
    )


def _leak_finding(ref: WorkloadRef, direction: str, found: Posture) -> Finding:
    leaks = ", ".join(found.leaks)
    verb = "passes" if len(found.leaks) == 1 else "pass"
    return Finding(
        f"not isolated for {direction}: {found.deny_text()} denies by default, but {leaks} "
        f"{verb} some {direction} on, and neither a NetworkPolicy isolating its {direction} "
        "nor a baseline default deny decides it: what they pass is allowed",
        workload=ref,
        direction=direction,
        policies=(*found.leaks, *(r.rule for r in found.rules)),
        remediation=default_deny(ref.namespace, (direction.capitalize(),))
        + f"# then allow only the {direction} flows it needs\n",
    )


def _pods_only_finding(ref: WorkloadRef, direction: str, found: Posture, text: str) -> Finding:
    tiers = " and ".join(sorted({r.tier for r in found.rules}))
    return Finding(
        f"{direction} from every pod of the cluster is denied by default by {text} "
        f"({tiers} tier), but admin {direction} rules cannot match sources outside the "
        "cluster, nodes or host-network pods, and no NetworkPolicy isolates its "
        f"{direction}: traffic from them is allowed",
        severity="warn",
        workload=ref,
        direction=direction,
        policies=tuple(r.rule for r in found.rules),
        remediation=default_deny(ref.namespace, (direction.capitalize(),))
        + f"# then allow only the {direction} flows it needs\n",
    )


@check("SEG-02", "Ingress isolation coverage")
def ingress_coverage(ctx: Context) -> Verdict:
    """Every in-scope workload is isolated for ingress.

    A workload is isolated when a policy in its namespace selects every one of
    its pods and has Ingress in its policyTypes (after defaulting). A
    hostNetwork workload is never counted as isolated. Fails for each in-scope
    workload that is not; the remediation is a namespace default deny.

    With AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy objects,
    a cluster-wide default deny counts too: for each of the workload's pods, the first
    admin-tier rule matching every pod on every port (a `namespaces: {}` peer, no
    ports) denies, or, where no NetworkPolicy isolates the workload, the first such
    baseline-tier rule does. Allow and Deny rules before it are exceptions, as allow
    rules are to a NetworkPolicy default deny; Pass rules before it hand what they
    match to NetworkPolicy and the baseline, and the workload fails, naming them,
    unless one of those denies it by default. Admin ingress rules cannot match sources
    outside the cluster, nodes or host-network pods: without a NetworkPolicy isolating
    its ingress, a workload the admin or baseline tier denies by default gets a
    warning naming the rule and saying what stays allowed, not a pass. A first
    admin-tier catch-all that allows fails the workload even under a NetworkPolicy
    default deny: no NetworkPolicy can deny what it allows.
    """
    return _coverage(ctx, "ingress")


@check("SEG-03", "Egress isolation coverage")
def egress_coverage(ctx: Context) -> Verdict:
    """Every in-scope workload is isolated for egress.

    As SEG-02, for Egress: remember that `policyTypes` omitted means Egress only
    when the policy has egress rules, so an ingress-only default deny leaves
    egress open.

    A cluster-wide default deny (as SEG-02) isolates egress fully when it covers every
    pod and every address: a Deny rule with a `networks` peer holding 0.0.0.0/0 and ::/0
    and no ports, possibly after a `namespaces: {}` Deny rule that decides the pods
    first. The summary names the rules that isolate workloads this way. A `namespaces:
    {}` Deny alone leaves outside addresses open and does not count.
    """
    return _coverage(ctx, "egress")


def _allow_all(rule: RuleInfo) -> str | None:
    if not rule.all_ports or rule.peers is not None:
        return None
    if rule.addresses == AddrSet.all():
        return "every source and destination, inside and outside the cluster, on every port"
    return "every pod of the cluster on every port"


@check("SEG-04", "No allow-all rule")
def allow_all(ctx: Context) -> Verdict:
    """No rule applying to an in-scope workload allows everything.

    Fails for each effective rule, of a policy selecting an in-scope workload,
    that matches every peer (`from`/`to` omitted or empty, or selectors that
    match every pod of the cluster) with no port restriction: `ingress: [{}]`
    undoes a default deny. The finding names the policy and rule index. An
    in-scope workload that no policy isolates in a direction allows every peer
    on every port there, exactly as an allow-all rule would, and fails too,
    unless a cluster-wide default deny (SEG-02/03) denies by default there. The first
    admin-tier catch-all for the workload, when it is an AdminNetworkPolicy Allow or an
    Admin ClusterNetworkPolicy Accept matching every pod (egress: or every address) on
    every port, fails as well: it overrides every NetworkPolicy.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    findings = []
    for ref in ctx.scoped():
        iso = ctx.graph.isolation[ref]
        for direction, rules, isolated in (
            ("ingress", ctx.facts.ingress_rules_of(ref), iso.ingress),
            ("egress", ctx.facts.egress_rules_of(ref), iso.egress),
        ):
            found = _posture(ctx, ref, direction, isolated)
            if found is not None and not iso.host_network:
                findings.extend(_admin_allow_all(ref, direction, found))
                if found.deny_first and not found.admin_allow:
                    # A cluster-wide default deny: SEG-02/03 say what it leaves open.
                    isolated = True
            if not isolated:
                # No rule to blame, but the effect of `ingress: [{}]`: every peer, every port.
                peer_word = (
                    "from every source" if direction == "ingress" else "to every destination"
                )
                findings.append(
                    Finding(
                        f"not isolated for {direction}: it allows {direction} {peer_word}, "
                        "inside and outside the cluster, on every port, as an allow-all rule would",
                        workload=ref,
                        direction=direction,
                        peer="any",
                        ports="all",
                        policies=(f"{direction}: not isolated (no policy selects it)",),
                        remediation=default_deny(ref.namespace, (direction.capitalize(),))
                        + f"# then allow only the {direction} flows it needs\n",
                    )
                )
                continue
            for rule in rules:
                what = _allow_all(rule)
                if what is None:
                    continue
                peer_word = "from" if direction == "ingress" else "to"
                findings.append(
                    Finding(
                        f"{rule.ref} allows {direction} {peer_word} {what}",
                        workload=ref,
                        direction=direction,
                        peer="any",
                        ports="all",
                        policies=(str(rule.ref),),
                        remediation=f"Replace {rule.ref} with rules naming the peers "
                        "(podSelector/namespaceSelector) and ports this workload needs.",
                    )
                )
    return Verdict(
        tuple(findings), summary=f"{len(findings)} allow-all rules on in-scope workloads"
    )


_ALLOWS = {
    ("ingress", "pods"): "from every pod of the cluster",
    ("egress", "pods"): "to every pod of the cluster",
    ("egress", "outside"): "to every address outside the cluster, node and host-network pod",
    ("egress", "all"): "to every pod, node and address inside and outside the cluster",
}


def _admin_allow_all(ref: WorkloadRef, direction: str, found: Posture) -> list[Finding]:
    out = []
    for rule in found.admin_allow:
        what = _ALLOWS[(direction, rule.scope)]
        out.append(
            Finding(
                f"{rule.rule} (admin tier) allows {direction} {what} on every port, before "
                "any NetworkPolicy: no NetworkPolicy can deny what it allows",
                workload=ref,
                direction=direction,
                peer="any",
                ports="all",
                policies=(rule.rule,),
                remediation=f"Replace {rule.rule} with rules naming the peers and ports this "
                "workload needs, or make its action Pass so that NetworkPolicy decides.",
            )
        )
    return out


@check("SEG-05", "Policy-bypass workloads")
def bypass(ctx: Context) -> Verdict:
    """No in-scope workload uses hostNetwork or hostPort.

    A hostNetwork pod shares its node's network stack and identity: Kubernetes always
    allows traffic between a node and its pods, so it reaches every pod on its node
    whatever the policies; most CNIs do not apply NetworkPolicy to it, and its traffic
    carries the node's address. A hostPort
    publishes a container port on the node's address. Both are unsegmented
    nodes in scope; fails for each one unless waived (with a host firewall as
    the compensating control, for example).
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    findings = []
    for ref in ctx.scoped():
        w = ctx.facts.workloads[ref]
        if w.host_network:
            findings.append(
                Finding(
                    "uses the host network (hostNetwork: true): it shares its node's "
                    "identity, so it can reach every pod on the same node whatever the "
                    "policies (Kubernetes always allows node-to-pod traffic), NetworkPolicy "
                    "does not reliably apply to it, and its traffic carries the node's address",
                    workload=ref,
                    direction="both",
                    remediation="Run it without hostNetwork, or move it out of scope; "
                    "otherwise waive with a host firewall as the compensating control.",
                )
            )
        published = sorted(
            {
                (cp.protocol, cp.port, cp.host_port)
                for v in w.variants
                for cp in v.ports
                if cp.host_port
            }
        )
        if published and not w.host_network:
            text = ", ".join(f"{p} {port} as hostPort {hp}" for p, port, hp in published)
            findings.append(
                Finding(
                    f"publishes {text} on its node's address",
                    workload=ref,
                    ports=", ".join(f"{p} {hp}" for p, _, hp in published),
                    direction="ingress",
                    remediation="Expose it through a Service instead of hostPort.",
                )
            )
    return Verdict(tuple(findings), summary=f"{len(findings)} bypass findings in scope")
