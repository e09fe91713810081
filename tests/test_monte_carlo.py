import pytest
import torch

from textrl.models import LMConfig, RecurrentLM
from textrl.rewards import ConstantReward, MonteCarloReward, reference_q_values


def reward_fn(fn):
    fn.token_level = False
    return fn


@reward_fn
def first_token(tokens, lengths, context=None):
    return tokens[:, 0].float()


@reward_fn
def position_weighted(tokens, lengths, context=None):
    return (tokens * torch.arange(1, tokens.shape[1] + 1)).sum(1).float()


def policy(cell="lstm", **kw):
    return RecurrentLM(LMConfig(vocab_size=30, hidden_dim=16, num_layers=2, cell=cell, **kw))


def test_q_values_stay_with_their_own_sample():
    # A public SeqGAN port reshaped rollout rewards in the wrong order, mixing samples.
    tokens = torch.randint(30, (5, 7))
    q = MonteCarloReward(first_token, policy(), n_rollouts=3, chunk=16,
                         generator=torch.Generator().manual_seed(0))(tokens, torch.full((5,), 7))
    assert torch.equal(q, tokens[:, :1].float().expand(5, 7))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_batched_equals_the_loop_with_greedy_rollouts(cell):
    lm = policy(cell)
    tokens, lengths = torch.randint(30, (4, 6)), torch.full((4,), 6)
    batched = MonteCarloReward(position_weighted, lm, n_rollouts=2, temperature=0.0, chunk=7)
    expected = reference_q_values(position_weighted, lm, tokens, lengths, 2, temperature=0.0)
    assert torch.equal(batched(tokens, lengths), expected)


def test_last_q_is_the_reward_of_the_whole_sequence():
    lm = policy()
    tokens, lengths = torch.randint(30, (3, 5)), torch.full((3,), 5)
    q = MonteCarloReward(position_weighted, lm, 4, generator=torch.Generator())(tokens, lengths)
    assert torch.equal(q[:, -1], position_weighted(tokens, lengths))


def test_eos_sequences_and_rollouts():
    lm = policy(start_id=1, eos_id=2, pad_id=0)
    with torch.no_grad():
        lm.head.bias[2] += 1.5  # rollouts often end early
    tokens = torch.tensor([[5, 6, 2, 0, 0, 0], [7, 8, 9, 10, 11, 2]])
    lengths = torch.tensor([3, 6])
    seen = []

    @reward_fn
    def checked_length(tok, lens, context=None):
        mask = torch.arange(tok.shape[1])[None] < lens[:, None]
        assert (tok[~mask] == 0).all()  # nothing after EOS but padding
        ends = tok[torch.arange(len(tok)), lens - 1]
        assert ((ends == 2) | (lens == tok.shape[1])).all()  # EOS ends every short row
        seen.append(lens)
        return lens.float()

    q = MonteCarloReward(checked_length, lm, n_rollouts=8,
                         generator=torch.Generator().manual_seed(0))(tokens, lengths)
    assert q[0, 2] == 3 and (q[0, 3:] == 0).all()  # complete at t=3, padding after
    assert (q[0, :2] >= torch.tensor([2.0, 3.0])).all()  # a rollout adds at least EOS
    assert q[1, 5] == 6 and (q[1, :5] >= torch.arange(2, 7)).all()
    assert torch.cat(seen).min() >= 1


def test_refuses_token_level_rewards():
    token_level = ConstantReward()
    token_level.token_level = True
    with pytest.raises(ValueError, match="already token-level"):
        MonteCarloReward(token_level, policy())


def test_the_batch_context_reaches_every_reward_call():
    # A ranker scores every rollout of a batch against the same real sets: the context is
    # drawn once and handed to each call, however many chunks the rollouts take.
    contexts = []

    @reward_fn
    def remembers(tokens, lengths, context=None):
        contexts.append(context)
        return lengths.float()

    remembers.draw_context = lambda: "sets"
    mc = MonteCarloReward(remembers, policy(), n_rollouts=2, reward_chunk=5)
    assert mc.draw_context() == "sets"
    mc(torch.randint(30, (3, 4)), torch.full((3,), 4), "sets")
    assert len(contexts) > 1 and set(contexts) == {"sets"}
