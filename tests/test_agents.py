import pytest
import torch

from textrl.agents import PPO, ActorCritic, PolicyGradient, Rollout, collect_episodes, gae
from textrl.envs import TextVecEnv
from textrl.models import LMConfig, RecurrentLM
from textrl.rewards import ConstantReward


class ShareOfToken:
    """Sequence reward: the fraction of tokens equal to ``token`` (learnable in seconds)."""

    token_level = False

    def __init__(self, token: int):
        self.token = token

    def __call__(self, tokens, lengths):
        mask = torch.arange(tokens.shape[1]) < lengths[:, None]
        return ((tokens == self.token) & mask).sum(1) / lengths


def test_gae_limits_and_padding():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 2.0, 9.0]])
    values = torch.tensor([[0.5, 0.2, 0.1], [0.3, 0.4, 7.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    # lambda = 1: Monte-Carlo return minus the value; the state after the last token is terminal.
    adv = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    torch.testing.assert_close(adv, torch.tensor([[0.5, 0.8, 0.9], [1.7, 1.6, 0.0]]))
    # lambda = 0: one-step TD errors.
    adv = gae(rewards, values, mask, gamma=0.5, lam=0.0)
    torch.testing.assert_close(adv, torch.tensor([[-0.4, -0.15, 0.9], [-0.1, 1.6, 0.0]]))


def test_a2c_with_q_rewards_and_gamma_zero_is_seqgan_with_a_learned_baseline():
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=9, emb_dim=4, hidden_dim=6))
    agent = ActorCritic(policy, gamma=0.0, value_coef=0.0)
    torch.nn.init.normal_(agent.value_head.weight)
    tokens, lengths = torch.randint(9, (3, 4)), torch.tensor([4, 2, 3])
    q = torch.rand(3, 4) * (torch.arange(4) < lengths[:, None])
    log_probs, _, values = agent.evaluate(tokens, lengths)
    advantages, _ = agent.advantages(Rollout(tokens, lengths, q), values.detach())
    torch.testing.assert_close(advantages, (q - values.detach()) * (q != 0))
    expected = -(log_probs * (q - values.detach())).sum() / lengths.sum()
    policy.zero_grad()
    expected.backward()
    want = [p.grad.clone() for p in policy.parameters()]
    policy.zero_grad()
    stats = agent.update(Rollout(tokens, lengths, q))
    assert stats["policy_loss"] == pytest.approx(expected.item(), rel=1e-5)
    assert all(w.abs().sum() > 0 for w in want)


def test_collect_episodes_stops_each_row_at_its_own_eos():
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=6, eos_id=2, pad_id=0, start_id=1))
    env = TextVecEnv(16, ShareOfToken(3), vocab_size=6, max_len=5, eos_id=2, pad_id=0)
    rollout = collect_episodes(env, policy, torch.Generator().manual_seed(0))
    mask = torch.arange(5) < rollout.lengths[:, None]
    assert (rollout.tokens[~mask] == 0).all() and (rollout.rewards[~mask] == 0).all()
    ended_early = rollout.lengths < 5
    assert ended_early.any()
    last = rollout.tokens[torch.arange(16), rollout.lengths - 1]
    assert (last[ended_early] == 2).all()
    # The reward arrives at each row's last token and equals the reward of what it wrote.
    paid = rollout.rewards[torch.arange(16), rollout.lengths - 1]
    torch.testing.assert_close(paid, ShareOfToken(3)(rollout.tokens, rollout.lengths))
    torch.testing.assert_close(rollout.rewards.sum(1), paid)


@pytest.mark.parametrize("make_agent", [
    lambda p: PolicyGradient(p, lr=0.05, baseline="moving_average"),
    lambda p: ActorCritic(p, lr=0.05),
    lambda p: PPO(p, lr=0.02, minibatch=16, generator=torch.Generator().manual_seed(0)),
])
def test_every_agent_learns_a_simple_reward_on_the_env(make_agent):
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=5, emb_dim=8, hidden_dim=16))
    env = TextVecEnv(32, ShareOfToken(3), vocab_size=5, max_len=4)
    agent = make_agent(policy)
    records = agent.learn(env, total_steps=32 * 4 * 40, generator=torch.Generator().manual_seed(1))
    assert records[-1]["steps"] == 32 * 4 * 40
    first = records[0]["mean_reward"]  # collected before any update: about 1/5
    last = sum(r["mean_reward"] for r in records[-3:]) / 3
    assert first < 0.35 and last > 0.8, (first, last)


def test_learn_callback_stops_and_save_load_round_trip(tmp_path):
    policy = RecurrentLM(LMConfig(vocab_size=5, hidden_dim=8))
    agent = PPO(policy, minibatch=4)
    env = TextVecEnv(8, ConstantReward(1.0), vocab_size=5, max_len=3)
    records = agent.learn(env, 10_000, callback=lambda r: r["steps"] < 48)
    assert [r["steps"] for r in records] == [24, 48]
    agent.save(tmp_path / "agent.pt")
    other = PPO(RecurrentLM(LMConfig(vocab_size=5, hidden_dim=8)), minibatch=4)
    other.load(tmp_path / "agent.pt")
    for a, b in zip(policy.parameters(), other.policy.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(agent.value_head.weight, other.value_head.weight)


def test_updates_use_the_policy_that_sampled_so_dropout_is_off():
    # Tokens are sampled without dropout; with it on in the update, PPO's first ratio would
    # not be 1 and REINFORCE's gradient would be of a different, random policy.
    policy = RecurrentLM(LMConfig(vocab_size=7, hidden_dim=16, dropout=0.5)).train()
    x = torch.randint(7, (8, 5))
    rollout = Rollout(x, torch.full((8,), 5), torch.randn(8, 5))
    stats = PPO(policy, lr=0.0, epochs=1, minibatch=8).update(rollout)
    assert stats["approx_kl"] == 0.0 and stats["clip_fraction"] == 0.0
    agent = PolicyGradient(policy.train())
    torch.testing.assert_close(agent.loss(*rollout)[0], agent.loss(*rollout)[0], rtol=0, atol=0)
