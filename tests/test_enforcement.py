"""Evidence of enforcement through `evaluate`: SEG-28 (probe results against the plan),
SEG-22 (observed flows against the allowed ones), SEG-21 (unused allowances) and the
enforcement line, on the shop sample and variations of its results and logs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from helpers import DEMO_ARGS

from compliance.cli import cli, run

ROOT = Path(__file__).resolve().parent.parent
PLAN = "samples/probes/plan.json"
RESULTS = "samples/probes/probe-results.csv"
HUBBLE = "samples/flows/hubble.jsonl"
CALICO = "samples/flows/calico-flows.jsonl"
BASE = [
    "evaluate",
    "samples/shop-cluster",
    "--scope",
    "samples/pci-dss.scope.yaml",
    "--as-of",
    "2026-11-26T00:00:00Z",
    "--format",
    "json",
    "--exit-zero",
]


def _run(*extra: str) -> tuple[int, str, str]:
    """In-process through `run`, the way `main` turns errors into one line and exit 2."""
    with CliRunner().isolation() as (out, err, _):
        code = run(cli, [*BASE, *extra])
        return code, out.getvalue().decode(), err.getvalue().decode()


def _evaluate(monkeypatch: Any, *extra: str) -> dict[str, Any]:
    monkeypatch.chdir(ROOT)
    code, out, err = _run(*extra)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def _check(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in data["checks"] if c["id"] == check_id)
    return found


def _results(tmp_path: Path, change: dict[str, tuple[str, str]], tested: bool = True) -> str:
    plan = json.loads((ROOT / PLAN).read_text(encoding="utf-8"))
    lines = ["# tested: 2026-11-21T08:00:00Z"] if tested else []
    lines.append("id,result,detail")
    for p in plan["probes"]:
        result, detail = change.get(p["id"], (p["expect"], "as expected"))
        lines.append(f"{p['id']},{result},{detail}")
    path = tmp_path / "probe-results.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_sample_results_fail_on_the_probe_the_cluster_let_through(monkeypatch: Any) -> None:
    data = _evaluate(monkeypatch, "--probe-plan", PLAN, "--probe-results", RESULTS)
    seg28 = _check(data, "SEG-28")
    assert seg28["status"] == "fail"
    by_status = {f["status"]: f for f in seg28["findings"]}
    assert "P-0075" in by_status["fail"]["message"]
    assert "production/debug-shell" in by_status["fail"]["message"]
    assert "P-0041" in by_status["warn"]["message"]
    assert "P-0087 (inconclusive)" in seg28["summary"]
    qualifier = data["enforcement"]["qualifier"]
    assert qualifier.startswith("enforcement not proven: segmentation test on 2026-11-20")
    assert "observed open: P-0075" in qualifier
    req = {r["id"]: r for r in data["frameworks"][0]["requirements"]}
    assert req["11.4.5"]["status"] == "fail"


def test_every_blocked_probe_blocked_proves_enforcement(monkeypatch: Any, tmp_path: Path) -> None:
    data = _evaluate(monkeypatch, "--probe-plan", PLAN, "--probe-results", _results(tmp_path, {}))
    assert _check(data, "SEG-28")["status"] == "pass"
    assert data["enforcement"]["qualifier"] == (
        "proven by segmentation test on 2026-11-21: 36 of 36 blocked probes blocked"
    )
    assert "proven by segmentation test" in _check(data, "SEG-01")["summary"]


def test_results_without_a_date_never_invent_one(monkeypatch: Any, tmp_path: Path) -> None:
    data = _evaluate(
        monkeypatch,
        "--probe-plan",
        PLAN,
        "--probe-results",
        _results(tmp_path, {}, tested=False),
    )
    assert "(date not recorded)" in data["enforcement"]["qualifier"]


def test_open_probe_observed_blocked_only_warns(monkeypatch: Any, tmp_path: Path) -> None:
    path = _results(tmp_path, {"P-0041": ("blocked", "timed out")})
    data = _evaluate(monkeypatch, "--probe-plan", PLAN, "--probe-results", path)
    seg28 = _check(data, "SEG-28")
    assert seg28["status"] == "warn"
    assert [f["status"] for f in seg28["findings"]] == ["warn"]
    assert data["enforcement"]["qualifier"].startswith("proven by segmentation test")


def test_error_or_inconclusive_is_unknown_never_pass(monkeypatch: Any, tmp_path: Path) -> None:
    path = _results(tmp_path, {"P-0001": ("error", "no running pod")})
    data = _evaluate(monkeypatch, "--probe-plan", PLAN, "--probe-results", path)
    seg28 = _check(data, "SEG-28")
    assert seg28["status"] == "unknown"
    assert "P-0001 (error)" in seg28["summary"]
    assert data["enforcement"]["qualifier"].startswith("enforcement not proven")


def test_plan_of_another_export_warns_with_both_digests(monkeypatch: Any, tmp_path: Path) -> None:
    plan = json.loads((ROOT / PLAN).read_text(encoding="utf-8"))
    plan["inputs"][0]["sha256"] = "0" * 64
    other = tmp_path / "plan.json"
    other.write_text(json.dumps(plan), encoding="utf-8")
    data = _evaluate(
        monkeypatch, "--probe-plan", str(other), "--probe-results", _results(tmp_path, {})
    )
    seg28 = _check(data, "SEG-28")
    assert seg28["status"] == "warn"
    message = seg28["findings"][0]["message"]
    assert "another snapshot" in message and message.count("sha256:") == 2
    assert not data["enforcement"]["qualifier"].startswith("proven")


def test_without_results_not_applicable_and_capability_only(monkeypatch: Any) -> None:
    data = _evaluate(monkeypatch)
    assert _check(data, "SEG-28")["status"] == "not_applicable"
    assert _check(data, "SEG-22")["status"] == "not_applicable"
    assert _check(data, "SEG-21")["status"] == "not_applicable"
    assert data["enforcement"]["qualifier"] == "CNI present (Calico); enforcement not proven"
    req = {r["id"]: r for r in data["frameworks"][0]["requirements"]}
    assert req["11.4.5"]["status"] in ("supported", "manual")


def test_results_need_the_plan(monkeypatch: Any) -> None:
    monkeypatch.chdir(ROOT)
    code, _, err = _run("--probe-results", RESULTS)
    assert code == 2
    assert "--probe-plan" in err and "Traceback" not in err


def test_observed_flow_the_policies_deny_fails_with_its_time(monkeypatch: Any) -> None:
    data = _evaluate(monkeypatch, "--flow-log", HUBBLE, "--flow-log", CALICO)
    seg22 = _check(data, "SEG-22")
    assert seg22["status"] == "fail"
    fails = [f["message"] for f in seg22["findings"] if f["status"] == "fail"]
    assert len(fails) == 1
    assert "production/debug-shell" in fails[0] and "production/app" in fails[0]
    assert "2026-11-17T22:41:09Z" in fails[0] and "hubble.jsonl:38" in fails[0]
    warns = [f["message"] for f in seg22["findings"] if f["status"] == "warn"]
    assert any("TCP 24224" in m and "dropped" in m for m in warns)
    # The Calico record of data-pipeline -> postgres was denied, as the policies say.
    assert not any("data-pipeline" in f["message"] for f in seg22["findings"])


def test_unused_allowances_state_the_period(monkeypatch: Any) -> None:
    data = _evaluate(monkeypatch, "--flow-log", HUBBLE, "--flow-log", CALICO)
    seg21 = _check(data, "SEG-21")
    assert seg21["status"] == "warn"
    assert "2026-11-12T09:15:02Z to 2026-11-20T11:05:02Z" in seg21["summary"]
    messages = [f["message"] for f in seg21["findings"]]
    # Seen flows are not candidates; an allowed flow never seen is.
    assert not any(
        m.startswith("production/app[Deployment] -> production/postgres") for m in messages
    )
    assert any(m.startswith("production/postgres-backup[CronJob] -> 0.0.0.0/0") for m in messages)


def test_short_log_makes_unused_allowances_unknown(monkeypatch: Any, tmp_path: Path) -> None:
    lines = (ROOT / HUBBLE).read_text(encoding="utf-8").splitlines()[:4]
    short = tmp_path / "short.jsonl"
    short.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = _evaluate(monkeypatch, "--flow-log", str(short))
    seg21 = _check(data, "SEG-21")
    assert seg21["status"] == "unknown"
    assert "fewer than the 7 days" in seg21["summary"]


def test_malformed_log_line_is_one_line_error_unless_lenient(
    monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    bad = tmp_path / "bad.jsonl"
    bad.write_text((ROOT / HUBBLE).read_text(encoding="utf-8") + "not a flow\n", encoding="utf-8")
    code, out, err = _run("--flow-log", str(bad))
    assert code == 2 and out == ""
    assert "bad.jsonl" in err and "line 41" in err and "Traceback" not in err
    code, out, err = _run("--flow-log", str(bad), "--flow-log-lenient")
    assert code == 0
    assert "skipped 1 line(s)" in err


def test_results_json_probes_and_observed_blocks_follow_the_schema(monkeypatch: Any) -> None:
    import jsonschema

    data = _evaluate(
        monkeypatch,
        "--probe-plan",
        PLAN,
        "--probe-results",
        RESULTS,
        "--flow-log",
        HUBBLE,
        "--flow-log",
        CALICO,
    )
    schema = json.loads(
        (ROOT / "compliance" / "schemas" / "results.schema.json").read_text(encoding="utf-8")
    )
    jsonschema.validate(data, schema)
    rows = data["probes"]["results"]
    assert [r["mismatch"] for r in rows[:2]] == ["not-enforced", "broken-path"]
    assert rows[2]["observed"] == "inconclusive"
    assert data["probes"]["tested"] == "2026-11-20"
    first = data["observed"]["flows"][0]
    assert (first["src"], first["allowed_by_policy"]) == ("production/debug-shell[Pod]", False)
    assert data["observed"]["first"] == "2026-11-12T09:15:02Z"
    assert [log["path"] for log in data["observed"]["logs"]] == [HUBBLE, CALICO]


def test_pack_shows_the_segmentation_test_and_observed_flows(
    demo_runs: list[tuple[Path, str]], read_pdf_pages: Callable[[Path], Sequence[str]]
) -> None:
    """The demo's pack: the shop with the probe plan, its results and both flow logs."""
    import openpyxl

    assert DEMO_ARGS == [
        "report", "samples/shop-cluster", "--scope", "samples/pci-dss.scope.yaml",
        "--as-of", "2026-11-26T00:00:00Z", "--probe-plan", PLAN, "--probe-results", RESULTS,
        "--flow-log", HUBBLE, "--flow-log", CALICO,
    ]  # fmt: skip
    out, _ = demo_runs[0]
    pages = read_pdf_pages(out / "report.pdf")  # each page's text extracted when read
    words = [" ".join(page.split()) for page in pages[:3]]  # cover, contents, summary
    # Sections 8 and 9 close the report: read back from the end to where 8 starts.
    last = next(i for i in reversed(range(len(pages))) if "Probes from the plan" in pages[i])
    text = " ".join(" ".join(page.split()) for page in pages[last:])
    section = text[text.index("Probes from the plan") :]
    assert "run on 2026-11-20: 34 of 36 probes expected blocked were blocked" in section
    # Mismatches first: the probe the cluster let through, then the broken path.
    assert section.index("P-0075") < section.index("P-0041") < section.index("P-0001")
    observed = text[text.index("flow records from") - 3 :]
    assert "48 flow records from 2 logs, 2026-11-12T09:15:02Z to 2026-11-20T11:05:02Z" in observed
    assert observed.index("debug-shell") < observed.index("ingress-nginx")
    assert "enforcement not proven: segmentation test on 2026-11-20" in words[0]  # the cover
    assert "See the segmentation test (section 8)." in words[2]
    wb = openpyxl.load_workbook(out / "evidence.xlsx")
    probes = list(wb["Probes"].iter_rows(values_only=True))
    assert probes[1][:8] == (
        "P-0075",
        "production/debug-shell",
        "production/app",
        "TCP",
        8080,
        "blocked",
        "open",
        "not-enforced",
    )
    assert probes[1][9] == "no rule allows it"
    assert len(probes) == 1 + 87
    flows = list(wb["Observed flows"].iter_rows(values_only=True))
    assert flows[1][:6] == (
        "production/debug-shell[Pod]",
        "production/app[Deployment]",
        "TCP",
        8080,
        "allowed",
        "deny",
    )
    import hashlib

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    recorded = {(i["role"], i["path"]): i["sha256"] for i in manifest["inputs"]}
    for role, path in (
        ("probe-plan", PLAN),
        ("probe-results", RESULTS),
        ("flow-log", HUBBLE),
        ("flow-log", CALICO),
    ):
        assert recorded[(role, path)] == hashlib.sha256((ROOT / path).read_bytes()).hexdigest()


def test_an_aggregated_external_end_is_counted_not_judged(monkeypatch: Any, tmp_path: Path) -> None:
    """Calico aggregates public peers away (`dest_ip` "-"): no rule can be judged for it,
    so it must not become a flow the policies "deny"."""
    record = json.loads((ROOT / CALICO).read_text(encoding="utf-8").splitlines()[0])
    record.update(
        source_name_aggr="app-7c9d5b8f4-*",
        dest_type="net",
        dest_namespace="-",
        dest_ip="-",
        dest_name_aggr="pub",
        dest_port=9999,
    )
    log = tmp_path / "calico.jsonl"
    log.write_text(json.dumps(record) + "\n", encoding="utf-8")
    data = _evaluate(monkeypatch, "--flow-log", str(log))
    assert _check(data, "SEG-22")["findings"] == []
    assert data["observed"]["unmapped"] == 1


# --------------------------------------------------------------------------- SEG-01 and admin policies

ANP_DOC = """
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: cde}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
"""
CNP_DOC = """
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: cde}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
"""
LOOKALIKE_DOC = """
apiVersion: example.com/v1
kind: AdminNetworkPolicy
metadata: {name: not-the-kubernetes-api}
"""


def test_admin_policy_kinds_from_skipped_or_loaded_objects() -> None:
    from compliance.cni_support import admin_policy_kinds
    from compliance.load import load_paths, load_texts

    assert admin_policy_kinds(load_paths([str(ROOT / "samples/shop-cluster")])) == ()
    both = load_paths([str(ROOT / "samples/shop-cluster"), str(ROOT / "samples/guardrails")])
    assert admin_policy_kinds(both) == ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy")
    texts = [("a.yaml", CNP_DOC.encode()), ("b.yaml", LOOKALIKE_DOC.encode())]
    assert admin_policy_kinds(load_texts(texts)) == ("ClusterNetworkPolicy",)
    # Once the model reads them, they are among the loaded objects: the same answer.
    from compliance.load import K8sObject, LoadResult

    obj = K8sObject(
        "a.yaml", "policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", None, "x", {}
    )
    assert admin_policy_kinds(LoadResult((obj,), ())) == ("AdminNetworkPolicy",)


def test_the_cni_table_names_only_cnis_seg01_detects() -> None:
    from compliance.checks.isolation import ENFORCING_AGENTS
    from compliance.cni_support import ADMIN_KINDS, SUPPORT

    products = set(ENFORCING_AGENTS.values())
    assert {s.product for s in SUPPORT} <= products
    assert {s.kind for s in SUPPORT} == set(ADMIN_KINDS)
    pairs = [(s.product, s.kind) for s in SUPPORT]
    assert len(pairs) == len(set(pairs))


def test_admin_support_by_cni() -> None:
    from compliance.cni_support import ANP, BANP, CNP, NOT_PROVEN, admin_support

    assert admin_support(["Calico"], []) is None
    ovn = admin_support(["OVN-Kubernetes"], [ANP, BANP])
    assert ovn is not None and ovn.severity == "pass"
    assert "OVN-Kubernetes is known to implement AdminNetworkPolicy and Baseline" in ovn.statement
    assert NOT_PROVEN not in ovn.statement
    # CNP is not in OVN-Kubernetes' row: not known, never assumed.
    ovn_cnp = admin_support(["OVN-Kubernetes"], [ANP, CNP])
    assert ovn_cnp is not None and ovn_cnp.severity == "warn"
    assert "not known to implement ClusterNetworkPolicy" in ovn_cnp.statement
    assert NOT_PROVEN in ovn_cnp.statement
    cilium = admin_support(["Cilium"], [ANP])
    assert cilium is not None and cilium.severity == "fail"
    assert "Cilium does not implement AdminNetworkPolicy" in cilium.statement
    assert NOT_PROVEN in cilium.statement
    calico = admin_support(["Calico"], [CNP])
    assert calico is not None and calico.severity == "warn"
    assert "from 3.32" in calico.statement and NOT_PROVEN in calico.statement
    kube_ovn = admin_support(["Kube-OVN"], [CNP])
    assert kube_ovn is not None and kube_ovn.severity == "warn"
    assert "experimental" in kube_ovn.statement
    weave = admin_support(["Weave Net"], [BANP])
    assert weave is not None and weave.severity == "warn"
    assert "Weave Net is not known to implement BaselineAdminNetworkPolicy" in weave.statement
    none = admin_support([], [ANP])
    assert none is not None and none.severity == "warn"
    assert "no CNI known to implement AdminNetworkPolicy" in none.statement
    assert NOT_PROVEN in none.statement
    # Two CNIs: one that implements the kind is enough for the capability.
    mixed = admin_support(["Cilium", "Antrea"], [ANP])
    assert mixed is not None and mixed.severity == "pass"
    knp = admin_support(["kube-network-policies"], [ANP, BANP, CNP])
    assert knp is not None and knp.severity == "pass"


def test_seg01_on_the_shop_with_guardrails_says_calico_needs_its_version(
    monkeypatch: Any,
) -> None:
    plain = _check(_evaluate(monkeypatch), "SEG-01")
    assert plain["status"] == "pass"
    assert "AdminNetworkPolicy" not in plain["summary"]
    monkeypatch.chdir(ROOT)
    args = list(BASE)
    args.insert(2, "samples/guardrails")
    with CliRunner().isolation() as (out, err, _):
        code = run(cli, args)
        text, errors = out.getvalue().decode(), err.getvalue().decode()
    assert code == 0, errors
    seg01 = _check(json.loads(text), "SEG-01")
    assert seg01["status"] == "warn"
    (finding,) = seg01["findings"]
    assert finding["message"] == (
        "the export holds AdminNetworkPolicy and BaselineAdminNetworkPolicy: Calico implements "
        "AdminNetworkPolicy and BaselineAdminNetworkPolicy from 3.29, and the export does not "
        "show its version; the results that rest on them are configured, not proven enforced"
    )
    assert finding["message"] in seg01["summary"]


def test_seg01_fails_when_the_only_cni_does_not_implement_the_admin_policies() -> None:
    import datetime as dt

    from compliance.controls import Framework, Requirement
    from compliance.evaluate import evaluate
    from compliance.flows import compute_flows
    from tests.helpers import AS_OF, cluster_from_yaml, namespace, pod, scope_from_yaml

    cilium = (
        "---\napiVersion: apps/v1\nkind: DaemonSet\n"
        "metadata: {name: cilium, namespace: kube-system}\n"
        "spec:\n  selector: {matchLabels: {k8s-app: cilium}}\n  template:\n"
        "    metadata: {labels: {k8s-app: cilium}}\n"
        "    spec: {containers: [{name: agent, image: agent}]}\n"
    )
    cluster = cluster_from_yaml(namespace("pay") + pod("api", "pay", {"app": "api"}) + cilium)
    scope = scope_from_yaml(
        "cluster: t\nzones:\n  - name: cde\n    role: cde\n    frameworks: [fw]\n"
        "    selectors:\n      - namespaceSelector: {}\n"
    )
    fw = Framework(
        id="fw",
        title="fw",
        version="1",
        source="tests",
        scope="s",
        requirements=(Requirement("R1", "one", "one", "full", ("SEG-01",)),),
        path="fw.yaml",
    )

    def seg01(kinds: tuple[str, ...]):  # type: ignore[no-untyped-def]
        moment = dt.datetime.fromisoformat(AS_OF)
        ev = evaluate(cluster, compute_flows(cluster), scope, [fw], moment, admin_policies=kinds)
        (check,) = ev.frameworks[0].checks
        return check

    assert seg01(()).status == "pass"
    result = seg01(("AdminNetworkPolicy",))
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.finding.severity == "fail"
    assert "Cilium does not implement AdminNetworkPolicy" in finding.finding.message
    assert "configured, not proven enforced" in finding.finding.message


def test_kube_network_policies_is_detected_as_an_enforcing_cni() -> None:
    from compliance.checks.isolation import detect_enforcement
    from tests.helpers import cluster_from_yaml, namespace

    agent = (
        "---\napiVersion: apps/v1\nkind: DaemonSet\n"
        "metadata: {name: kube-network-policies, namespace: kube-system}\n"
        "spec:\n  selector: {matchLabels: {app: kube-network-policies}}\n  template:\n"
        "    metadata: {labels: {app: kube-network-policies}}\n"
        "    spec: {hostNetwork: true, containers: [{name: agent, image: agent}]}\n"
    )
    found = detect_enforcement(cluster_from_yaml(namespace("kube-system") + agent))
    assert found.status == "pass"
    assert found.products == ("kube-network-policies",)


def test_the_readme_states_the_cni_table_as_the_code_has_it() -> None:
    import re

    from compliance.cni_support import implementations

    readme = re.sub(r"\s+", " ", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert implementations() + "." in readme


def test_a_pack_with_admin_policies_recomputes_and_rereads_seg01(
    monkeypatch: Any, tmp_path: Path, no_pdf_layout: None
) -> None:
    """SEG-01's admin-policy statement comes from the export; the snapshot records the
    kinds, so `verify --recompute` and an evaluation of the pack give the same result."""
    monkeypatch.chdir(ROOT)
    pack = tmp_path / "pack"
    with CliRunner().isolation() as (out, err, _):
        code = run(
            cli,
            [
                "report",
                "samples/shop-cluster",
                "samples/guardrails",
                "--scope",
                "samples/pci-dss.scope.yaml",
                "--as-of",
                "2026-11-26T00:00:00Z",
                "--out",
                str(pack),
                "--exit-zero",
            ],
        )
        assert code == 0, err.getvalue().decode()
    snapshot = json.loads((pack / "snapshot.json").read_text(encoding="utf-8"))
    assert snapshot["admin_policy_kinds"] == ["AdminNetworkPolicy", "BaselineAdminNetworkPolicy"]
    results = json.loads((pack / "results.json").read_text(encoding="utf-8"))
    assert _check(results, "SEG-01")["status"] == "warn"
    with CliRunner().isolation() as (out, err, _):
        code = run(cli, ["verify", "--recompute", str(pack)])
        text = out.getvalue().decode()
    assert code == 0, text + err.getvalue().decode()
    assert "results.json reproduced byte for byte" in text
    again = [str(pack) if a == "samples/shop-cluster" else a for a in BASE]
    with CliRunner().isolation() as (out, err, _):
        code = run(cli, again)
        reread = json.loads(out.getvalue().decode())
    assert code == 0
    assert _check(reread, "SEG-01")["summary"] == _check(results, "SEG-01")["summary"]
