"""Time checking a large Hubble flow log against the shop sample: SEG-22 and SEG-21 read
every line once and keep bounded per-flow counts, so time grows with the lines and
memory with the distinct flows.

    python benchmarks/flowlog.py [--flows 200000] [--keep]

Writes `benchmarks/out/hubble-N.jsonl` (git-ignored; regenerated when missing) with N
Hubble exporter lines (`{"flow": ..., "node_name": ..., "time": ...}`, about 500 bytes
each: 2,000,000 lines is about 1 GB) over the shop's workloads, mostly flows the
policies allow, some they deny and some dropped, timestamps spread over 14 days. Then
runs the real CLI in its own process,

    python -m compliance evaluate samples/shop-cluster --scope samples/pci-dss.scope.yaml
        --as-of 2026-11-26T00:00:00Z --format json --exit-zero --flow-log FILE

and prints the log's size, the wall time and the child's peak RSS (`os.wait4`). The
target (issue 13): 1 GB in under 2 minutes and 1 GiB of memory. The log is deleted
afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
START = 1794474000  # 2026-11-12T09:00:00Z

ENDS = {
    "nginx": ("ingress-nginx", "ingress-nginx-controller", "Deployment", "5c8d66c76d"),
    "app": ("production", "app", "Deployment", "7c9d5b8f4"),
    "postgres": ("production", "postgres", "StatefulSet", None),
    "redis": ("production", "redis", "StatefulSet", None),
    "kafka": ("production", "kafka", "StatefulSet", None),
    "debug": ("production", "debug-shell", "Deployment", "6f7b9c5d8"),
    "logging": ("shared-services", "logging", "Deployment", "7d9f8c6b5d"),
    "pipeline": ("analytics", "data-pipeline", "Deployment", "6b687c8dcb"),
}
# (source, destination, port, verdict, weight): mostly allowed traffic.
SHAPES = [
    ("nginx", "app", 8080, "FORWARDED", 40),
    ("app", "postgres", 5432, "FORWARDED", 25),
    ("app", "redis", 6379, "FORWARDED", 15),
    ("app", "kafka", 9092, "FORWARDED", 10),
    ("pipeline", "kafka", 9092, "FORWARDED", 5),
    ("pipeline", "postgres", 5432, "DROPPED", 3),
    ("debug", "app", 8080, "FORWARDED", 1),
    ("app", "logging", 24224, "DROPPED", 1),
]


def _end(key: str, rng: random.Random) -> dict[str, object]:
    ns, name, kind, hash_ = ENDS[key]
    suffix = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
    pod = f"{name}-{hash_}-{suffix}" if hash_ else f"{name}-{rng.randrange(3)}"
    return {
        "identity": 40000 + len(name),
        "namespace": ns,
        "labels": [f"k8s:app={name}", f"k8s:io.kubernetes.pod.namespace={ns}"],
        "pod_name": pod,
        "workloads": [{"name": name, "kind": kind}],
    }


def generate(path: Path, flows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    weights = [s[4] for s in SHAPES]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for i in range(flows):
            src, dst, port, verdict, _ = rng.choices(SHAPES, weights)[0]
            moment = START + (i * 14 * 86400) // max(flows, 1)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + ".118230411Z"
            flow = {
                "time": stamp,
                "uuid": f"{rng.getrandbits(64):016x}-{i:012d}",
                "verdict": verdict,
                "IP": {"source": "10.0.1.23", "destination": "10.0.2.41", "ipVersion": "IPv4"},
                "l4": {"TCP": {"source_port": 30000 + i % 30000, "destination_port": port}},
                "source": _end(src, rng),
                "destination": _end(dst, rng),
                "Type": "L3_L4",
                "node_name": "shop/worker-1",
                "traffic_direction": "INGRESS",
                "is_reply": False,
            }
            if verdict == "DROPPED":
                flow["drop_reason_desc"] = "POLICY_DENIED"
            out.write(json.dumps({"flow": flow, "node_name": "shop/worker-1", "time": stamp}))
            out.write("\n")
    tmp.replace(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="Keep the generated log.")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"hubble-{args.flows}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.flows)
        print(f"generated {path.name} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    size = path.stat().st_size
    cmd = [
        sys.executable, "-m", "compliance", "evaluate", "samples/shop-cluster",
        "--scope", "samples/pci-dss.scope.yaml", "--as-of", "2026-11-26T00:00:00Z",
        "--format", "json", "--exit-zero", "--flow-log", str(path),
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stdout = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if not args.keep:
        path.unlink()
    if os.waitstatus_to_exitcode(status) != 0:
        print("compliance evaluate failed", file=sys.stderr)
        return 1
    observed = json.loads(stdout)["observed"]
    peak = usage.ru_maxrss / 1024
    print(
        f"{args.flows} Hubble lines, {size / 1e9:.2f} GB: {wall:.1f}s, peak {peak:.0f} MiB, "
        f"{observed['records']} records into {len(observed['flows'])} distinct flows; "
        f"target 1 GB in < 120 s and < 1024 MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
