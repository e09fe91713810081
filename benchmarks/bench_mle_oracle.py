"""MLE and scheduled sampling on the SeqGAN authors' oracle (SeqGAN Table 1 rows MLE, SS).

Each run is the exact CLI command a user would type; runs go in parallel, one thread each.
Every finished run appends one JSON line to OUT/results.jsonl, so partial results survive.

    python benchmarks/bench_mle_oracle.py --seeds 0 1 2 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ORACLE = Path(__file__).resolve().parents[2] / "shared/data/seqgan_oracle/target_params_py3.pkl"
VARIANTS = {
    "mle": [],
    # The authors' schedule_sampling.py: the teacher-forcing rate falls 0.002 per epoch.
    "ss": ["--scheduled-sampling", "linear", "--ss-k", "0.002"],
}


def run_one(variant: str, seed: int, args: argparse.Namespace) -> dict:
    out = Path(args.out) / f"{variant}-seed{seed}"
    cmd = ["textrl", "train", "mle", "--oracle", str(ORACLE), "--epochs", str(args.epochs),
           "--seed", str(seed), "--eval-every", str(args.eval_every), "--out", str(out),
           "--quiet", *VARIANTS[variant]]
    if (out / "checkpoint.pt").exists():
        cmd.append("--resume")
    env = os.environ | {"OMP_NUM_THREADS": str(args.threads)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    final = json.loads(proc.stdout.strip().splitlines()[-1])
    evaluation = json.loads(subprocess.run(
        ["textrl", "evaluate", str(out), "--json", "--seed", "0"], env=env, capture_output=True,
        text=True, check=True).stdout)
    record = {"variant": variant, "seed": seed, "wall_s": wall, "threads": args.threads,
              "command": " ".join(cmd), "nll_oracle": evaluation["nll_oracle"],
              "nll_test": evaluation["nll_test"], "last_train_eval": final}
    with open(Path(args.out) / "results.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)
    return record


def summarise(path: Path) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line]
    for variant in VARIANTS:
        rows = [r for r in records if r["variant"] == variant]
        if not rows:
            continue
        values = [r["nll_oracle"] for r in rows]
        sd = statistics.stdev(values) if len(values) > 1 else float("nan")
        walls = ", ".join(f"{r['wall_s'] / 60:.1f}" for r in rows)
        print(f"| {variant} | {len(rows)} | {statistics.mean(values):.3f} ± {sd:.3f} | "
              f"{', '.join(f'{v:.3f}' for v in values)} | {walls} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--eval-every", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/mle_oracle")
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.summary:
        if not ORACLE.exists():
            sys.exit(f"needs the SeqGAN oracle file at {ORACLE}")
        jobs = [(v, s) for v in args.variants for s in args.seeds]
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(lambda job: run_one(*job, args), jobs))
    summarise(Path(args.out) / "results.jsonl")


if __name__ == "__main__":
    main()
