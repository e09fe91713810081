import random

import pytest

from textrl.metrics.bleu import BLEUScorer, bleu, sacrebleu_signature, self_bleu


@pytest.fixture
def nltk_bleu():
    # Per test, not at module level: only the comparisons with NLTK need it, and a missing
    # NLTK must not skip the tests that check textrl's BLEU on its own.
    return pytest.importorskip("nltk.translate.bleu_score", reason="nltk is a dev dependency")


@pytest.fixture
def reference_bleu(nltk_bleu):
    def score(hypotheses, references, n):
        """Texygen's definition, written with NLTK."""
        smooth = nltk_bleu.SmoothingFunction().method1
        weights = tuple(1.0 / n for _ in range(n))
        return sum(nltk_bleu.sentence_bleu(references, h, weights, smoothing_function=smooth)
                   for h in hypotheses) / len(hypotheses)
    return score


def random_sentences(rng, count, vocab=8, lengths=(0, 12)):
    words = [f"w{i}" for i in range(vocab)]
    return [[rng.choice(words) for _ in range(rng.randint(*lengths))] for _ in range(count)]


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_matches_nltk_on_random_corpora(n, reference_bleu):
    rng = random.Random(n)
    references = random_sentences(rng, 60, lengths=(1, 12))
    hypotheses = random_sentences(rng, 200)
    assert bleu(hypotheses, references, n) == pytest.approx(
        reference_bleu(hypotheses, references, n), abs=1e-9)


EDGE_CASES = {
    "shorter than n": ([["a", "b"]], [["a", "b", "c", "d"]]),
    "empty hypothesis": ([[]], [["a", "b"]]),
    "no matching n-grams": ([["x", "y", "z"]], [["a", "b", "c"]]),
    "unigrams only": ([["c", "a", "x", "b"]], [["a", "b", "c", "d"]]),
    "brevity, several lengths": ([["a", "b", "c"]], [["a", "b", "c", "d", "e"], ["a"] * 9,
                                                     ["a", "b"] * 4]),
    "tie picks the shorter ref": ([["a", "b", "c"]], [["a", "b"], ["a", "b", "c", "d"]]),
    "longer than every ref": ([["a", "b", "c", "a", "b", "c"]], [["a", "b", "c"]]),
    "clipping repeated n-grams": ([["a", "a", "a", "a"]], [["a", "a", "b"], ["a", "c"]]),
    "empty reference among others": ([["a", "b"]], [[], ["a", "b", "c"]]),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
@pytest.mark.parametrize("n", [2, 4])
def test_matches_nltk_on_edge_cases(case, n, reference_bleu):
    hypotheses, references = EDGE_CASES[case]
    assert bleu(hypotheses, references, n) == pytest.approx(
        reference_bleu(hypotheses, references, n), abs=1e-12)


def test_self_bleu_is_each_sample_against_the_others(reference_bleu):
    rng = random.Random(0)
    samples = random_sentences(rng, 40, lengths=(1, 10)) + [["w1", "w2", "w3"]] * 2
    for n in (2, 4):
        expected = sum(reference_bleu([s], samples[:i] + samples[i + 1:], n)
                       for i, s in enumerate(samples)) / len(samples)
        assert self_bleu(samples, n) == pytest.approx(expected, abs=1e-12)


def test_self_bleu_never_uses_the_sample_itself():
    # Distinct samples share nothing: against the others every score is 0; a version that
    # let each sample see itself would score 1.
    assert self_bleu([["a", "b", "c"], ["d", "e", "f"]]) == 0.0
    assert self_bleu([["a", "b", "c"], ["a", "b", "c"]], n=3) == pytest.approx(1.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least one hypothesis"):
        bleu([], [["a"]])
    with pytest.raises(ValueError, match="at least one reference"):
        bleu([["a"]], [])
    with pytest.raises(TypeError, match="tokenize"):
        bleu(["a b"], [["a"]])
    with pytest.raises(ValueError, match="two samples"):
        self_bleu([["a"]])


def test_bleu_reward_scores_each_sequence_like_the_metric():
    import torch

    from textrl.data import Vocab
    from textrl.rewards import BLEUReward

    rng = random.Random(9)
    vocab = Vocab.from_corpus([[f"w{i}" for i in range(8)]])
    references = random_sentences(rng, 30, lengths=(2, 9))
    hypotheses = random_sentences(rng, 12, lengths=(1, 9))
    tokens = torch.full((12, 10), vocab.pad_id)
    lengths = torch.tensor([len(h) + 1 for h in hypotheses])
    for i, h in enumerate(hypotheses):
        tokens[i, : len(h) + 1] = torch.tensor(vocab.encode(h) + [vocab.eos_id])
    rewards = BLEUReward(references, vocab, n=3)(tokens, lengths)
    # Against textrl's own metric (itself checked against NLTK above), so this runs without NLTK.
    expected = [bleu([h], references, 3) for h in hypotheses]
    assert rewards.tolist() == pytest.approx(expected, abs=1e-7)  # float32 rewards


def test_one_scorer_serves_every_lower_order():
    rng = random.Random(5)
    references = random_sentences(rng, 40, lengths=(1, 10))
    hypotheses = random_sentences(rng, 50)
    scorer = BLEUScorer(references, n=4)
    for n in (1, 2, 3, 4):
        assert scorer.mean(hypotheses, n) == bleu(hypotheses, references, n)
    with pytest.raises(ValueError, match="outside 1..4"):
        scorer.sentence(["w1"], n=5)


@pytest.mark.parametrize("n", [2, 4])
def test_corpus_bleu_is_sacrebleu_with_every_reference_for_every_hypothesis(n):
    import sacrebleu

    rng = random.Random(10 + n)
    hypotheses = random_sentences(rng, 30, lengths=(1, 9))
    references = random_sentences(rng, 12, lengths=(1, 11))
    score = BLEUScorer(references, n).corpus(hypotheses)
    streams = [[" ".join(ref)] * len(hypotheses) for ref in references]
    metric = sacrebleu.metrics.BLEU(tokenize="none", max_ngram_order=n)
    want = metric.corpus_score([" ".join(h) for h in hypotheses], streams)
    assert score == pytest.approx(want.score, abs=1e-9)
    assert sacrebleu_signature(len(references), n) == metric.get_signature().format()


def test_nltk32_smoothing_is_the_seqgan_authors_pg_bleu():
    # By hand: p1 = 3/4, p2 = 1/3, no trigram in common. NLTK 3.2 drops the trigram order
    # and keeps weight 1/3 on the others; Texygen's method1 would count it as 0.1/2.
    scorer = BLEUScorer([["a", "b", "c", "d"]], n=3, smoothing="nltk3.2")
    assert scorer.sentence(["a", "b", "x", "d"]) == pytest.approx((3 / 4 * 1 / 3) ** (1 / 3))
    assert scorer.sentence(["x", "y", "z", "w"]) == 0.0
    with pytest.raises(ValueError, match="smoothing"):
        BLEUScorer([["a"]], smoothing="method7")


def test_nltk32_smoothing_matches_nltk_on_the_matched_orders(nltk_bleu):
    # In general: modern NLTK with the weights of the matched orders only.
    rng = random.Random(3)
    references = random_sentences(rng, 20, vocab=12, lengths=(4, 12))
    scorer = BLEUScorer(references, n=3, smoothing="nltk3.2")
    matched_orders = set()
    for hypothesis in random_sentences(rng, 300, vocab=12, lengths=(4, 12)):
        orders = 0
        while orders < 3 and nltk_bleu.modified_precision(references, hypothesis,
                                                          orders + 1).numerator:
            orders += 1
        matched_orders.add(orders)
        want = (nltk_bleu.sentence_bleu(references, hypothesis, (1 / 3,) * orders)
                if orders else 0.0)
        assert scorer.sentence(hypothesis) == pytest.approx(want, abs=1e-12)
    assert matched_orders == {1, 2, 3}  # every truncation (no match at all: previous test)
