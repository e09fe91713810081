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

    def __call__(self, tokens, lengths, context=None):
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


def rollout_of(tokens, lengths, rewards, **extra):
    return Rollout(tokens, lengths, torch.zeros(rewards.shape), rewards, **extra)


def hand_written_a2c_loss(agent, tokens, lengths, rewards, acted=None):
    """A2C's loss written out from its definition: GAE advantages from detached values."""
    policy = agent.policy
    mask = torch.arange(tokens.shape[1]) < lengths[:, None]
    acted = mask if acted is None else mask & acted
    logits, features = policy.teacher_forced(tokens)
    log_probs = torch.log_softmax(logits, -1)
    chosen = log_probs.gather(2, tokens[..., None]).squeeze(2)
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    values = agent.value_head(features).squeeze(2) * mask
    fixed = values.detach()
    advantages = torch.zeros_like(fixed)
    running = torch.zeros(len(tokens))
    for t in reversed(range(tokens.shape[1])):
        after = fixed[:, t + 1] * mask[:, t + 1] if t + 1 < tokens.shape[1] else 0.0
        delta = (rewards[:, t] * acted[:, t] + agent.gamma * after - fixed[:, t]) * mask[:, t]
        running = delta + agent.gamma * agent.gae_lambda * running * mask[:, t]
        advantages[:, t] = running
    advantages = advantages * acted
    returns = advantages + fixed * acted
    n = acted.sum()
    return (-(chosen * advantages * acted).sum() / n
            + agent.value_coef * ((values - returns) ** 2 * acted).sum() / n
            - agent.entropy_coef * (entropy * acted).sum() / n)


def gradients_of_update(agent, rollout):
    """The gradients ``agent.update`` stepped with (no clipping: the clip is huge)."""
    agent.update(rollout)
    return [p.grad.clone() for group in agent.optimizer.param_groups for p in group["params"]]


def hand_gradients(agent, loss):
    for p in (p for group in agent.optimizer.param_groups for p in group["params"]):
        p.grad = None
    loss.backward()
    return [p.grad.clone() for group in agent.optimizer.param_groups for p in group["params"]]


def test_a2c_gradient_matches_its_definition():
    # Breaking the advantage's detach (or swapping value_coef and entropy_coef) changes the
    # value head's and the trunk's gradients, and this test fails.
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=9, emb_dim=4, hidden_dim=6)).eval()
    agent = ActorCritic(policy, lr=0.0, grad_clip=1e9, gamma=0.9, gae_lambda=0.8,
                        value_coef=0.7, entropy_coef=0.05)
    torch.nn.init.normal_(agent.value_head.weight)
    tokens, lengths = torch.randint(9, (4, 5)), torch.tensor([5, 2, 3, 4])
    rewards = torch.randn(4, 5) * (torch.arange(5) < lengths[:, None])
    acted = torch.rand(4, 5) < 0.7
    for extra in ({}, {"action_mask": acted}):
        got = gradients_of_update(agent, rollout_of(tokens, lengths, rewards, **extra))
        want = hand_gradients(agent, hand_written_a2c_loss(agent, tokens, lengths, rewards,
                                                           extra.get("action_mask")))
        for g, w in zip(got, want, strict=True):
            torch.testing.assert_close(g, w)


def test_ppo_gradient_matches_its_definition():
    # One epoch over one mini-batch: the ratio is 1, so the clipped surrogate's gradient is
    # the normalised advantage times the log-probability's, plus the value and entropy terms.
    torch.manual_seed(1)
    policy = RecurrentLM(LMConfig(vocab_size=9, emb_dim=4, hidden_dim=6)).eval()
    agent = PPO(policy, lr=0.0, grad_clip=1e9, gamma=1.0, gae_lambda=0.95, value_coef=0.3,
                entropy_coef=0.02, clip=0.2, epochs=1, minibatch=4)
    torch.nn.init.normal_(agent.value_head.weight)
    tokens, lengths = torch.randint(9, (4, 5)), torch.tensor([5, 3, 4, 5])
    mask = torch.arange(5) < lengths[:, None]
    rewards = torch.randn(4, 5) * mask
    logits, features = policy.teacher_forced(tokens)
    log_probs = torch.log_softmax(logits, -1)
    chosen = log_probs.gather(2, tokens[..., None]).squeeze(2) * mask
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    values = agent.value_head(features).squeeze(2) * mask
    advantages = gae(rewards, values.detach(), mask, 1.0, 0.95)
    returns = advantages + values.detach()
    real = advantages[mask]
    normalised = (advantages - real.mean()) / (real.std(unbiased=False) + 1e-8) * mask
    ratio = (chosen - chosen.detach()).exp()
    surrogate = torch.min(ratio * normalised, ratio.clamp(0.8, 1.2) * normalised)
    n = mask.sum()
    loss = (-(surrogate * mask).sum() / n + 0.3 * ((values - returns) ** 2 * mask).sum() / n
            - 0.02 * (entropy * mask).sum() / n)
    want = hand_gradients(agent, loss)
    got = gradients_of_update(agent, rollout_of(tokens, lengths, rewards))
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)


@pytest.mark.parametrize("minibatch, epochs, passes", [(4, 1, 1), (4, 3, 3), (2, 1, 3)])
def test_ppo_reads_pi_old_from_its_first_pass_when_one_mini_batch_holds_the_rollout(
        minibatch, epochs, passes, monkeypatch):
    # one mini-batch: the first epoch reuses the pass that gave pi_old; several: pi_old is a
    # pass of its own, then one per mini-batch
    policy = RecurrentLM(LMConfig(vocab_size=9, emb_dim=4, hidden_dim=6))
    agent = PPO(policy, epochs=epochs, minibatch=minibatch,
                generator=torch.Generator().manual_seed(0))
    calls = []
    evaluate = agent.evaluate
    monkeypatch.setattr(agent, "evaluate", lambda rollout: calls.append(1) or evaluate(rollout))
    tokens = torch.randint(9, (4, 5))
    agent.update(rollout_of(tokens, torch.full((4,), 5), torch.randn(4, 5)))
    assert len(calls) == passes


def test_given_tokens_carry_no_gradient_or_return():
    # In-filling: the agent chose only some positions; the others were given.
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=9, emb_dim=4, hidden_dim=6)).eval()
    agent = PolicyGradient(policy, lr=0.0)
    tokens, lengths = torch.randint(9, (3, 4)), torch.full((3,), 4)
    acted = torch.tensor([[0, 1, 1, 0], [1, 0, 0, 1], [0, 0, 1, 1]], dtype=torch.bool)
    rewards = torch.rand(3, 4)
    loss, returns, _ = agent.loss(rollout_of(tokens, lengths, rewards, action_mask=acted))
    assert (returns[~acted] == 0).all()
    # Rewards paid at given positions are ignored: only the chosen ones count.
    loss_given, _, _ = agent.loss(rollout_of(tokens, lengths, rewards + 5.0 * ~acted,
                                          action_mask=acted))
    torch.testing.assert_close(loss, loss_given)
    log_probs = policy.log_prob(tokens, lengths)
    expected = -(log_probs * returns * acted).sum()
    torch.testing.assert_close(loss, expected)


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
    rollout = rollout_of(x, torch.full((8,), 5), torch.randn(8, 5))
    stats = PPO(policy, lr=0.0, epochs=1, minibatch=8).update(rollout)
    assert stats["approx_kl"] == 0.0 and stats["clip_fraction"] == 0.0
    agent = PolicyGradient(policy.train())
    torch.testing.assert_close(agent.loss(rollout)[0], agent.loss(rollout)[0], rtol=0, atol=0)


def test_actor_critic_uses_the_critic_a_reward_provides():
    # MaskGAN's critic is a head on its discriminator: the agent must train that critic, not
    # a value head of its own.
    class TokenCritic(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.table = torch.nn.Embedding(9, 1)

        def forward(self, tokens, lengths, context=None):
            return self.table(tokens).squeeze(-1)

    torch.manual_seed(0)
    critic = TokenCritic()
    agent = ActorCritic(RecurrentLM(LMConfig(vocab_size=9, hidden_dim=6)), critic=critic)
    assert agent.value_head is None
    tokens, lengths = torch.randint(9, (3, 4)), torch.tensor([4, 3, 2])
    rewards = torch.rand(3, 4)
    _, _, values = agent.evaluate(rollout_of(tokens, lengths, rewards))
    mask = torch.arange(4) < lengths[:, None]
    torch.testing.assert_close(values, critic(tokens, lengths) * mask)
    before = critic.table.weight.clone()
    agent.update(rollout_of(tokens, lengths, rewards))
    assert not torch.equal(before, critic.table.weight)  # the critic was trained
    assert set(agent.state_dict()["critic"]) == {"table.weight"}


def test_explained_variance():
    from textrl.agents.actor_critic import explained_variance

    returns = torch.tensor([[1.0, 2.0, 3.0, 99.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    assert explained_variance(returns, returns, mask) == 1.0  # position 3 is not counted
    assert explained_variance(torch.full_like(returns, 2.0), returns, mask) == 0.0
    assert explained_variance(-returns, returns, mask) < 0
    assert explained_variance(returns, torch.ones_like(returns), mask) == 0.0  # no spread


def test_the_critic_can_have_its_own_learning_rate():
    from textrl.agents.actor_critic import ActorCritic
    from textrl.models import LMConfig, RecurrentLM

    policy = RecurrentLM(LMConfig(vocab_size=7, hidden_dim=8))
    agent = ActorCritic(policy, lr=1e-3, critic_lr=0.5)
    lrs = [group["lr"] for group in agent.optimizer.param_groups]
    assert lrs == [1e-3, 0.5]
    assert agent.optimizer.param_groups[1]["params"][0] is agent.value_head.weight
    assert ActorCritic(policy).optimizer.param_groups[1]["lr"] == 1e-3
