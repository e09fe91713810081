"""SeqGAN's Table 2 on the Chinese quatrains: MLE and SeqGAN, BLEU-2 against the test split,
with self-BLEU-4 and NLL-test beside it so that quality and diversity are read together.

Character tokens, a seeded 80/10/10 split of ../shared/data/poems/shi.txt (data seed 0).
Per seed: `textrl train mle` (weights kept from the epoch with the best validation NLL),
then `textrl train seqgan --init MLE --init-checkpoint best`; both are scored by the same
`textrl evaluate --json --seed 0 --samples N` (MLE at its best checkpoint). Every finished
model appends one JSON line to OUT/results.jsonl; `--summary` prints the table.

    python benchmarks/bench_poems.py --seeds 0 1 2 --workers 2 --iterations 50

An arm of the SeqGAN recipe is extra `textrl train seqgan` flags in a folder of its own, e.g.
the paper-era generator learning rate (issue 28):

    python benchmarks/bench_poems.py --seqgan-args "--lr 0.001" --out benchmarks/out/poems_lr0001

How much of a difference between two rows is the evaluation's own sampling: `--sampling-seeds
1 2 3 4` scores the finished models again at those seeds (OUT/sampling_seeds.jsonl), and
`--summary` prints each model's spread across them.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from cli_runs import append_result, mean_sd, read_log, recorded, run_parallel, textrl, train_and_evaluate
from shared_data import POEMS

MODEL = ["--emb-dim", "64", "--hidden-dim", "128", "--dropout", "0.25", "--max-len", "26"]
PAPER = {"mle": 0.6670, "seqgan": 0.7389}
REPORTED = ("bleu2", "bleu3", "sacrebleu4", "self_bleu4", "nll_test", "distinct2", "length_sd")


def samples(out: Path, checkpoint: str, threads: int) -> list[str]:
    return textrl(["sample", str(out), "-n", "5", "--seed", "0", "--checkpoint", checkpoint],
                  threads).splitlines()


def run_seed(seed: int, args: argparse.Namespace) -> None:
    root = Path(args.out)
    evaluate = ["--samples", str(args.samples)]
    mle = root / f"mle-seed{seed}"
    cmd = ["textrl", "train", "mle", "--data", str(POEMS), "--tokenizer", "char", *MODEL,
           "--epochs", str(args.epochs), "--eval-every", "1", "--seed", str(seed),
           "--out", str(mle), "--quiet"]
    cmd, wall, _, scores = train_and_evaluate(cmd, mle, args.threads,
                                              evaluate + ["--checkpoint", "best"])
    best_epoch = min(read_log(mle), key=lambda r: r["nll_valid"])["epoch"]
    append_result(root / "results.jsonl", {
        "model": "mle", "seed": seed, "wall_s": wall, "threads": args.threads, "command": " ".join(cmd),
        "best_epoch": best_epoch, "samples": samples(mle, "best", args.threads)} | scores)

    seqgan = root / f"seqgan-seed{seed}"
    cmd = ["textrl", "train", "seqgan", "--init", str(mle), "--init-checkpoint", "best",
           "--config", args.config, "--iterations", str(args.iterations), "--seed", str(seed),
           *shlex.split(args.seqgan_args), "--out", str(seqgan), "--quiet"]
    cmd, wall, _, scores = train_and_evaluate(cmd, seqgan, args.threads, evaluate)
    append_result(root / "results.jsonl", {
        "model": "seqgan", "seed": seed, "wall_s": wall, "threads": args.threads, "command": " ".join(cmd),
        "samples": samples(seqgan, "last", args.threads)} | scores)


def rescore(root: Path, args: argparse.Namespace) -> None:
    """Each finished model scored again at other sampling seeds (the rows use seed 0), into
    OUT/sampling_seeds.jsonl: how far a row moves with the evaluation's own sampling alone."""
    path = root / "sampling_seeds.jsonl"
    done = recorded(path)
    for seed in args.seeds:
        for model, checkpoint in (("mle", ["--checkpoint", "best"]), ("seqgan", [])):
            for sampling_seed in args.sampling_seeds:
                name = f"{model}-seed{seed}-sampling{sampling_seed}"
                if name in done:
                    continue
                scores = json.loads(textrl(["evaluate", str(root / f"{model}-seed{seed}"),
                                            "--json", "--seed", str(sampling_seed), "--samples",
                                            str(args.samples), *checkpoint], args.threads))
                append_result(path, {"run": name, "model": model, "seed": seed,
                                     "sampling_seed": sampling_seed, "threads": args.threads}
                              | {key: scores[key] for key in REPORTED})


def training_minutes(run: Path) -> float:
    """Time spent training, from the run's own log (a resumed command's wall time is not)."""
    return sum(r.get("time_s", 0.0) + r.get("d_pretrain_s", 0.0) for r in read_log(run)) / 60


def summarise(path: Path) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line]
    print("| model | seeds | " + " | ".join(REPORTED) + " | paper BLEU-2 | "
          "training min (per seed) |")
    print("|---|---|" + "---|" * len(REPORTED) + "---|---|")
    for model, paper in PAPER.items():
        rows = sorted((r for r in records if r["model"] == model), key=lambda r: r["seed"])
        if not rows:
            continue
        cells = [mean_sd([r[key] for r in rows], 4) for key in REPORTED]
        minutes = [training_minutes(path.parent / f"{model}-seed{r['seed']}") for r in rows]
        walls = ", ".join(f"{m:.1f}" for m in minutes)
        print(f"| {model} | {', '.join(str(r['seed']) for r in rows)} | {' | '.join(cells)} | "
              f"{paper} | {walls} |")
    # BLEU-2 by (model, seed, sampling seed); the rows above were sampled with seed 0.
    bleu2 = {(r["model"], r["seed"], 0): r["bleu2"] for r in records} | {
        (r["model"], r["seed"], r["sampling_seed"]): r["bleu2"]
        for r in recorded(path.parent / "sampling_seeds.jsonl").values()}
    rescored = sorted({seed for _, seed, sampling in bleu2 if sampling})
    if rescored:
        print("\n| seed | MLE BLEU-2 across sampling seeds | SeqGAN | SeqGAN - MLE, sampling seed "
              "by sampling seed |\n|---|---|---|---|")
    for seed in rescored:
        by_model = {model: {k: v for (m, s, k), v in bleu2.items() if (m, s) == (model, seed)}
                    for model in PAPER}
        change = [by_model["seqgan"][k] - by_model["mle"][k]
                  for k in sorted(by_model["mle"].keys() & by_model["seqgan"].keys())]
        print(f"| {seed} | " + " | ".join(f"{mean_sd(list(v.values()), 4)} (n={len(v)})"
                                         for v in by_model.values())
              + f" | {mean_sd(change, 4)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--iterations", type=int, default=50, help="SeqGAN iterations")
    parser.add_argument("--config", default="cpu", help="SeqGAN preset or YAML file")
    parser.add_argument("--seqgan-args", default="",
                        help="extra flags of `textrl train seqgan` (an arm: its own --out)")
    parser.add_argument("--samples", type=int, default=2000, help="samples scored per model")
    parser.add_argument("--workers", type=int, default=1, help="seeds run in parallel")
    parser.add_argument("--threads", type=int, default=1, help="threads per run")
    parser.add_argument("--out", default="benchmarks/out/poems")
    parser.add_argument("--summary", action="store_true", help="only print the table")
    parser.add_argument("--sampling-seeds", type=int, nargs="+",
                        help="only score the finished models of --seeds again at these sampling "
                             "seeds (OUT/sampling_seeds.jsonl)")
    args = parser.parse_args()
    root = Path(args.out)
    if args.summary:
        summarise(root / "results.jsonl")
        return
    if args.sampling_seeds:
        rescore(root, args)
        return
    if not POEMS.exists():
        sys.exit(f"needs the quatrains at {POEMS}")
    root.mkdir(parents=True, exist_ok=True)
    run_parallel([(seed, args) for seed in args.seeds], args.workers, run_seed)
    summarise(root / "results.jsonl")


if __name__ == "__main__":
    main()
