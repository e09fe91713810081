import math

import pytest
import torch

from textrl.models import LMConfig, RecurrentLM
from textrl.rewards import MonteCarloReward, Ranker, rank_scores
from textrl.rewards.ranker import grouped_softmax, summed_scores


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
    kw = {"form": "paper"} | kw
    return Ranker(vocab_size=12, emb_dim=8, filter_sizes=(1, 2), num_filters=(8, 8), **kw)


def test_authors_score_by_hand():
    # gamma * the SUM of the cosines to the references, then a softmax over the group.
    s = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [2.0, 0.0]])
    references = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    c = 1 / math.sqrt(2)
    raw = [2.0 * (1 + 0), 2.0 * (c + c), 2.0 * (0 + 1), 2.0 * (1 + 0)]
    torch.testing.assert_close(summed_scores(s, references, gamma=2.0), torch.tensor(raw))
    grouped = grouped_softmax(torch.tensor(raw), group=2)
    first = [math.exp(raw[0]) / (math.exp(raw[0]) + math.exp(raw[1]))]
    assert grouped[0].item() == pytest.approx(first[0], rel=1e-6)
    assert grouped[2:].sum().item() == pytest.approx(1.0)  # each group is its own softmax
    with pytest.raises(ValueError, match="groups of 3"):
        grouped_softmax(torch.tensor(raw), group=3)


def test_authors_rewards_sum_to_one_over_the_batch_at_every_rollout_and_prefix():
    # Monte-Carlo Q_t is the mean over rollouts of a softmax over the batch: it sums to 1.
    torch.manual_seed(0)
    pool = (torch.randint(12, (40, 6)), torch.full((40,), 6))
    ranker = small_ranker(form="authors", real=lambda n: (pool[0][:n], pool[1][:n]),
                          comparison=5, references=4)
    policy = RecurrentLM(LMConfig(vocab_size=12, hidden_dim=8))
    mc = MonteCarloReward(ranker, policy, n_rollouts=3, reward_chunk=7,
                          generator=torch.Generator().manual_seed(0))
    tokens, lengths = torch.randint(12, (5, 6)), torch.full((5,), 6)
    q = mc(tokens, lengths, mc.draw_context())
    torch.testing.assert_close(q.sum(0), torch.ones(6))
    assert mc.draw_context()[0] is None  # the authors compare generated sentences only


def test_authors_ranker_loss_is_linear_in_the_score_gap():
    torch.manual_seed(0)
    ranker = small_ranker(form="authors", dropout=0.0)
    lengths = torch.full((6,), 5)
    real = (torch.randint(12, (6, 5)), lengths)
    fake = (torch.randint(12, (6, 5)), lengths)
    refs = (torch.randint(12, (4, 5)), lengths[:4])
    with torch.no_grad():
        ranker.eval()
        scores = summed_scores(ranker.embed((torch.cat([real[0], fake[0]]), torch.cat([real[1],
                                                                                          fake[1]]))),
                               ranker.embed(refs))
    stats = ranker.update(real, fake, refs)
    # log-softmax's normaliser cancels between the two means: what is left is linear.
    assert stats["loss"] == pytest.approx((scores[6:].mean() - scores[:6].mean()).item(), abs=1e-5)


def test_authors_form_initialises_embedding_and_convolutions_uniformly():
    ranker = small_ranker(form="authors")
    for weight in (ranker.encoder.embedding.weight, *(c.weight for c in ranker.encoder.convs)):
        assert weight.abs().max() <= 0.1
    assert small_ranker(form="paper").encoder.embedding.weight.abs().max() > 0.1  # N(0, 1)


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
