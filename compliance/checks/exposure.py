"""Who can reach scope, and what scope can reach: the internet, data stores,
wildcard peers and shared infrastructure."""

from __future__ import annotations

from collections.abc import Iterable

from compliance.addresses import AddrSet
from compliance.checks.base import (
    CLOUD_METADATA,
    PUBLIC,
    Context,
    Finding,
    PeerGroups,
    Verdict,
    address_text,
    check,
    default_deny,
    describe_ports,
    not_applicable,
    nothing_in_scope,
    own_policies,
)
from compliance.checks.register import named_register_snippet
from compliance.flows import ExternalName, Flow, NamedFlow
from compliance.model import Peer, WorkloadRef
from compliance.ports import PortSet

DNS = PortSet.of("UDP", 53) | PortSet.of("TCP", 53)
CONTROL_PLANE = PortSet.of("TCP", 6443) | PortSet.of("TCP", 10250) | PortSet.of("TCP", 10255)


REGISTER_HINT = (
    "Deny it in the policy, or record it in the scope file's approved_flows with its business need."
)


@check("SEG-06", "Internet ingress only to the public tier")
def internet_ingress(ctx: Context) -> Verdict:
    """Traffic from public internet addresses reaches only public-tier workloads, on approved ports.

    Looks at every allowed flow from outside the cluster into an in-scope
    workload, keeping the public part of its source addresses (private,
    link-local and documentation ranges are not the internet). This is what the
    policies allow: Services, load balancers and NodePorts are not read, so it
    says "reachable per policy", not that a route from the internet exists. Fails when the
    destination is not in a zone with role `public`, or when it is but the
    approved-flow register does not cover those sources and ports.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    findings = []
    for ref in ctx.scoped():
        public_tier = ctx.has_role(ref, "public")
        for flow in ctx.facts.incoming.get(ref, ()):
            if isinstance(flow.src, WorkloadRef):
                continue
            exposed = flow.src.addresses & PUBLIC
            if not exposed:
                continue
            if not public_tier:
                findings.append(
                    Finding(
                        "reachable per policy from addresses outside the cluster "
                        f"({address_text(exposed)}) on {describe_ports(flow.connections)}, "
                        "but it is not in a public-tier zone",
                        workload=ref,
                        peer=address_text(exposed),
                        ports=flow.connections.describe(),
                        direction="ingress",
                        policies=ctx.facts.flow_policies(flow),
                        remediation="Allow internet sources only on the public tier "
                        "(the ingress controller); reach this workload through it.",
                    )
                )
                continue
            for addrs, ports in ctx.register.uncovered(flow):
                part = (addrs or AddrSet.empty()) & PUBLIC
                if part:
                    findings.append(
                        Finding(
                            f"public-tier entry point open to {address_text(part)} on "
                            f"{describe_ports(ports)}, which the approved-flow register does "
                            "not list",
                            workload=ref,
                            peer=address_text(part),
                            ports=ports.describe(),
                            direction="ingress",
                            policies=ctx.facts.flow_policies(flow),
                            remediation=REGISTER_HINT,
                        )
                    )
    return Verdict(tuple(findings), summary=f"{len(findings)} internet ingress findings")


@check("SEG-07", "No direct untrusted access to data stores")
def datastore_access(ctx: Context) -> Verdict:
    """No flow reaches an in-scope data store directly from an untrusted source.

    Data stores are in-scope workloads in a zone with role `datastore`.
    Untrusted sources are public internet addresses, workloads in a `public`
    zone, and workloads out of scope for the framework. Every such flow fails,
    register or not: stored account data and ePHI are reached through the
    application tier. Replication between a data store's own replicas is not a
    finding.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    stores = [r for r in ctx.scoped() if ctx.has_role(r, "datastore")]
    if not stores:
        return not_applicable("no in-scope zone has role datastore")
    groups = PeerGroups()
    paths = 0
    for ref in stores:
        for flow in ctx.facts.incoming.get(ref, ()):
            if flow.self_flow:
                continue
            src = flow.src
            if isinstance(src, WorkloadRef):
                if ctx.has_role(src, "public"):
                    why = "in the public tier"
                elif src not in ctx.in_scope:
                    why = "out of scope"
                else:
                    continue
                peer = str(src)
            else:
                exposed = src.addresses & PUBLIC
                if not exposed:
                    continue
                why = "on the internet"
                peer = address_text(exposed)
            paths += 1
            ports = describe_ports(flow.connections)
            groups.add(
                f"data store reachable directly from {{peer}} ({why}) on {ports}",
                peer,
                workload=ref,
                ports=ports,
                direction="ingress",
                policies=ctx.facts.flow_policies(flow),
                own=own_policies(flow, "ingress"),
                remediation="Admit only the application tier to the data store: narrow the "
                "ingress rule's podSelector/namespaceSelector to the in-scope clients.",
            )
    return Verdict(
        groups.findings(),
        summary=f"{len(stores)} data store{'s' if len(stores) != 1 else ''}, "
        f"{paths} untrusted flow{'s' if paths != 1 else ''}",
    )


@check("SEG-08", "Internet egress allowlist")
def internet_egress(ctx: Context) -> Verdict:
    """Egress from scope to the internet goes only to approved destinations.

    For each flow from an in-scope workload to addresses outside the cluster,
    the public part that no active approved-flow entry (with `to: {cidrs:
    [...]}`) covers is a failure; `0.0.0.0/0` style egress fails outright.
    Egress an admin rule allows to `domainNames` is a warning unless an active entry
    from the workload names the identical names (`to: {names: [...]}`) on its ports:
    the names are never resolved, so whether they are public is not known, and such
    an entry approves the destination by name, not by resolved address (the summary
    counts those approvals as such).
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    findings = []
    by_name: list[NamedFlow] = []
    partly: list[NamedFlow] = []
    named_from: dict[WorkloadRef, list[NamedFlow]] = {}
    for n in ctx.graph.named_flows:
        named_from.setdefault(n.src, []).append(n)
    for ref in ctx.scoped():
        for flow in ctx.facts.outgoing.get(ref, ()):
            if isinstance(flow.dst, WorkloadRef):
                continue
            if not flow.dst.addresses & PUBLIC:
                continue
            for addrs, ports in ctx.register.uncovered(flow):
                part = (addrs or AddrSet.empty()) & PUBLIC
                if not part:
                    continue
                what = address_text(part)
                findings.append(
                    Finding(
                        f"may send to {what} on {describe_ports(ports)} with no approved "
                        "destination in the register",
                        workload=ref,
                        peer=address_text(part),
                        ports=ports.describe(),
                        direction="egress",
                        policies=ctx.facts.flow_policies(flow),
                        remediation="Limit the egress rule's ipBlock to the destinations it "
                        "needs (or an egress proxy) and record them in approved_flows.",
                    )
                )
        for named in named_from.get(ref, ()):
            left = ctx.register.uncovered_named(named)
            if ctx.register.covering_named(named):
                (partly if left else by_name).append(named)
            for names, ports in left:
                dst = ExternalName(names)
                note = "".join(
                    f"; {e.label()} expired on {e.expires.isoformat()}"
                    for e in ctx.register.expired_named(named)
                    if e.ports & ports and set(e.dst.names or ()) & set(names)
                )
                findings.append(
                    Finding(
                        f"may send to {dst} on {describe_ports(ports)}: domain names the "
                        "analysis does not resolve, so their addresses (public or not) are "
                        f"unknown, and no current approved-flow entry names them{note}",
                        severity="warn",
                        workload=ref,
                        peer=str(dst),
                        ports=ports.describe(),
                        direction="egress",
                        policies=ctx.facts.flow_policies(named),  # type: ignore[arg-type]
                        remediation="Confirm each name is an approved destination (an egress "
                        "proxy or the provider's published ranges) and record it in "
                        "approved_flows by name; the entry approves the name as the rule "
                        "spells it, not the addresses it resolves to:\n"
                        + named_register_snippet(ref, names, ports),
                    )
                )
    to_review = sum(1 for f in findings if f.severity == "warn")
    summary = f"{len(findings) - to_review} unapproved internet egress findings"
    if to_review:
        summary += f", {_named_count(to_review)} to review"
    if by_name or partly:
        summary += (
            f", {_named_count(len(by_name))} approved "
            f"by name in the register{f' ({len(partly)} more in part)' if partly else ''}: "
            "by the names as the admin rule spells them, not by resolved address (what the "
            "names reach is not known to the analysis)"
        )
    return Verdict(tuple(findings), summary=summary)


def _named_count(count: int) -> str:
    return f"{count} named destination{'' if count == 1 else 's'}"


def _wildcards(
    ctx: Context, namespace: str, peers: Iterable[Peer], public_tier: bool
) -> Iterable[tuple[int, str]]:
    """(peer index, why it is a wildcard) for each wildcard peer of one rule."""
    params = ctx.parameters
    for j, peer in enumerate(peers):
        if peer.ip_block is not None:
            if public_tier:
                continue  # the designated entry points face the internet; SEG-06 judges them
            net_prefix = int(peer.ip_block.cidr.split("/")[1])
            limit = (
                params.max_source_prefix_v4
                if ":" not in peer.ip_block.cidr
                else params.max_source_prefix_v6
            )
            if net_prefix < limit:
                yield j, f"ipBlock {peer.ip_block.cidr} is wider than /{limit}"
            continue
        pods_all = peer.pod_selector is None or peer.pod_selector.selects_all
        if not pods_all:
            continue
        if peer.namespace_selector is None:
            spaces = [namespace]
        elif peer.namespace_selector.selects_all:
            yield j, "namespaceSelector {} admits every pod of every namespace"
            continue
        else:
            spaces = ctx.facts.namespaces_matching(peer.namespace_selector)
        outside = [
            w.ref
            for w in ctx.cluster.workloads
            if w.ref.namespace in spaces and w.ref not in ctx.in_scope
        ]
        if outside:
            names = ", ".join(str(r) for r in outside[:3]) + (
                " and more" if len(outside) > 3 else ""
            )
            yield (
                j,
                (
                    f"{peer.describe() or 'podSelector {}'} admits every pod of namespace(s) "
                    f"{', '.join(spaces)}, including out-of-scope {names}"
                ),
            )


@check("SEG-12", "No wildcard peers into scope")
def wildcard_peers(ctx: Context) -> Verdict:
    """No ingress rule admits a wildcard source into scope.

    For each effective ingress rule selecting an in-scope workload, fails when
    the rule has no `from` (any source), or a peer that is every namespace
    (`namespaceSelector: {}`), every pod of a namespace holding out-of-scope
    workloads, or an ipBlock wider than `parameters.max_source_prefix` (/16 for
    IPv4, /48 for IPv6 by default). An in-scope workload that no policy isolates
    for ingress admits every source: it fails as a wildcard too.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    findings = []
    for ref in ctx.scoped():
        if not ctx.graph.isolation[ref].ingress:
            findings.append(
                Finding(
                    "not isolated for ingress: every source, every pod of the cluster and "
                    "every address outside it, is admitted",
                    workload=ref,
                    peer="any",
                    direction="ingress",
                    policies=("ingress: not isolated (no policy selects it)",),
                    remediation=default_deny(ref.namespace, ("Ingress",))
                    + "# then admit only the named sources it needs\n",
                )
            )
            continue
        for info in ctx.facts.ingress_rules_of(ref):
            pol = ctx.facts.policies[f"{info.ref.namespace}/{info.ref.policy}"]
            rule = pol.ingress[info.ref.index]
            reasons: list[tuple[int | None, str]]
            if rule.peers is None:
                reasons = [(None, "has no from: any source, inside or outside the cluster")]
            else:
                reasons = list(
                    _wildcards(ctx, pol.namespace, rule.peers, ctx.has_role(ref, "public"))
                )
            for j, why in reasons:
                where = str(info.ref) if j is None else f"{info.ref} from[{j}]"
                findings.append(
                    Finding(
                        f"{where} {why}",
                        workload=ref,
                        peer="any"
                        if j is None
                        else rule.peers[j].describe()
                        if rule.peers
                        else None,
                        direction="ingress",
                        policies=(str(info.ref),),
                        remediation="Name the sources: a podSelector for the clients, together "
                        "with a namespaceSelector on kubernetes.io/metadata.name.",
                    )
                )
    return Verdict(tuple(findings), summary=f"{len(findings)} wildcard sources into scope")


def cluster_dns(ctx: Context) -> set[WorkloadRef]:
    named = ctx.parameters.cluster_dns
    found = set()
    for w in ctx.cluster.workloads:
        if named is not None:
            if w.ref.id in named or str(w.ref) in named:
                found.add(w.ref)
            continue
        labels = {k: v for variant in w.variants for k, v in variant.labels}
        if w.ref.namespace == "kube-system" and (
            w.ref.name in ("coredns", "kube-dns") or labels.get("k8s-app") == "kube-dns"
        ):
            found.add(w.ref)
    return found


@check("SEG-23", "Shared-infrastructure egress constrained")
def shared_infrastructure(ctx: Context) -> Verdict:
    """Scope reaches shared infrastructure only as intended.

    From every in-scope workload: DNS (TCP/UDP 53) only to the cluster DNS
    (kube-system coredns/kube-dns, or `parameters.cluster_dns`); no path to the
    cloud metadata address 169.254.169.254, to kubelet or API server ports
    (TCP 10250, 10255, 6443) outside the cluster, or to hostNetwork workloads
    (the node itself), unless the approved-flow register covers it.
    """
    if (na := nothing_in_scope(ctx)) is not None:
        return na
    dns = cluster_dns(ctx)
    groups = PeerGroups()
    for ref in ctx.scoped():
        resolver = ref in dns  # the cluster DNS forwards lookups: DNS egress is its job
        for flow in ctx.facts.outgoing.get(ref, ()):
            if flow.self_flow:
                continue
            for addrs, ports in ctx.register.uncovered(flow):
                for why, peer, hit in _infrastructure(ctx, flow, addrs, ports, dns, resolver):
                    groups.add(
                        why,
                        peer,
                        workload=ref,
                        ports=describe_ports(hit),
                        direction="egress",
                        policies=ctx.facts.flow_policies(flow),
                        own=own_policies(flow, "egress"),
                        remediation="Narrow the egress rules: DNS to kube-system's DNS pods "
                        "only, and an ipBlock except for 169.254.169.254/32.",
                    )
    found = groups.findings()
    return Verdict(found, summary=f"{len(found)} shared-infrastructure findings")


def _infrastructure(
    ctx: Context,
    flow: Flow,
    addrs: AddrSet | None,
    ports: PortSet,
    dns: set[WorkloadRef],
    resolver: bool,
) -> Iterable[tuple[str, str, PortSet]]:
    dst = flow.dst
    if isinstance(dst, WorkloadRef):
        hit = ports & DNS
        if hit and dst not in dns and not resolver:
            yield (
                f"may send DNS ({describe_ports(hit)}) to {{peer}}, not the cluster DNS",
                str(dst),
                hit,
            )
        if ctx.facts.workloads[dst].host_network:
            yield (
                "reaches the node itself through {peer} (host network)",
                str(dst),
                ports,
            )
        return
    if addrs is None:
        return
    meta = addrs & CLOUD_METADATA
    if meta:
        yield (
            f"may reach the cloud metadata service {{peer}} on {describe_ports(ports)}",
            address_text(meta),
            ports,
        )
    hit = ports & DNS
    if hit and not resolver:
        yield (
            f"may send DNS ({describe_ports(hit)}) outside the cluster to {{peer}}",
            address_text(addrs),
            hit,
        )
    cp = ports & CONTROL_PLANE
    if cp:
        yield (
            f"may reach kubelet or API server ports ({describe_ports(cp)}) at {{peer}}",
            address_text(addrs),
            cp,
        )
