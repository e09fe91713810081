"""Issue 14's annealing comparison: which remedies keep the sentence VAE's KL above zero on
PTB, and at what cost in NLL. Every run is `textrl train vae --config cpu` on the standard
split with one schedule, with and without Bowman's word dropout (keep rate 0.75), then
`textrl evaluate --json --checkpoint best --samples 1000 --importance-samples K`.

Schedules, scaled to the run's --epochs E (S gradient steps an epoch, batch 32):
- none: KL weight 1 from the first step;
- linear: 0.1 rising to 1 over the first E/2 epochs (the `cpu` preset, texar's rule);
- sigmoid: the logistic 1 / (1 + exp(-k (step - x0))), k = 0.0025, x0 at E/3 epochs;
- cyclical: E x 2 cycles, each rising from 0 to 1 over its first half, then 1 (Fu et al.);
- free-bits: weight 1, each code dimension's KL floored at 0.125 nats (4 over z = 32).

    python benchmarks/bench_vae_annealing.py --epochs 3 --workers 2
    python benchmarks/bench_vae_annealing.py --summary
"""

from __future__ import annotations

import argparse
import math
import shlex
from pathlib import Path

from cli_runs import append_result, evaluate, recorded, run_parallel, train_stage
from shared_data import PTB

BATCH = 32
WORD_KEEP = 0.75
SCHEDULES = ("none", "linear", "sigmoid", "cyclical", "free-bits")


def schedule_flags(schedule: str, epochs: int, steps_per_epoch: int) -> list[str]:
    if schedule == "none":
        return ["--kl-anneal", "none"]
    if schedule == "linear":
        return ["--kl-anneal", "linear", "--kl-start", "0.1", "--kl-warmup", str(epochs / 2)]
    if schedule == "sigmoid":
        return ["--kl-anneal", "sigmoid", "--kl-k", "0.0025", "--kl-x0",
                str(round(epochs / 3 * steps_per_epoch))]
    if schedule == "cyclical":
        return ["--kl-anneal", "cyclical", "--kl-start", "0", "--kl-cycle", "0.5",
                "--kl-ratio", "0.5"]
    return ["--kl-anneal", "none", "--free-bits", "0.125"]


def run_one(schedule: str, word_keep: float, steps: int, args: argparse.Namespace) -> None:
    """Train and score one schedule; ``steps`` gradient steps make an epoch."""
    out, ptb = Path(args.out), Path(args.ptb)
    name = f"{schedule}-keep{word_keep}"
    cmd = ["textrl", "train", "vae", "--data", str(ptb / "ptb.train.txt"), "--valid",
           str(ptb / "ptb.valid.txt"), "--test", str(ptb / "ptb.test.txt"), "--config", "cpu",
           "--batch-size", str(BATCH), "--epochs", str(args.epochs), "--seed", str(args.seed),
           "--word-keep", str(word_keep), *schedule_flags(schedule, args.epochs, steps),
           *shlex.split(args.vae_flags)]
    train_stage(out, name, cmd, args.threads, schedule=schedule, word_keep=word_keep)
    if f"{name}-scores" not in recorded(out / "results.jsonl"):
        scores = evaluate(out / name, args.threads, [
            "--checkpoint", "best", "--samples", "1000", "--importance-samples",
            str(args.importance_samples)])
        append_result(out / "results.jsonl", {"run": f"{name}-scores", "schedule": schedule,
                                              "word_keep": word_keep, "threads": args.threads}
                      | {k: v for k, v in scores.items() if k != "settings"})


def summarise(out: Path) -> None:
    records = recorded(out / "results.jsonl")
    print("| schedule | word keep | test NLL per sentence: bound | importance-weighted | "
          "perplexity (IW) | KL | active units | mutual information | training, min |")
    print("|---|---|---|---|---|---|---|---|---|")
    for schedule in SCHEDULES:
        for keep in (1.0, WORD_KEEP):
            name = f"{schedule}-keep{keep}"
            r = records.get(f"{name}-scores")
            if r is None:
                continue
            print(f"| {schedule} | {keep} | {r['nll_bound']:.2f} | {r['nll_iw']:.2f} | "
                  f"{r['ppl_iw']:.1f} | {r['kl']:.2f} | {r['active_units']} | "
                  f"{r['mutual_info']:.2f} | {records[name]['wall_s'] / 60:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", nargs="+", default=list(SCHEDULES), choices=SCHEDULES)
    parser.add_argument("--word-keep", type=float, nargs="+", default=[1.0, WORD_KEEP])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--importance-samples", type=int, default=5)
    parser.add_argument("--vae-flags", default="", help="more `textrl train vae` flags")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ptb", default=str(PTB), help="a folder of ptb.{train,valid,test}.txt")
    parser.add_argument("--out", default="benchmarks/out/vae_annealing")
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    out = Path(args.out)
    if not args.summary:
        out.mkdir(parents=True, exist_ok=True)
        lines = len((Path(args.ptb) / "ptb.train.txt").read_text().splitlines())
        run_parallel([(s, k) for s in args.schedules for k in args.word_keep], args.workers,
                     lambda s, k: run_one(s, k, math.ceil(lines / BATCH), args))
    summarise(out)


if __name__ == "__main__":
    main()
