"""Same export, same bytes: across processes and hash seeds, in every format."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_flows_side_by_side(runs: list[tuple[list[str], str]]) -> list[bytes]:
    """`compliance flows ARGS` once per (args, hash seed), the processes running at the
    same time (the machine has cores to spare); their standard outputs, in order."""
    procs = []
    for args, hash_seed in runs:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "compliance", "flows", *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outs = []
    for proc in procs:
        out, err = proc.communicate()
        assert proc.returncode == 0, err.decode(errors="replace")
        outs.append(out)
    return outs


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "cluster-200.yaml"
    subprocess.run(
        [sys.executable, "benchmarks/generate.py", "--workloads", "200", "--out", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return out


@pytest.mark.parametrize("fmt", ["json", "txt", "csv", "md"])
def test_output_is_identical_across_hash_seeds(generated: Path, fmt: str) -> None:
    args = [str(generated), "--format", fmt, "--show-rules"]
    first, second = run_flows_side_by_side([(args, "0"), (args, "4242")])
    assert first == second
    assert len(first) > 10_000  # a real cluster's worth of flows, not an empty listing


def test_sample_folder_and_json_list_agree_across_hash_seeds() -> None:
    folder, listing = run_flows_side_by_side(
        [
            (["samples/shop-cluster", "--format", "json", "--show-rules"], "1"),
            (["samples/shop-cluster.json", "--format", "json", "--show-rules"], "2"),
        ]
    )
    assert folder == listing


def test_generated_admin_policies_are_deterministic_and_leave_the_cluster_alone(
    tmp_path: Path,
) -> None:
    import yaml

    def generate(name: str, hash_seed: str, *extra: str) -> bytes:
        out = tmp_path / name
        cmd = [sys.executable, "benchmarks/generate.py", "--workloads", "200", "--out", str(out)]
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([*cmd, *extra], cwd=ROOT, env=env, check=True, capture_output=True)
        return out.read_bytes()

    plain = generate("plain.yaml", "0")
    first = generate("a.yaml", "1", "--admin-policies", "50")
    assert first == generate("b.yaml", "2", "--admin-policies", "50")
    assert first.startswith(plain) and len(first) > len(plain)
    docs = list(yaml.safe_load_all(first[len(plain) :]))
    anps = [d for d in docs if d["kind"] == "AdminNetworkPolicy"]
    (banp,) = [d for d in docs if d["kind"] == "BaselineAdminNetworkPolicy"]
    assert len(anps) == 50 and len(docs) == 51
    assert banp["metadata"]["name"] == "default"
    priorities = [d["spec"]["priority"] for d in anps]
    assert len(set(priorities)) == 50 and all(1 <= p <= 999 for p in priorities)
    actions = {
        r["action"] for d in anps for k in ("ingress", "egress") for r in d["spec"].get(k, [])
    }
    assert actions == {"Allow", "Deny", "Pass"}
    subjects = {next(iter(d["spec"]["subject"])) for d in anps}
    assert subjects == {"namespaces", "pods"}
