"""Diversity and length statistics of a set of tokenized samples."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from textrl.metrics.bleu import ngram_counts


def distinct_n(samples: Sequence[Sequence[str]], n: int) -> float:
    """Distinct n-grams over all n-grams in the samples (Li et al. 2016); 0 when none.

    Times 100 this is the "% unique n-grams" of MaskGAN's Table 6 (Fedus et al. 2018), which
    measures mode collapse over a set of unconditional samples.

    >>> distinct_n([["a", "b", "a", "b"], ["a", "b"]], 2)
    0.5
    """
    seen: set[tuple] = set()
    total = 0
    for sample in samples:
        counts = ngram_counts(sample, n)
        seen.update(counts)
        total += sum(counts.values())
    return len(seen) / total if total else 0.0


def ngrams_found(samples: Sequence[Sequence[str]], references: Sequence[Sequence[str]],
                 n: int) -> float:
    """Share of the samples' n-grams (counted with repeats) that occur in ``references``:
    the MaskGAN authors' training-time check against the validation set; 0 when none.

    >>> ngrams_found([["a", "b", "c"]], [["a", "b"], ["x", "c"]], 2)
    0.5
    """
    known: set[tuple] = set()
    for reference in references:
        known.update(ngram_counts(reference, n))
    found = total = 0
    for sample in samples:
        for gram, count in ngram_counts(sample, n).items():
            total += count
            found += count if gram in known else 0
    return found / total if total else 0.0


def length_stats(samples: Sequence[Sequence[str]]) -> dict[str, float]:
    """Mean, standard deviation, min and max sentence length in tokens."""
    if not samples:
        raise ValueError("no samples")
    lengths = [len(s) for s in samples]
    return {"length_mean": statistics.fmean(lengths), "length_sd": statistics.pstdev(lengths),
            "length_min": min(lengths), "length_max": max(lengths)}
