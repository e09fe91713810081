import pytest
import torch

from textrl.agents import PolicyGradient, Rollout, returns_to_go
from textrl.models import LMConfig, RecurrentLM


def grads(policy, loss):
    policy.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in policy.parameters()]


def test_returns_to_go():
    rewards = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    assert returns_to_go(rewards, mask).tolist() == [[6.0, 5.0, 3.0], [9.0, 5.0, 0.0]]
    assert returns_to_go(rewards, mask, gamma=0.5)[0].tolist() == [2.75, 3.5, 3.0]


@pytest.mark.parametrize("rewards_from_q, gamma", [
    (lambda q: torch.cat([q[:, :-1] - q[:, 1:], q[:, -1:]], dim=1), 1.0),  # r_t = Q_t - Q_t+1
    (lambda q: q, 0.0),  # r_t = Q_t, no look-ahead
])
def test_reinforce_reproduces_seqgans_gradient(rewards_from_q, gamma):
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=11, emb_dim=6, hidden_dim=8))
    tokens, lengths = torch.randint(11, (4, 5)), torch.full((4,), 5)
    q = torch.rand(4, 5)
    # SeqGAN (Yu et al. 2017, eq. 8 as the authors' code implements it):
    # loss = -sum_{b,t} Q(y_<t, y_t) log G(y_t | y_<t)
    seqgan = grads(policy, -(policy.log_prob(tokens, lengths) * q).sum())
    agent = PolicyGradient(policy, gamma=gamma)
    rewards = rewards_from_q(q)
    loss, returns, _ = agent.loss(Rollout(tokens, lengths, torch.zeros_like(q), rewards))
    torch.testing.assert_close(returns, q)
    for ours, theirs in zip(grads(policy, loss), seqgan, strict=True):
        torch.testing.assert_close(ours, theirs)


def test_update_steps_and_moving_average_baseline():
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=5, hidden_dim=8))
    agent = PolicyGradient(policy, baseline="moving_average", baseline_decay=0.5)
    tokens, lengths = torch.randint(5, (3, 4)), torch.full((3,), 4)
    before = [p.clone() for p in policy.parameters()]
    first = agent.update(Rollout(tokens, lengths, torch.zeros(3, 4), torch.full((3, 4), 0.5)))
    assert first["baseline"] == 0.0 and first["mean_return"] == pytest.approx(1.25)
    second = agent.update(Rollout(tokens, lengths, torch.zeros(3, 4), torch.full((3, 4), 0.5)))
    assert second["baseline"] == pytest.approx(0.625)
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))
    state = agent.state_dict()
    fresh = PolicyGradient(policy, baseline="moving_average")
    fresh.load_state_dict(state)
    assert fresh.baseline_value == agent.baseline_value
    with pytest.raises(ValueError, match="baseline"):
        PolicyGradient(policy, baseline="learned")
