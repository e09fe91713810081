"""The grammar benchmark (issue 15): on the embedded arithmetic-expression grammar
(`--data grammar`, textrl/data/grammar.py), per seed the CLI commands a user would run,

- MLE (SeqGAN's generator size, 32/32), the start of the others;
- the Gumbel-softmax GAN from it, RelGAN's feedback and Kusner's (`--mode kusner`);
- SeqGAN from it (policy gradient against the CNN discriminator, Monte-Carlo rollouts);
- the latent-space GAN: an autoencoder (`vae --autoencoder`), then WGAN-GP on its codes;

then `textrl evaluate --json --samples 1000 --seed 0` of each: % grammatical, % novel (not a
training string), unique, distinct-n, at matched sample counts.

    python benchmarks/bench_grammar.py --seeds 0 1 2 --workers 2
    python benchmarks/bench_grammar.py --summary
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from cli_runs import append_result, evaluate, mean_sd, recorded, run_parallel, train

from textrl.data.grammar import grammar_metrics
from textrl.datasets import DataConfig, build_corpus
from textrl.evaluation import decode_split
from textrl.metrics.bleu import self_bleu
from textrl.metrics.diversity import distinct_n, length_stats

SIZES = {"n_train": 10000, "n_valid": 1000, "n_test": 1000}
DATA = ["--data", "grammar", *(f for k, v in SIZES.items() for f in (f"--{k.replace('_', '-')}",
                                                                     str(v)))]
MODELS = {
    "mle": lambda out, s: ["mle", *DATA, "--epochs", "30", "--eval-every", "5"],
    "gumbel-relgan": lambda out, s: ["gumbel-gan", "--init", f"{out}/mle-seed{s}",
                                     "--beta-max", "100"],
    "gumbel-kusner": lambda out, s: ["gumbel-gan", "--init", f"{out}/mle-seed{s}",
                                     "--beta-max", "100", "--mode", "kusner"],
    "seqgan": lambda out, s: ["seqgan", "--init", f"{out}/mle-seed{s}"],
    "autoencoder": lambda out, s: ["vae", *DATA, "--autoencoder", "--emb-dim", "32",
                                   "--hidden-dim", "64", "--latent-dim", "32", "--epochs",
                                   "30", "--kl-anneal", "none", "--dropout", "0"],
    "latent-gan": lambda out, s: ["latent-gan", "--init", f"{out}/autoencoder-seed{s}"],
}


def pipeline(seed: int, args: argparse.Namespace) -> None:
    """Every model of one seed, starts first."""
    out = Path(args.out)
    for model in MODELS:
        name = f"{model}-seed{seed}"
        if name in recorded(out / "results.jsonl"):
            continue
        cmd = ["textrl", "train", *MODELS[model](out, seed), "--seed", str(seed), "--out",
               str(out / name), "--quiet", *shlex.split(args.flags.get(model, ""))]
        cmd, wall, _ = train(cmd, out / name, args.threads)
        scores = evaluate(out / name, args.threads, ["--samples", "1000"])
        append_result(out / "results.jsonl", {"run": name, "model": model, "seed": seed,
                                              "wall_s": wall, "command": " ".join(cmd),
                                              "threads": args.threads}
                      | {k: v for k, v in scores.items() if k != "settings"})
    # LaTextGAN decodes its generated codes greedily: the latent GAN is scored both ways.
    name, records = f"latent-gan-seed{seed}", recorded(out / "results.jsonl")
    if f"{name}-greedy" not in records:
        scores = evaluate(out / name, args.threads, ["--samples", "1000", "--temperature", "0"])
        append_result(out / "results.jsonl", {
            "run": f"{name}-greedy", "model": "latent-gan-greedy", "seed": seed,
            "wall_s": records[name]["wall_s"], "threads": args.threads} | {k: v for k, v in scores.items()
                                                   if k != "settings"})


def real_test_row() -> dict[str, float]:
    """The metrics of the 1,000 held-out grammar strings themselves: what a generator that
    matched the data would score (short strings recur, so many real strings are not novel)."""
    corpus, _ = build_corpus(DataConfig(data="grammar", **SIZES))
    test = decode_split(corpus.test, corpus)
    return (grammar_metrics(test, decode_split(corpus.train, corpus)) | length_stats(test)
            | {"distinct2": distinct_n(test, 2), "distinct4": distinct_n(test, 4),
               "self_bleu4": self_bleu(test, 4)})


def summarise(out: Path) -> None:
    rows = [real_test_row() | {"model": "real"}, *recorded(out / "results.jsonl").values()]
    print("| model | seeds | % grammatical | % novel | % unique | % distinct 2-grams | "
          "% distinct 4-grams | self-BLEU-4 | length | NLL-test | training, min |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for model in ["real", *MODELS, "latent-gan-greedy"]:
        mine = [r for r in rows if r["model"] == model]
        if not mine:
            continue

        def cell(key: str, scale: float = 100.0, digits: int = 1, mine=mine) -> str:
            values = [scale * r[key] for r in mine if key in r]
            return mean_sd(values, digits)

        print(f"| {model} | {len(mine)} | {cell('grammatical')} | {cell('novel')} "
              f"| {cell('unique')} | {cell('distinct2', 100, 2)} | {cell('distinct4', 100, 2)} "
              f"| {cell('self_bleu4', 1, 3)} | {cell('length_mean', 1)} "
              f"| {cell('nll_test', 1, 3)} | {cell('wall_s', 1 / 60)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/grammar")
    parser.add_argument("--flags", type=json.loads, default={},
                        help='more flags per model, e.g. \'{"seqgan": "--iterations 50"}\'')
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.summary:
        run_parallel([(s,) for s in args.seeds], args.workers, lambda s: pipeline(s, args))
    summarise(Path(args.out))


if __name__ == "__main__":
    main()
