"""MLE and scheduled sampling on the SeqGAN authors' oracle (SeqGAN Table 1 rows MLE, SS).

Each run is the exact CLI command a user would type; runs go in parallel, one thread each.
Every finished run appends one JSON line to OUT/results.jsonl, so partial results survive.

    python benchmarks/bench_mle_oracle.py --seeds 0 1 2 --workers 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from cli_runs import append_result, run_parallel, train_and_evaluate

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
    cmd, wall, final, evaluation = train_and_evaluate(cmd, out, args.threads)
    record = {"variant": variant, "seed": seed, "wall_s": wall, "threads": args.threads,
              "command": " ".join(cmd), "nll_oracle": evaluation["nll_oracle"],
              "nll_test": evaluation["nll_test"], "last_train_eval": final}
    append_result(Path(args.out) / "results.jsonl", record)
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
        run_parallel(jobs, args.workers, lambda variant, seed: run_one(variant, seed, args))
    summarise(Path(args.out) / "results.jsonl")


if __name__ == "__main__":
    main()
