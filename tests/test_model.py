"""Workload grouping, owners, namespaces and variants: how pods become workloads."""

from __future__ import annotations

import pytest

from compliance.errors import InputError
from compliance.flows import compute_flows
from compliance.model import WorkloadRef
from tests.helpers import allowed, cluster_from_yaml, flow, flows_from_yaml, namespace, policy

DEPLOYMENT = """
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx, ports: [{containerPort: 80, name: http}]}]
"""


def pod_owned(
    name: str, kind: str, owner: str, labels: str = "{app: web}", ns: str = "prod"
) -> str:
    return f"""
---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
  labels: {labels}
  ownerReferences: [{{apiVersion: apps/v1, kind: {kind}, name: {owner}, uid: u1, controller: true}}]
spec:
  containers: [{{name: c, image: nginx, ports: [{{containerPort: 80, name: http}}]}}]
"""


def refs(text: str) -> list[str]:
    return [str(w.ref) for w in cluster_from_yaml(text).workloads]


def test_controller_templates_are_workloads() -> None:
    assert refs(DEPLOYMENT) == ["prod/web[Deployment]"]


def test_pod_folds_into_exported_replicaset_and_climbs_to_its_deployment() -> None:
    rs = """
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f7
  namespace: prod
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u0, controller: true}]
spec:
  template:
    metadata: {labels: {app: web, pod-template-hash: 5d8f7}}
    spec: {containers: [{name: c, image: nginx}]}
"""
    text = (
        DEPLOYMENT
        + rs
        + pod_owned(
            "web-5d8f7-abcde", "ReplicaSet", "web-5d8f7", "{app: web, pod-template-hash: 5d8f7}"
        )
    )
    cluster = cluster_from_yaml(text)
    assert [str(w.ref) for w in cluster.workloads] == ["prod/web[Deployment]"]
    # template, ReplicaSet template and pod give distinct shapes of the one workload
    assert len(cluster.workloads[0].variants) == 3
    assert len(cluster.workloads[0].sources) == 3


def test_replicaset_missing_from_export_climbs_by_pod_template_hash() -> None:
    text = DEPLOYMENT + pod_owned(
        "web-5d8f7-abcde", "ReplicaSet", "web-5d8f7", "{app: web, pod-template-hash: 5d8f7}"
    )
    assert refs(text) == ["prod/web[Deployment]"]


def test_owner_missing_from_export_names_the_workload_from_the_reference() -> None:
    text = pod_owned("api-7c9-xyz", "ReplicaSet", "api-7c9", "{app: api, pod-template-hash: 7c9}")
    assert refs(text) == ["prod/api-7c9[ReplicaSet]"]


def test_job_pod_climbs_to_cronjob() -> None:
    cron = """
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: prod}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: backup}}
        spec: {containers: [{name: c, image: pg}], restartPolicy: OnFailure}
"""
    job = """
---
apiVersion: batch/v1
kind: Job
metadata:
  name: backup-28900000
  namespace: prod
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: backup, uid: u, controller: true}]
spec:
  template:
    metadata: {labels: {app: backup, job-name: backup-28900000}}
    spec: {containers: [{name: c, image: pg}], restartPolicy: OnFailure}
"""
    assert refs(
        cron + job + pod_owned("backup-28900000-q", "Job", "backup-28900000", "{app: backup}")
    ) == ["prod/backup[CronJob]"]
    # the Job itself absent: climbed by the CronJob naming convention
    assert refs(
        cron + pod_owned("backup-28900001-q", "Job", "backup-28900001", "{app: backup}")
    ) == ["prod/backup[CronJob]"]


def test_static_pod_and_bare_pod_are_their_own_workloads() -> None:
    static = pod_owned("etcd-node1", "Node", "node1", "{component: etcd}", ns="kube-system")
    bare = """
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: prod}
spec: {containers: [{name: c, image: busybox}]}
"""
    assert refs(static + bare) == ["kube-system/etcd-node1[Pod]", "prod/debug[Pod]"]


def test_non_controller_owner_is_ignored() -> None:
    text = """
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: prod
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: cm, uid: u}]
spec: {containers: [{name: c, image: busybox}]}
"""
    assert refs(text) == ["prod/p[Pod]"]


def test_statefulset_pods_are_variants_a_selector_can_tell_apart() -> None:
    sts = """
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kafka, namespace: prod}
spec:
  template:
    metadata: {labels: {app: kafka}}
    spec: {containers: [{name: c, image: kafka}]}
"""
    pods = "".join(
        pod_owned(
            f"kafka-{i}",
            "StatefulSet",
            "kafka",
            f"{{app: kafka, statefulset.kubernetes.io/pod-name: kafka-{i}}}",
        )
        for i in range(2)
    )
    client = """
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: prod, labels: {app: client}}
spec: {containers: [{name: c, image: busybox}]}
"""
    only_first = policy(
        "first-only",
        "prod",
        """
        podSelector: {matchLabels: {app: kafka}}
        ingress:
        - from: [{podSelector: {matchLabels: {statefulset.kubernetes.io/pod-name: kafka-0}}}]
        """,
    )
    graph = flows_from_yaml(namespace("prod") + sts + pods + client + only_first)
    # kafka-0 may reach its peers: a self-flow of the workload, reported as such
    self_flow = flow(graph, "prod/kafka", "prod/kafka")
    assert self_flow is not None and self_flow.self_flow
    assert not allowed(graph, "prod/client", "prod/kafka", "TCP", 9092)


def test_self_flow_between_replicas_is_reported() -> None:
    graph = flows_from_yaml(namespace("prod") + DEPLOYMENT)
    f = flow(graph, "prod/web", "prod/web")
    assert f is not None and f.self_flow and f.connections.is_all()


def test_host_network_pods_are_never_called_isolated() -> None:
    text = namespace("prod") + DEPLOYMENT.replace(
        "containers:", "hostNetwork: true\n      containers:"
    )
    text += policy("deny", "prod", "podSelector: {}\npolicyTypes: [Ingress, Egress]")
    cluster = cluster_from_yaml(text)
    graph = compute_flows(cluster)
    iso = graph.isolation[WorkloadRef("prod", "web", "Deployment")]
    assert iso.host_network and not iso.ingress and not iso.egress
    assert allowed(graph, "8.8.8.8", "prod/web", "TCP", 22)
    f = flow(graph, "prod/web", "prod/web")
    assert f is not None and f.ingress.host_network
    assert any("hostNetwork" in w for w in cluster.warnings)


def test_isolation_summary_names_the_policies() -> None:
    text = (
        namespace("prod")
        + DEPLOYMENT
        + policy("deny", "prod", "podSelector: {}\npolicyTypes: [Ingress]")
    )
    graph = compute_flows(cluster_from_yaml(text))
    iso = graph.isolation[WorkloadRef("prod", "web", "Deployment")]
    assert iso.ingress and not iso.egress
    assert iso.ingress_policies == ("prod/deny",)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (namespace("Bad_Name"), "metadata.name"),
        (DEPLOYMENT.replace("containerPort: 80", "containerPort: 0"), "containerPort"),
        (DEPLOYMENT.replace("name: http", "name: HTTP"), "ports[0].name"),
        (
            DEPLOYMENT.replace("{app: web}}\n    spec", "{app: -web}}\n    spec"),
            "template.metadata.labels.app",
        ),
    ],
)
def test_invalid_workload_fields_are_refused(doc: str, field: str) -> None:
    with pytest.raises(InputError) as err:
        cluster_from_yaml(doc)
    assert field in str(err.value)
    assert str(err.value).startswith("test.yaml: ")


def test_host_port_is_kept_and_validated() -> None:
    cluster = cluster_from_yaml(
        DEPLOYMENT.replace("{containerPort: 80, name: http}", "{containerPort: 80, hostPort: 8080}")
    )
    (workload,) = cluster.workloads
    assert [cp.host_port for v in workload.variants for cp in v.ports] == [8080]
    with pytest.raises(InputError) as err:
        cluster_from_yaml(
            DEPLOYMENT.replace(
                "{containerPort: 80, name: http}", "{containerPort: 80, hostPort: 70000}"
            )
        )
    assert "spec.template.spec.containers[0].ports[0].hostPort" in str(err.value)


def test_switched_off_rules_are_recorded_on_the_policy() -> None:
    cluster = cluster_from_yaml(
        DEPLOYMENT
        + policy(
            "p",
            "prod",
            "podSelector: {}\npolicyTypes: [Egress]\ningress:\n- {}\n- {}\negress:\n- {}",
        )
    )
    (pol,) = cluster.policies
    assert pol.ingress == ()
    assert pol.ignored == (("ingress", 2),)


def test_timestamps_stay_text_so_impossible_dates_do_not_crash() -> None:
    cluster = cluster_from_yaml(
        DEPLOYMENT.replace(
            "metadata: {name: web, namespace: prod}",
            "metadata: {name: web, namespace: prod, annotations: {built: 2027-13-01}}",
        )
    )
    assert [w.ref.id for w in cluster.workloads] == ["prod/web"]
