"""SeqGAN's Table 2 metric, checked on real poems (issue 28): which BLEU-2 variant gives
held-out real quatrains the paper's "Real data" score of 0.746?

The paper (Yu et al. 2017, §Chinese poem generation) scores BLEU-2 "using the whole test set
as the references"; its Table 2 has MLE 0.6670, SeqGAN 0.7389 and real data 0.746. It does not
say how a poem is tokenised. ../shared/data/poems/shi.txt holds each quatrain as 24 tokens:
four lines of five characters, each line ended by "，" or "。"; the authors' code keeps only
sequences of exactly 20 tokens (LantaoYu/SeqGAN dataloader.py, SEQ_LENGTH = 20), i.e. the 20
characters without punctuation. Here the validation poems (1,639, held out from training like
a model's samples) are scored against the test poems (1,639) under each variant, with the
same Texygen BLEU-2 textrl's `evaluate` reports, on the benchmark's split (data seed 0):

- as-is: 24 tokens with punctuation (what bench_poems.py's BLEU-2 column is);
- no-punctuation: the 20 characters (the authors' sequences);
- per-line: each five-character line against every test line;
- training references: as-is, against the 13,116 training poems;
- and as-is against the first k training poems, k = 1,639 x 1, 2, 3, 4, 6, 8: how BLEU-2
  grows with the size of the reference set, which the paper does not give (and without
  punctuation at k = 1,639 x 3 and x 8).

    python benchmarks/bench_poems_bleu.py        # OUT/real_data.jsonl, one line a variant
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli_runs import append_result, recorded
from shared_data import POEMS

from textrl.datasets import DataConfig, build_corpus
from textrl.evaluation import decode_split
from textrl.metrics.bleu import BLEUScorer

PUNCTUATION = {"，", "。"}
PAPER = {"real": 0.746, "mle": 0.6670, "seqgan": 0.7389}


def without_punctuation(poem: list[str]) -> list[str]:
    return [c for c in poem if c not in PUNCTUATION]


def lines(poems: list[list[str]]) -> list[list[str]]:
    """Each poem's lines, split at its punctuation, punctuation dropped."""
    out = []
    for poem in poems:
        line: list[str] = []
        for token in [*poem, "。"]:  # a closing mark ends a last line left unclosed
            if token not in PUNCTUATION:
                line.append(token)
            elif line:
                out.append(line)
                line = []
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/out/poems_bleu")
    args = parser.parse_args()
    corpus, _ = build_corpus(DataConfig(data=str(POEMS), tokenizer="char", max_len=26))
    train, valid, test = (decode_split(s, corpus) for s in (corpus.train, corpus.valid,
                                                           corpus.test))
    variants = {
        "as-is": (valid, test),
        "no-punctuation": ([without_punctuation(p) for p in valid],
                           [without_punctuation(p) for p in test]),
        "per-line": (lines(valid), lines(test)),
        "training references": (valid, train),
        **{f"{k} training references": (valid, train[:k])
           for k in (len(test) * m for m in (1, 2, 3, 4, 6, 8))},
        **{f"no-punctuation, {k} training references": (
            [without_punctuation(p) for p in valid], [without_punctuation(p) for p in train[:k]])
           for k in (len(test) * m for m in (3, 8))},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    done = recorded(out / "real_data.jsonl")
    for name, (hypotheses, references) in variants.items():
        if name in done:
            continue
        append_result(out / "real_data.jsonl", {
            "run": name, "hypotheses": "validation split", "n_hypotheses": len(hypotheses),
            "n_references": len(references), "bleu2": BLEUScorer(references, 2).mean(hypotheses),
            "paper_real_data": PAPER["real"], "threads": 1,
            "command": "python benchmarks/bench_poems_bleu.py"})


if __name__ == "__main__":
    main()
