"""MaskGAN's table on PTB (issue 13): for each seed the `cpu` pipeline a user would run, a
language model (MLE on windows of 20 words), MaskMLE started from it (`--init-lm`), then
MaskGAN from the MaskMLE run (`--init`); plus one evaluator LM of another seed that scores
everyone's samples (MaskGAN's protocol: perplexity of free-running samples under an LM).

    python benchmarks/bench_maskgan.py --seeds 0 1 2 --workers 2
    python benchmarks/bench_maskgan.py --summary

Each finished stage appends a JSON line to OUT/results.jsonl (its command and wall time); a
stage already there is skipped, so a stopped benchmark continues where it was. Then every
model is scored by `textrl evaluate --json --seed 0 --samples 1000 --scorer OUT/scorer`
(LM and MaskMLE at their best validation checkpoint, MaskGAN at its last iteration),
seed 0's three models are swept over temperatures with `textrl compare`, and seed 0's
in-fillers fill the same five blanked test windows (OUT/infill.txt).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from cli_runs import append_result, evaluate, mean_sd, read_log, recorded, run_parallel, train_stage
from provenance import provenance
from shared_data import PTB

DATA = ["--data", str(PTB / "ptb.train.txt"), "--valid", str(PTB / "ptb.valid.txt"),
        "--test", str(PTB / "ptb.test.txt")]
# The LM at maskmle-cpu's sizes, so that --init-lm fits it.
LM = ["--windows", "20", "--emb-dim", "128", "--hidden-dim", "128", "--lr", "0.003",
      "--eval-every", "1", "--eval-samples", "100"]
MODELS = ("lm", "maskmle", "maskgan")
PAPER = {"lm": "ppl 78; unique 40.6/75.2/91.9", "maskmle": "masked ppl 55.3; sample ppl "
         "273.1 (IMDB); unique 43.6/77.4/92.6", "maskgan": "sample ppl 108.3 (IMDB); unique "
         "38.2/70.7/88.2"}


def stage(name: str, cmd: list[str], args: argparse.Namespace) -> None:
    train_stage(Path(args.out), name, cmd, args.threads, workers=args.workers)


def pipeline(seed: int, args: argparse.Namespace) -> None:
    out, s = Path(args.out), str(seed)
    if seed < 0:  # the evaluator LM
        stage("scorer", ["textrl", "train", "mle", *DATA, *LM, "--epochs", str(args.lm_epochs),
                         "--seed", str(args.scorer_seed)], args)
        return
    stage(f"lm-seed{s}", ["textrl", "train", "mle", *DATA, *LM, "--epochs", str(args.lm_epochs),
                          "--seed", s], args)
    stage(f"maskmle-seed{s}", ["textrl", "train", "maskmle", *DATA, "--config", "cpu",
                               "--init-lm", str(out / f"lm-seed{s}"), "--seed", s], args)
    stage(f"maskgan-seed{s}", ["textrl", "train", "maskgan", "--config", "cpu", "--init",
                               str(out / f"maskmle-seed{s}"), "--seed", s,
                               *shlex.split(args.maskgan_flags)], args)


def score(args: argparse.Namespace) -> None:
    out = Path(args.out)
    scored = out / "scores.jsonl"
    have = recorded(scored)
    scorer = ["--samples", str(args.samples), "--scorer", str(out / "scorer")]
    for name in sorted(set(recorded(out / "results.jsonl")) - set(have) - {"scorer"}):
        best = [] if name.startswith("maskgan") else ["--checkpoint", "best"]
        result = evaluate(out / name, args.threads * args.workers, [*scorer, *best])
        append_result(scored, {"run": name, "threads": args.threads * args.workers}
                      | {k: v for k, v in result.items() if k != "settings"})
    plane = out / "compare.jsonl"
    if not plane.exists():
        runs = [str(out / f"{m}-seed0") for m in MODELS]
        rows = subprocess.run(["textrl", "compare", *runs, "--temperatures", "0.7", "0.85", "1.0",
                               "1.2", "--samples", str(args.samples), "--json", "--plot",
                               str(out / "quality_diversity.png"), *scorer[2:]],
                              capture_output=True, text=True, check=True).stdout
        stamp = {"provenance": provenance(args.threads * args.workers)}
        plane.write_text("".join(json.dumps(json.loads(row) | stamp) + "\n"
                                 for row in rows.splitlines() if row.strip()))
    filled = out / "infill.txt"
    if not filled.exists():  # the same five test windows, the same blanks, for both models
        # The test file's first lines (a few windows, not 4,000), kept out of the repository.
        head = Path(tempfile.mkdtemp()) / "test_head.txt"
        head.write_text("".join((PTB / "ptb.test.txt").read_text().splitlines(True)[:8]))
        lines = []
        for model in ("maskmle", "maskgan"):
            rows = subprocess.run(["textrl", "infill", str(out / f"{model}-seed0"), "--file",
                                   str(head), "--mask", "contiguous", "--rate", "0.5",
                                   "--seed", "0"], capture_output=True, text=True,
                                  check=True).stdout.splitlines()
            lines += [f"{model}\t{row}" for row in rows[:5]]
        filled.write_text("\n".join(lines) + "\n")


def summarise(out: Path) -> None:
    scores = {r["run"]: r for r in map(json.loads, (out / "scores.jsonl").read_text().splitlines())}
    walls = {r["run"]: r["wall_s"] for r in map(json.loads,
                                                 (out / "results.jsonl").read_text().splitlines())}
    print("| model | seeds | validation perplexity (best epoch) | masked ppl, random 0.5 | masked ppl, "
          "contiguous 0.5 | sample ppl under the evaluator LM | % unique 2- / 3- / 4-grams | "
          "4-grams found in validation | training, min | paper |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model in MODELS:
        runs = sorted(r for r in scores if r.startswith(f"{model}-seed"))
        if not runs:
            continue
        rows = [scores[r] for r in runs]
        logs = [read_log(out / r) for r in runs]
        valid = ([min(x["ppl_valid"] for x in log if "ppl_valid" in x) for log in logs]
                 if model == "lm" else None)
        masked = {k: mean_sd([r[f"masked_ppl_{k}"] for r in rows], 1) if "masked_ppl_random"
                  in rows[0] else "-" for k in ("random", "contiguous")}
        unique = " / ".join(mean_sd([100 * r[f"distinct{n}"] for r in rows], 1) for n in (2, 3, 4))
        found = mean_sd([100 * r["in_valid4"] for r in rows], 1)
        minutes = mean_sd([walls[r] / 60 for r in runs], 1)
        print(f"| {model} | {len(runs)} | {mean_sd(valid, 1)} "
              f"| {masked['random']} | {masked['contiguous']} "
              f"| {mean_sd([r['scorer_ppl'] for r in rows], 1)} | {unique} | {found} % "
              f"| {minutes} | {PAPER[model]} |")
    plane = out / "compare.jsonl"
    if plane.exists():
        print("\n| run | temperature | sample ppl (evaluator) | BLEU-4 | self-BLEU-4 | "
              "% unique 4-grams |\n|---|---|---|---|---|---|")
        for row in map(json.loads, plane.read_text().splitlines()):
            print(f"| {Path(row['run']).name} | {row['temperature']} | {row['scorer_ppl']:.1f} "
                  f"| {row['bleu4']:.3f} | {row['self_bleu4']:.3f} "
                  f"| {100 * row['distinct4']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--scorer-seed", type=int, default=1000)
    parser.add_argument("--lm-epochs", type=int, default=6)
    parser.add_argument("--maskgan-flags", default="", help="more `textrl train maskgan` flags")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/maskgan_ptb")
    parser.add_argument("--summary", action="store_true", help="only print the tables")
    parser.add_argument("--train-only", action="store_true",
                        help="train the seeds' pipelines only: no evaluator LM, no scoring")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.summary:
        if not PTB.is_dir():
            sys.exit(f"needs PTB at {PTB}")
        scorer = [] if args.train_only else [-1]
        run_parallel([(s,) for s in [*args.seeds, *scorer]], args.workers,
                     lambda seed: pipeline(seed, args))
        if args.train_only:
            return
        score(args)
    summarise(Path(args.out))


if __name__ == "__main__":
    main()
