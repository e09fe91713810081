import math

import pytest
import torch

from textrl.rewards import Ranker, rank_scores


def test_rank_score_by_hand():
    s = torch.tensor([[1.0, 0.0]])
    comparison = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    references = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    gamma = 2.0
    # u1 = (1, 0): cos(s) = 1, cos(c1) = 0, cos(c2) = 1/sqrt2
    p1 = math.exp(2 * 1) / (math.exp(2 * 1) + math.exp(0) + math.exp(2 / math.sqrt(2)))
    # u2 = (0, 1): cos(s) = 0, cos(c1) = 1, cos(c2) = 1/sqrt2
    p2 = math.exp(0) / (math.exp(0) + math.exp(2 * 1) + math.exp(2 / math.sqrt(2)))
    expected = (p1 + p2) / 2
    assert rank_scores(s, comparison, references, gamma).item() == pytest.approx(expected, rel=1e-6)


def test_each_sentence_is_ranked_independently_of_its_batch():
    torch.manual_seed(0)
    feats, comparison, refs = torch.randn(5, 4), torch.randn(3, 4), torch.randn(2, 4)
    together = rank_scores(feats, comparison, refs)
    alone = torch.cat([rank_scores(feats[i:i + 1], comparison, refs) for i in range(5)])
    torch.testing.assert_close(together, alone)


def small_ranker(**kw):
    return Ranker(vocab_size=12, emb_dim=8, filter_sizes=(1, 2), num_filters=(8, 8), **kw)


def test_ranker_learns_to_rank_real_above_generated():
    torch.manual_seed(0)
    ranker = small_ranker(lr=1e-2, dropout=0.0)
    lengths = torch.full((32,), 6)
    real = (torch.randint(0, 6, (32, 6)), lengths)
    fake = (torch.randint(6, 12, (32, 6)), lengths)
    refs = (torch.randint(0, 6, (16, 6)), lengths[:16])
    first = ranker.update(real, fake, refs)
    for _ in range(40):
        last = ranker.update(real, fake, refs)
    assert last["loss"] < first["loss"] and last["real_rank"] > last["fake_rank"]
    context = (real, refs)
    assert ranker(*fake, context).mean() < ranker(*real, context).mean()


def test_context_comes_from_the_real_sampler_when_not_given():
    pool = (torch.randint(12, (40, 5)), torch.full((40,), 5))
    drawn = []

    def real(n):
        drawn.append(n)
        return pool[0][:n], pool[1][:n]

    ranker = small_ranker(real=real, comparison=7, references=3)
    comparison, references = ranker.draw_context()
    assert drawn == [7, 3] and len(comparison[0]) == 7 and len(references[0]) == 3
    x = (torch.randint(12, (4, 5)), torch.full((4,), 5))
    given = ((pool[0][:7], pool[1][:7]), (pool[0][:3], pool[1][:3]))
    torch.testing.assert_close(ranker(*x), ranker(*x, given))
    ranker.update(x, x)  # draws its reference set
    assert drawn[-1] == 3
    with pytest.raises(ValueError, match="no real sentences"):
        small_ranker()(*x)
