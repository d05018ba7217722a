"""`compliance diff`: every kind of change in isolation, on small inline clusters.

The base cluster: namespace `shop` is the CDE (zone `cde`), namespace `web` holds the
storefront (no zone), `tools` holds two unzoned workloads. `shop` denies all ingress
but from `web` to `db` on TCP 5432.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compliance.cli import cli, run
from compliance.diff import RETEST_LINE, DiffSide, diff
from compliance.evaluate import Evaluation
from compliance.render.diff import FORMATS
from tests.helpers import (
    SHOP_SCOPE,
    Result,
    evaluation_from_yaml,
    namespace,
    pod,
    policy,
    sample_evaluation,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "compliance/schemas/diff.schema.json").read_text())

ZONED = {"kubernetes.io/metadata.name": "shop"}

SCOPE = SHOP_SCOPE

WAIVER = """\
waivers:
  - id: WV-001
    check: SEG-26
    workload: shop/db
    reason: migration
    owner: team
    approved_by: CISO
    expires: 2026-12-31
"""

REGISTER_ENTRY = """\
  - id: AF-002
    from: {workload: tools/a}
    to: {workload: shop/db}
    ports: [{protocol: TCP, port: 5432}]
    justification: backups
    owner: team
    ticket: CHG-2
    approved_by: CISO
    expires: 2027-06-30
"""

DENY = """\
podSelector: {}
policyTypes: [Ingress]
"""


B_FROM_SHOP = """\
podSelector: {matchLabels: {app: b}}
policyTypes: [Ingress]
ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}}]
"""


def allow_db(ports: str = "[{protocol: TCP, port: 5432}]") -> str:
    return f"""\
podSelector: {{matchLabels: {{app: db}}}}
policyTypes: [Ingress]
ingress:
  - from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: web}}}}}}]
    ports: {ports}
"""


def cluster(
    *, db_policy: str | None = None, extra: str = "", tools_deny: bool = False, shop: str = "shop"
) -> str:
    docs = [
        namespace("shop"),
        namespace("web"),
        namespace("tools"),
        pod("db", shop, {"app": "db"}, "5432,5433"),
        pod("app", "web", {"app": "app"}, "8080"),
        pod("a", "tools", {"app": "a"}, "9000"),
        pod("b", "tools", {"app": "b"}, "9000"),
        policy("deny", "shop", DENY),
        policy("allow-db", "shop", db_policy if db_policy is not None else allow_db()),
    ]
    if tools_deny:  # isolates tools/b but keeps it open to the CDE: no zone flow changes
        docs.append(policy("b-from-shop", "tools", B_FROM_SHOP))
    return "".join(docs) + extra


AS_OF = "2026-11-26T00:00:00+00:00"
LATER = "2027-02-26T00:00:00+00:00"


def side(text: str, scope: str = SCOPE, as_of: str = AS_OF, name: str = "x") -> DiffSide:
    return DiffSide(name, None, evaluation_from_yaml(text, scope, as_of))


def run_diff(old: DiffSide, new: DiffSide) -> dict[str, Any]:
    doc = diff(old, new)
    jsonschema.validate(doc, SCHEMA)
    for render in FORMATS.values():
        assert render(doc)  # every format renders every document
    return doc


def zone(doc: dict[str, Any]) -> dict[str, Any]:
    (found,) = [z for z in doc["zones"] if z["zone"] == "cde"]
    return found


def test_no_change_is_unchanged_everywhere() -> None:
    doc = run_diff(side(cluster()), side(cluster()))
    assert zone(doc)["verdict"] == "unchanged" and zone(doc)["note"] is None
    assert doc["flows"] == {"touching_zones": [], "other_changes": 0}
    assert doc["policies"] == doc["workloads"] == doc["requirements"] == []
    assert doc["findings"]["new"] == doc["findings"]["resolved"] == []
    assert doc["findings"]["still_open"]
    assert doc["notes"] == []


def test_a_widened_policy_changes_the_zone_and_names_the_flow() -> None:
    wider = allow_db("[{protocol: TCP, port: 5432, endPort: 5433}]")
    doc = run_diff(side(cluster()), side(cluster(db_policy=wider)))
    (flow,) = doc["flows"]["touching_zones"]
    assert (flow["src"], flow["dst"], flow["change"]) == ("web/app[Pod]", "shop/db[Pod]", "changed")
    assert flow["widened"] == "TCP 5433" and flow["narrowed"] is None
    assert flow["ports_before"] == "TCP 5432" and flow["ports_now"] == "TCP 5432-5433"
    assert any("shop/allow-db ingress[0]" in r for r in flow["rules_now"])
    assert any("shop/allow-db ingress[0]" in r for r in flow["rules_before"])
    z = zone(doc)
    assert z["verdict"] == "changed" and z["note"] == RETEST_LINE
    assert z["flows"] == ["web/app[Pod] -> shop/db[Pod]"]
    (pol,) = doc["policies"]
    assert pol["policy"] == "shop/allow-db" and pol["change"] == "modified"
    assert pol["effect"] == "changes flows"
    assert pol["flows_added"] == ["web/app[Pod] -> shop/db[Pod]: TCP 5433"]
    assert pol["flows_removed"] == []
    text = FORMATS["txt"](doc)
    assert "cde: changed" in text and "re-test segmentation (PCI DSS 11.4.5" in text


def test_a_narrowed_flow_is_a_change_but_not_a_boundary_widening() -> None:
    wider = allow_db("[{protocol: TCP, port: 5432, endPort: 5433}]")
    doc = run_diff(side(cluster(db_policy=wider)), side(cluster()))
    (flow,) = doc["flows"]["touching_zones"]
    assert flow["change"] == "changed"
    assert flow["narrowed"] == "TCP 5433" and flow["widened"] is None
    assert zone(doc)["verdict"] == "unchanged"
    assert doc["policies"][0]["flows_removed"] == ["web/app[Pod] -> shop/db[Pod]: TCP 5433"]


def test_an_added_and_a_removed_flow() -> None:
    closed = "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Ingress]\n"
    doc = run_diff(side(cluster()), side(cluster(db_policy=closed)))
    (flow,) = doc["flows"]["touching_zones"]
    assert flow["change"] == "removed" and flow["ports_before"] == "TCP 5432"
    assert flow["rules_now"] == []
    assert zone(doc)["verdict"] == "changed"
    back = run_diff(side(cluster(db_policy=closed)), side(cluster()))
    (flow,) = back["flows"]["touching_zones"]
    assert flow["change"] == "added" and flow["ports_now"] == "TCP 5432"
    assert flow["rules_before"] == []
    assert zone(back)["verdict"] == "changed"


def test_a_policy_that_changes_no_flow_says_so() -> None:
    same = policy("also-deny", "shop", DENY)  # shop is already isolated for ingress
    doc = run_diff(side(cluster()), side(cluster(extra=same)))
    (pol,) = doc["policies"]
    assert pol["policy"] == "shop/also-deny" and pol["change"] == "added"
    assert pol["effect"] == "no effect on flows"
    assert pol["sha256_before"] is None and len(pol["sha256_now"]) == 64
    assert zone(doc)["verdict"] == "unchanged" and doc["flows"]["touching_zones"] == []


def test_a_removed_policy_with_its_effect() -> None:
    doc = run_diff(side(cluster(tools_deny=True)), side(cluster()))
    (pol,) = doc["policies"]
    assert pol["policy"] == "tools/b-from-shop" and pol["change"] == "removed"
    assert "tools/a[Pod] -> tools/b[Pod]: all" in pol["flows_added"]
    assert "web/app[Pod] -> tools/b[Pod]: all" in pol["flows_added"]
    assert not any("shop/" in f for f in pol["flows_added"])
    assert pol["flows_removed"] == [] and pol["effect"] == "changes flows"


def test_changes_outside_every_zone_are_only_counted() -> None:
    doc = run_diff(side(cluster(tools_deny=True)), side(cluster()))
    assert doc["flows"]["touching_zones"] == []
    # tools/a, web/app, outside addresses and its own replicas may now reach tools/b
    assert doc["flows"]["other_changes"] == 4
    assert zone(doc)["verdict"] == "unchanged"


def test_workloads_added_removed_and_moving_between_zones() -> None:
    extra = pod("cache", "shop", {"app": "cache"}, "6379")
    doc = run_diff(side(cluster()), side(cluster(extra=extra)))
    assert {"workload": "shop/cache[Pod]", "change": "added", "entered": ["cde"], "left": []} in (
        doc["workloads"]
    )
    gone = run_diff(side(cluster(extra=extra)), side(cluster()))
    assert {"workload": "shop/cache[Pod]", "change": "removed", "entered": [], "left": ["cde"]} in (
        gone["workloads"]
    )
    moved_scope = SCOPE.replace(
        "{kubernetes.io/metadata.name: shop}", "{kubernetes.io/metadata.name: tools}"
    ).split("approved_flows:")[0]
    base_scope = SCOPE.split("approved_flows:")[0]
    moved = run_diff(side(cluster(), base_scope), side(cluster(), moved_scope))
    changes = {w["workload"]: (w["change"], w["entered"], w["left"]) for w in moved["workloads"]}
    assert changes["shop/db[Pod]"] == ("zones", [], ["cde"])
    assert changes["tools/a[Pod]"] == ("zones", ["cde"], [])


def _reworded(ev: Evaluation) -> Evaluation:
    frameworks = tuple(
        dataclasses.replace(
            fw,
            checks=tuple(
                dataclasses.replace(
                    c,
                    findings=tuple(
                        dataclasses.replace(
                            fr,
                            finding=dataclasses.replace(
                                fr.finding, message="reworded: " + fr.finding.message
                            ),
                        )
                        for fr in c.findings
                    ),
                )
                for c in fw.checks
            ),
        )
        for fw in ev.frameworks
    )
    return dataclasses.replace(ev, frameworks=frameworks)


def test_a_finding_keeps_its_identity_when_its_message_is_reworded() -> None:
    old = side(cluster())
    new = DiffSide("new", None, _reworded(old.ev))
    doc = run_diff(old, new)
    assert doc["findings"]["new"] == [] and doc["findings"]["resolved"] == []
    assert len(doc["findings"]["still_open"]) > 0


def test_findings_new_and_resolved_and_requirements_that_change() -> None:
    open_all = "podSelector: {matchLabels: {app: db}}\npolicyTypes: [Ingress]\ningress: [{}]\n"
    old, new = side(cluster()), side(cluster(db_policy=open_all))
    doc = run_diff(old, new)
    assert doc["findings"]["new"]
    assert all(f["id"] not in doc["findings"]["still_open"] for f in doc["findings"]["new"])
    back = run_diff(new, old)
    assert {f["id"] for f in back["findings"]["resolved"]} == {
        f["id"] for f in doc["findings"]["new"]
    }
    before = {(r["framework"], r["requirement"]): r["before"] for r in doc["requirements"]}
    assert before, "opening the CDE to every source changes some requirement's status"
    statuses = {
        (fw.framework.id, r.requirement.id): r.status
        for fw in old.ev.frameworks
        for r in fw.requirements
    }
    assert all(statuses[k] == v for k, v in before.items())


def test_register_entries_added_and_removed() -> None:
    bigger = SCOPE + REGISTER_ENTRY
    doc = run_diff(side(cluster()), side(cluster(), bigger))
    assert doc["register"] == {"added": ["AF-002"], "removed": [], "expired": []}
    back = run_diff(side(cluster(), bigger), side(cluster()))
    assert back["register"] == {"added": [], "removed": ["AF-002"], "expired": []}


def test_a_waiver_that_expires_between_the_two_as_of_times() -> None:
    scope = SCOPE + WAIVER
    doc = run_diff(side(cluster(), scope), side(cluster(), scope, LATER))
    assert doc["waivers"] == {"added": [], "removed": [], "expired": ["WV-001"]}
    assert doc["register"]["expired"] == []
    same = run_diff(side(cluster(), scope), side(cluster(), scope))
    assert same["waivers"]["expired"] == []


def test_old_newer_than_new_is_allowed_and_said() -> None:
    doc = run_diff(side(cluster(), as_of=LATER), side(cluster()))
    assert doc["notes"] == ["OLD (2027-02-26T00:00:00Z) is newer than NEW (2026-11-26T00:00:00Z)"]
    assert "note: OLD (2027-02-26T00:00:00Z) is newer" in FORMATS["txt"](doc)


# --------------------------------------------------------------------------- command line


@pytest.fixture
def compliance(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def invoke(*args: object) -> Result:
        capsys.readouterr()
        code = run(cli.main, [str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cluster.yaml").write_text(text)
    return folder / "cluster.yaml"


def test_exit_codes_and_json(tmp_path: Path, compliance: Callable[..., Result]) -> None:
    (tmp_path / "scope.yaml").write_text(SCOPE)
    old = _write(tmp_path / "old", cluster())
    wider = _write(tmp_path / "new", cluster(db_policy=allow_db("[{protocol: TCP}]")))
    outside = _write(tmp_path / "outside", cluster(tools_deny=True))
    args = ("--scope", tmp_path / "scope.yaml", "--as-of", "2026-11-26T00:00:00Z")
    same = compliance("diff", old, old, *args)
    assert same.code == 0, same.err
    res = compliance("diff", old, wider, *args, "--format", "json")
    assert res.code == 1, res.err
    doc = json.loads(res.out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["old"]["digest"] is None and doc["old"]["source"] == str(old)
    assert zone(doc)["verdict"] == "changed"
    assert compliance("diff", old, wider, *args, "--exit-zero").code == 0
    md = compliance("diff", old, wider, *args, "--format", "md", "--exit-zero")
    assert md.out.startswith("# Changes from") and "## Segmentation per zone" in md.out
    # A change outside every zone does not fail the gate.
    assert compliance("diff", outside, old, *args).code == 0


def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, compliance: Callable[..., Result]
) -> None:
    old = _write(tmp_path / "old", cluster())
    res = compliance("diff", old, old)
    assert res.code == 2 and len(res.err_lines) == 1 and "--scope" in res.err
    res = compliance("diff", old, tmp_path / "missing.yaml", "--scope", tmp_path / "none.yaml")
    assert res.code == 2 and len(res.err_lines) == 1 and "Traceback" not in res.err


def test_packs_and_zips_as_either_side(
    sample_pack: Path,
    tmp_path: Path,
    compliance: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    zipped = sample_pack.with_name("evidence.zip")
    res = compliance("diff", sample_pack, zipped, "--format", "json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    jsonschema.validate(doc, SCHEMA)
    manifest = json.loads((sample_pack / "manifest.json").read_text())
    assert doc["old"]["digest"] == doc["new"]["digest"] == manifest["digest"]["value"]
    assert all(z["verdict"] == "unchanged" for z in doc["zones"])
    # An export on one side takes the pack's scope and as-of.
    res = compliance("diff", sample_pack, "samples/shop-cluster", "--format", "json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["new"]["digest"] is None and doc["new"]["as_of"] == doc["old"]["as_of"]
    assert doc["policies"] == [] and doc["findings"]["new"] == []
    # A pack from an unknown snapshot format is refused.
    copy = tmp_path / "pack"
    shutil.copytree(sample_pack, copy)
    snap = json.loads((copy / "snapshot.json").read_text())
    snap["format"] = "compliance-snapshot/99"
    (copy / "snapshot.json").write_text(json.dumps(snap))
    res = compliance("diff", copy, sample_pack)
    assert res.code == 2 and len(res.err_lines) == 1
    assert "unknown snapshot format" in res.err


def _sample_side(cluster: str, scope: str, as_of: str) -> DiffSide:
    return DiffSide(f"samples/{cluster}", None, sample_evaluation(scope, as_of, cluster))


def test_the_q2_sample_shows_what_the_samples_readme_says() -> None:
    old = _sample_side("shop-cluster", "pci-dss", AS_OF)
    new = _sample_side("shop-cluster-q2", "pci-dss-q2", "2027-03-01T00:00:00+00:00")
    doc = run_diff(old, new)
    verdicts = {z["zone"]: z["verdict"] for z in doc["zones"]}
    assert verdicts == {
        "cardholder-data": "changed",
        "cde": "changed",
        "ingress-tier": "unchanged",
        "shared-services": "changed",
    }
    loosened = "analytics/data-pipeline[Deployment] -> production/postgres[StatefulSet]"
    assert loosened in zone(doc)["flows"]
    added = {(f["src"], f["dst"], f["ports_now"]) for f in doc["flows"]["touching_zones"]}
    assert added == {
        ("analytics/data-pipeline[Deployment]", "production/postgres[StatefulSet]", "TCP 5432"),
        ("analytics/data-pipeline[Deployment]", "production/kafka-connect[Deployment]", "TCP 9092"),
        ("production/app[Deployment]", "production/kafka-connect[Deployment]", "TCP 9092"),
        ("production/kafka-connect[Deployment]", "kube-system/coredns[Deployment]", "UDP 53"),
    }
    assert all(f["change"] == "added" for f in doc["flows"]["touching_zones"])
    assert doc["flows"]["other_changes"] == 0
    (pol,) = doc["policies"]
    assert pol["policy"] == "production/postgres-access" and pol["change"] == "modified"
    assert pol["flows_added"] == [f"{loosened}: TCP 5432"] and pol["flows_removed"] == []
    assert doc["workloads"] == [
        {
            "workload": "production/kafka-connect[Deployment]",
            "change": "added",
            "entered": ["cde"],
            "left": [],
        }
    ]
    assert {"framework": "pci-dss-4.0.1", "requirement": "1.4.4", "before": "supported",
            "now": "fail"} in doc["requirements"]  # fmt: skip
    assert len(doc["findings"]["resolved"]) == 3
    assert doc["register"] == {"added": ["AF-007"], "removed": [], "expired": []}
    assert doc["waivers"] == {"added": [], "removed": [], "expired": ["WV-001"]}


PROCESSOR = """---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: processor}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: shop}}}
  egress:
  - name: to-processor
    action: Allow
    to: [{domainNames: [api.stripe.example]}]
    ports: [{portNumber: {protocol: TCP, port: 443}}]
"""


def test_egress_to_a_domain_name_gained_is_a_flow_change_across_the_zone() -> None:
    doc = run_diff(side(cluster()), side(cluster(extra=PROCESSOR)))
    added = [f for f in doc["flows"]["touching_zones"] if f["dst"] == "name:api.stripe.example"]
    (flow,) = added
    assert (flow["src"], flow["change"], flow["ports_now"]) == ("shop/db[Pod]", "added", "TCP 443")
    assert any("anp/processor egress[to-processor]" in r for r in flow["rules_now"])
    assert zone(doc)["verdict"] == "changed"
    assert "shop/db[Pod] -> name:api.stripe.example" in zone(doc)["flows"]
    (pol,) = doc["policies"]
    assert pol["policy"] == "anp/processor" and pol["effect"] == "changes flows"
