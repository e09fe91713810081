"""BLEU as the text-GAN benchmarks (Texygen) define it, exact and fast.

For each tokenized hypothesis: NLTK's ``sentence_bleu`` against the WHOLE reference set,
uniform weights 1/n, smoothing method1; the scores are averaged. NLTK recounts every
reference's n-grams for every hypothesis (~0.2 s per hypothesis at 10,000 references);
here the clipping statistics are computed once:

* the largest count of each n-gram in any single reference (what NLTK clips to), and
* the sorted set of reference lengths (for the closest reference length).

The arithmetic follows NLTK step by step, so scores agree to the last bit.

``BLEUScorer.corpus`` gives the standard corpus BLEU beside it: sacrebleu's formula and
signature, every reference offered to every hypothesis (generated text has no aligned
reference), from the same tables.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Sequence

from sacrebleu.metrics import BLEU
from tqdm import tqdm

Tokens = Sequence[str]
EPSILON = 0.1  # NLTK SmoothingFunction().method1
# method1: Texygen's BLEU (NLTK, SmoothingFunction().method1). nltk3.2: NLTK 3.2's
# sentence_bleu without smoothing, which the SeqGAN authors' PG-BLEU reward called: its
# method0 drops the first order without a match and every higher one, and the remaining
# orders keep their weight 1/n (modern NLTK scores such a sentence ~0 instead).
SMOOTHING = ("method1", "nltk3.2")


def ngram_counts(tokens: Tokens, n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _check_tokenized(sentences: Sequence[Tokens], what: str) -> None:
    if not sentences:
        raise ValueError(f"BLEU needs at least one {what}")
    if any(isinstance(s, str) for s in sentences[:1]):
        raise TypeError(f"{what}s must be token lists, not strings: tokenize them first")


def _closest_length(sorted_lengths: Sequence[int], hyp_len: int) -> int:
    """NLTK's closest_ref_length: the nearest reference length, the shorter on a tie."""
    i = bisect.bisect_left(sorted_lengths, hyp_len)
    candidates = sorted_lengths[max(0, i - 1):i + 1]
    return min(candidates, key=lambda length: (abs(length - hyp_len), length))


def _sentence_bleu(hypothesis: Tokens, max_n: int, ref_len: int,
                   max_ref_count: Callable[[int, tuple], int],
                   smoothing: str = "method1") -> float:
    """NLTK ``sentence_bleu`` with uniform weights, given the clipping counts. ``smoothing``:
    ``method1`` (Texygen) or ``nltk3.2`` (NLTK 3.2's unsmoothed score; see ``SMOOTHING``)."""
    numerators, denominators = [], []
    for n in range(1, max_n + 1):
        counts = ngram_counts(hypothesis, n)
        numerators.append(sum(min(c, max_ref_count(n, g)) for g, c in counts.items()))
        denominators.append(max(1, sum(counts.values())))
    if numerators[0] == 0:
        return 0.0
    hyp_len = len(hypothesis)
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    weight = 1 / max_n
    if smoothing == "nltk3.2":  # orders from the first one without a match are left out
        matched = numerators.index(0) if 0 in numerators else max_n
        numerators, denominators = numerators[:matched], denominators[:matched]
    precisions = [(EPSILON if num == 0 else num) / den
                  for num, den in zip(numerators, denominators, strict=True)]
    return bp * math.exp(math.fsum(weight * math.log(p) for p in precisions))


def _progress(items: Sequence, desc: str):
    return tqdm(items, desc=desc, unit="sent", delay=1.0, leave=False)


class BLEUScorer:
    """Texygen sentence BLEU-n against a fixed reference set, its statistics computed once.

    >>> scorer = BLEUScorer([["the", "cat", "sat"], ["a", "dog", "ran"]], n=2)
    >>> round(scorer.sentence(["the", "cat", "ran"]), 4)
    0.7071
    """

    def __init__(self, references: Sequence[Tokens], n: int = 4, smoothing: str = "method1"):
        _check_tokenized(references, "reference")
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if smoothing not in SMOOTHING:
            raise ValueError(f"smoothing must be one of {SMOOTHING}, got {smoothing!r}")
        self.n, self.smoothing = n, smoothing
        self.max_counts: list[dict[tuple, int]] = [{} for _ in range(n + 1)]
        for reference in references:
            for order in range(1, n + 1):
                table = self.max_counts[order]
                for gram, count in ngram_counts(reference, order).items():
                    if count > table.get(gram, 0):
                        table[gram] = count
        self.lengths = sorted({len(r) for r in references})
        self.n_references = len(references)

    def _max_ref_count(self, order: int, gram: tuple) -> int:
        return self.max_counts[order].get(gram, 0)

    def sentence(self, hypothesis: Tokens, n: int | None = None) -> float:
        """NLTK ``sentence_bleu(references, hypothesis)``, uniform weights, the scorer's
        smoothing, of order ``n`` (default: the scorer's; any lower order reuses the same
        tables)."""
        n = self._order(n)
        ref_len = _closest_length(self.lengths, len(hypothesis))
        return _sentence_bleu(hypothesis, n, ref_len, self._max_ref_count, self.smoothing)

    def mean(self, hypotheses: Sequence[Tokens], n: int | None = None) -> float:
        """Texygen's BLEU-n: the mean sentence score of ``hypotheses``."""
        _check_tokenized(hypotheses, "hypothesis")
        n = self._order(n)
        total = math.fsum(self.sentence(h, n) for h in _progress(hypotheses, f"BLEU-{n}"))
        return total / len(hypotheses)

    def corpus(self, hypotheses: Sequence[Tokens], n: int | None = None) -> float:
        """sacrebleu's corpus BLEU-n (0-100, its default ``exp`` smoothing; signature:
        ``sacrebleu_signature``) with the whole reference set as every hypothesis's references:
        ``sacrebleu.corpus_bleu(hyps, [[ref] * len(hyps) for ref in refs], tokenize="none")``
        on space-joined tokens, without sacrebleu re-reading every reference per hypothesis.

        >>> scorer = BLEUScorer([["the", "cat", "sat", "down"], ["a", "dog", "ran"]], n=2)
        >>> round(scorer.corpus([["the", "cat"]]), 2)  # brevity penalty: the closest length is 3
        60.65
        """
        _check_tokenized(hypotheses, "hypothesis")
        n = self._order(n)
        correct, total = [0] * n, [0] * n
        sys_len = ref_len = 0
        for hypothesis in _progress(hypotheses, f"corpus BLEU-{n}"):
            sys_len += len(hypothesis)
            ref_len += _closest_length(self.lengths, len(hypothesis))  # sacrebleu's tie rule too
            for order in range(1, n + 1):
                for gram, count in ngram_counts(hypothesis, order).items():
                    total[order - 1] += count
                    correct[order - 1] += min(count, self._max_ref_count(order, gram))
        return BLEU.compute_bleu(correct, total, sys_len, ref_len, smooth_method="exp",
                                 max_ngram_order=n).score

    def _order(self, n: int | None) -> int:
        if n is None:
            return self.n
        if not 1 <= n <= self.n:
            raise ValueError(f"order {n} is outside 1..{self.n}, the orders this scorer counted")
        return n


def sacrebleu_signature(n_references: int, n: int = 4) -> str:
    """The signature sacrebleu prints for ``BLEUScorer.corpus``.

    >>> sacrebleu_signature(1639).split("|")[:3]
    ['nrefs:1639', 'case:mixed', 'eff:no']
    """
    metric = BLEU(tokenize="none", max_ngram_order=n)
    metric.num_refs = n_references  # what sacrebleu records once it has read the references
    return metric.get_signature().format()


def bleu(hypotheses: Sequence[Tokens], references: Sequence[Tokens], n: int = 4) -> float:
    """Mean sentence BLEU-n of each hypothesis against all references (Texygen's BLEU).

    :param hypotheses: tokenized generated sentences.
    :param references: tokenized reference sentences (the test set, not a sample of it).
    :param n: the largest n-gram order; weights are uniform, 1/n each.

    >>> refs = [["the", "cat", "sat"], ["a", "dog", "ran"]]
    >>> round(bleu([["the", "cat", "sat"]], refs, n=2), 4)
    1.0
    """
    return BLEUScorer(references, n).mean(hypotheses)


def self_bleu(samples: Sequence[Tokens], n: int = 4) -> float:
    """Mean BLEU-n of each sample against all the OTHER samples (never itself).

    Each n-gram keeps its two largest per-sample counts and the owner of the largest, so
    the clipping count "over all samples but i" is exact without recounting per sample.

    >>> round(self_bleu([["a", "b"], ["a", "b"], ["c", "d"]], n=2), 4)
    0.6667
    """
    _check_tokenized(samples, "sample")
    if len(samples) < 2:
        raise ValueError("self-BLEU needs at least two samples")
    # order -> gram -> [largest count, its owner, second largest count]
    top: list[dict[tuple, list[int]]] = [{} for _ in range(n + 1)]
    for owner, sample in enumerate(samples):
        for order in range(1, n + 1):
            table = top[order]
            for gram, count in ngram_counts(sample, order).items():
                entry = table.get(gram)
                if entry is None:
                    table[gram] = [count, owner, 0]
                elif count > entry[0]:
                    entry[2], entry[0], entry[1] = entry[0], count, owner
                elif count > entry[2]:
                    entry[2] = count
    length_counts = Counter(len(s) for s in samples)
    total = []
    for i, sample in enumerate(_progress(samples, f"self-BLEU-{n}")):
        def max_other_count(order: int, gram: tuple, i: int = i) -> int:
            best, owner, second = top[order].get(gram, (0, -1, 0))
            return second if owner == i else best

        own = len(sample)
        lengths = sorted(length for length, c in length_counts.items()
                         if c > (1 if length == own else 0))
        total.append(_sentence_bleu(sample, n, _closest_length(lengths, own), max_other_count))
    return math.fsum(total) / len(samples)
