"""SeqGAN Table 1 on the authors' oracle: SeqGAN, RankGAN, PG-BLEU and the constant-reward
control, each from the 120-epoch MLE run of the same seed (benchmarks/out/mle_oracle).

Each run is the exact CLI command a user would type; runs go in parallel, one thread each
by default. Every finished run appends one JSON line to OUT/results.jsonl. The final number
is `textrl evaluate --json --seed 0` (10,000 samples), as for the MLE rows.

    python benchmarks/bench_adversarial.py --recipes seqgan rankgan pg-bleu constant \
        --seeds 0 1 2 --workers 2 --config cpu
    python benchmarks/bench_adversarial.py --recipes seqgan --seeds 0 --flags "--real-data oracle" \
        --out benchmarks/out/adversarial_variants/real-oracle

Besides the last iteration, the table gives the lowest NLL-oracle the run logged after
iteration 0: the SeqGAN authors' Table 1 numbers are that selection (their scripts score
NLL-oracle after every iteration and keep the best; run with --flags "--eval-every 1").
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from pathlib import Path

from cli_runs import append_result, mean_sd, read_log, run_parallel, train_and_evaluate
from shared_data import ORACLE

PAPER = {"seqgan": 8.736, "rankgan": 8.247, "pg-bleu": 8.946, "constant": None}


def run_one(recipe: str, seed: int, args: argparse.Namespace) -> dict:
    out = Path(args.out) / f"{recipe}-seed{seed}"
    cmd = ["textrl", "train", recipe, "--oracle", str(ORACLE), "--init",
           str(Path(args.mle_runs) / f"{args.start}-seed{seed}"), "--seed", str(seed),
           "--config", args.config,
           "--out", str(out), "--quiet", *shlex.split(args.flags)]
    cmd, wall, _, evaluation = train_and_evaluate(cmd, out, args.threads)
    log = read_log(out)
    adversarial_s = sum(r["time_s"] for r in log if r["iteration"] > 0)
    record = {"recipe": recipe, "seed": seed, "config": args.config, "flags": args.flags,
              "threads": args.threads,
              "workers": args.workers, "wall_s": wall, "adversarial_s": adversarial_s,
              "d_pretrain_s": log[0].get("d_pretrain_s", 0.0), "command": " ".join(cmd),
              "nll_oracle": evaluation["nll_oracle"], "nll_test": evaluation["nll_test"],
              "self_bleu4": evaluation.get("self_bleu4"),
              "start_nll_oracle": log[0]["nll_oracle"]}
    append_result(Path(args.out) / "results.jsonl", record)
    return record


def best_logged(run: Path) -> tuple[float, int, int]:
    """``(lowest NLL-oracle logged after iteration 0, its iteration, evaluations)``."""
    scored = [(r["nll_oracle"], r["iteration"]) for r in read_log(run)
              if r["iteration"] > 0 and "nll_oracle" in r]
    return (*min(scored), len(scored))


def summarise(out: Path) -> None:
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()
               if line]
    print("| recipe | config | runs | NLL-oracle, last iteration | per seed | best logged "
          "(authors' selection) | per seed (iteration) | evaluations | paper | NLL-test | "
          "adversarial phase, min (per seed) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for recipe in PAPER:
        for config in sorted({r["config"] for r in records}):
            rows = sorted((r for r in records if r["recipe"] == recipe and r["config"] == config),
                          key=lambda r: r["seed"])
            if not rows:
                continue
            values = [r["nll_oracle"] for r in rows]
            best = [best_logged(out / f"{recipe}-seed{r['seed']}") for r in rows]
            tests = statistics.mean(r["nll_test"] for r in rows)
            walls = ", ".join(f"{r['adversarial_s'] / 60:.1f}" for r in rows)
            print(f"| {recipe} | {config} | {len(rows)} | {mean_sd(values)} "
                  f"| {', '.join(f'{v:.3f}' for v in values)} "
                  f"| {mean_sd([b[0] for b in best])} "
                  f"| {', '.join(f'{b[0]:.3f} ({b[1]})' for b in best)} "
                  f"| {', '.join(str(b[2]) for b in best)} | {PAPER[recipe] or '-'} | "
                  f"{tests:.3f} | {walls} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipes", nargs="+", default=list(PAPER), choices=list(PAPER))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--config", default="cpu")
    parser.add_argument("--flags", default="",
                        help="more `textrl train` flags, e.g. '--real-data oracle'")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/adversarial")
    parser.add_argument("--mle-runs", default="benchmarks/out/mle_oracle",
                        help="the MLE starts: DIR/START-seedS")
    parser.add_argument("--start", default="mle",
                        help="the MLE starts' variant (bench_mle_oracle.py's): mle, transformer")
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.summary:
        starts = [Path(args.mle_runs) / f"{args.start}-seed{s}" / "checkpoint.pt"
                  for s in args.seeds]
        missing = [p for p in [ORACLE, *starts] if not p.exists()]
        if missing:
            sys.exit(f"needs {', '.join(map(str, missing))} (run bench_mle_oracle.py first)")
        jobs = [(r, s) for r in args.recipes for s in args.seeds]
        run_parallel(jobs, args.workers, lambda recipe, seed: run_one(recipe, seed, args))
    summarise(Path(args.out))


if __name__ == "__main__":
    main()
