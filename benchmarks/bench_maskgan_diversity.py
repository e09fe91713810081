"""MaskGAN's Table 6 ("% unique n-grams", Fedus et al. 2018) at both of the paper's protocols
(issue 28): its caption says 1,000 unconditional PTB samples of 20 words, its text (§5.4)
10,000 IMDB reviews of 40 words, "almost 400K total bi/tri/quad-grams". The share of distinct
n-grams falls as a sample set grows, so the two protocols give different numbers for the same
model. This draws 10,000 unconditional samples of each model at temperature 1 (the evaluation
protocol of `textrl evaluate`: the first word from a random test window, every other position
blank for an in-filler) and reports distinct-2/3/4 over the first 1,000 and over all 10,000,
beside real PTB windows of the training split drawn at random (seed 0) as the reference.

    python benchmarks/bench_maskgan_diversity.py --runs benchmarks/out/maskgan_gaps
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from cli_runs import append_result, recorded

from textrl.device import seeded_generator
from textrl.evaluation import decode_split
from textrl.metrics.diversity import distinct_n
from textrl.recipes import task_of
from textrl.training import load_run

SIZES = (1_000, 10_000)
BEST = ("lm", "maskmle")  # scored at their best validation epoch, as the MaskGAN table


def distinct(samples: list[list[str]]) -> dict[str, float]:
    """% distinct 2-, 3-, 4-grams of the first k samples, for each k of SIZES."""
    return {f"unique{n}_{k}": 100 * distinct_n(samples[:k], n) for k in SIZES for n in (2, 3, 4)}


def model_samples(run: Path, n: int, seed: int) -> tuple[list[list[str]], object]:
    loaded = load_run(run, best=run.name.split("-seed")[0] in BEST)
    corpus = loaded.corpus
    task = task_of(loaded.config, corpus, loaded.data)
    g = seeded_generator(seed, "cpu")
    context = task.sample_contexts(corpus.test, n, g)
    with torch.no_grad():
        sample = task.generate(loaded.model, n, corpus.max_len, context, 1.0, g)
    scored = task.scored_positions(sample.tokens, sample.lengths, context)
    return decode_split(sample.tokens, corpus, scored), corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="benchmarks/out/maskgan_gaps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.runs) / "diversity.jsonl"
    done = recorded(out)
    corpus = None
    for run in sorted(p for p in Path(args.runs).glob("*-seed*") if p.is_dir()):
        if run.name in done or not (run / "checkpoint.pt").is_file():
            continue
        samples, corpus = model_samples(run, max(SIZES), args.seed)
        lengths = [len(s) for s in samples]
        append_result(out, {"run": run.name, "samples": len(samples),
                            "words_mean": sum(lengths) / len(lengths), "threads": 1,
                            "command": "python benchmarks/bench_maskgan_diversity.py --runs "
                                       f"{args.runs}"} | distinct(samples))
    if corpus is not None and "real-train-windows" not in done:
        g = torch.Generator().manual_seed(0)
        rows = torch.randperm(len(corpus.train.tokens), generator=g)[:max(SIZES)]
        real = decode_split(corpus.train.tokens[rows], corpus)
        append_result(out, {"run": "real-train-windows", "samples": len(real), "threads": 1,
                            "command": "python benchmarks/bench_maskgan_diversity.py --runs "
                                       f"{args.runs}"} | distinct(real))


if __name__ == "__main__":
    main()
