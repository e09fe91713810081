"""Texygen BLEU: textrl's implementation against NLTK, on Penn Treebank sentences.

1. Equality: 200 hypotheses (ptb.valid) against 1,000 references (ptb.test), n = 2..5.
2. Speed: 2,000 hypotheses against 10,000 references (ptb.train) at n = 4. NLTK runs on
   the first --nltk-hypotheses of them (it needs ~0.2 s each); both rates are per
   hypothesis, measured in this one run.

    python benchmarks/bench_bleu.py
"""

from __future__ import annotations

import argparse
import json
import time

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from provenance import provenance
from shared_data import PTB

from textrl.metrics.bleu import bleu


def nltk_bleu(hypotheses, references, n):
    smooth = SmoothingFunction().method1
    weights = tuple(1.0 / n for _ in range(n))
    return sum(sentence_bleu(references, h, weights, smoothing_function=smooth)
               for h in hypotheses) / len(hypotheses)


def read(name: str, count: int) -> list[list[str]]:
    lines = (PTB / name).read_text(encoding="utf-8").splitlines()
    return [line.split() for line in lines if line.strip()][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nltk-hypotheses", type=int, default=50)
    args = parser.parse_args()
    result = {"equality": [], "speed": {}}
    hyps, refs = read("ptb.valid.txt", 200), read("ptb.test.txt", 1000)
    for n in (2, 3, 4, 5):
        ours, theirs = bleu(hyps, refs, n), nltk_bleu(hyps, refs, n)
        result["equality"].append({"n": n, "textrl": ours, "nltk": theirs,
                                   "abs_diff": abs(ours - theirs)})
    hyps, refs = read("ptb.valid.txt", 2000), read("ptb.train.txt", 10_000)
    t0 = time.perf_counter()
    score = bleu(hyps, refs, 4)
    ours_s = time.perf_counter() - t0
    subset = hyps[: args.nltk_hypotheses]
    t0 = time.perf_counter()
    nltk_score = nltk_bleu(subset, refs, 4)
    nltk_s = time.perf_counter() - t0
    ours_subset = bleu(subset, refs, 4)
    per_ours, per_nltk = ours_s / len(hyps), nltk_s / len(subset)
    result["speed"] = {
        "hypotheses": len(hyps), "references": len(refs), "bleu4": score,
        "textrl_total_s": ours_s, "nltk_hypotheses_timed": len(subset), "nltk_total_s": nltk_s,
        "nltk_s_per_hypothesis": per_nltk, "textrl_s_per_hypothesis": per_ours,
        "speedup_per_hypothesis": per_nltk / per_ours,
        "nltk_estimated_s_for_all": per_nltk * len(hyps),
        "subset_abs_diff": abs(ours_subset - nltk_score)}
    result["provenance"] = provenance()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
