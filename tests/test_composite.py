import pytest
import torch

from textrl.models import LMConfig, RecurrentLM
from textrl.rewards import CompositeReward, ConstantReward, KLPenalty, at_last_token


def test_at_last_token():
    out = at_last_token(torch.tensor([1.0, 2.0]), torch.tensor([2, 4]), 4)
    assert out.tolist() == [[0, 1, 0, 0], [0, 0, 0, 2]]


def test_kl_penalty_is_the_log_ratio_per_token():
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=9, hidden_dim=8))
    kl = KLPenalty(policy)
    tokens, lengths = torch.randint(9, (3, 5)), torch.tensor([5, 3, 1])
    assert kl(tokens, lengths).abs().max() == 0  # policy == reference at the start
    with torch.no_grad():
        policy.head.bias += torch.linspace(-1, 1, 9)  # the policy moves, the copy does not
    expected = -(policy.log_prob(tokens, lengths) - kl.reference.log_prob(tokens, lengths))
    torch.testing.assert_close(kl(tokens, lengths), expected.detach())
    assert (kl(tokens, lengths)[1, 3:] == 0).all()  # padding
    assert not any(p.requires_grad for p in kl.reference.parameters())


def test_composite_mixes_sequence_and_token_level_terms():
    policy = RecurrentLM(LMConfig(vocab_size=9, hidden_dim=8))
    kl = KLPenalty(policy)
    with torch.no_grad():
        policy.head.bias += torch.linspace(-1, 1, 9)
    reward = CompositeReward((2.0, ConstantReward(1.0)), (0.1, kl))
    tokens, lengths = torch.randint(9, (2, 4)), torch.tensor([4, 2])
    out = reward(tokens, lengths)
    assert reward.token_level and out.shape == (2, 4)
    expected = 0.1 * kl(tokens, lengths) + at_last_token(torch.full((2,), 2.0), lengths, 4)
    torch.testing.assert_close(out, expected)
    with pytest.raises(ValueError, match="at least one"):
        CompositeReward()
