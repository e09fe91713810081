"""GRPO, RLOO, REINFORCE++ and the KL to a reference, each against a hand-written reference
of its advantages, loss and gradient: a missing baseline, normalisation, clip or KL term
changes the numbers these tests compare."""

import math

import pytest
import torch

from textrl.agents import GRPO, RLOO, ReferenceKL, ReinforcePP, Rollout
from textrl.agents.clipped import sequence_rewards
from textrl.agents.kl import k3
from textrl.errors import UserError
from textrl.models import LMConfig, RecurrentLM

V, T = 7, 5


def policy(seed=0):
    torch.manual_seed(seed)
    return RecurrentLM(LMConfig(vocab_size=V, emb_dim=6, hidden_dim=8))


def rollout(group=(0, 0, 0, 1, 1, 1), seq_rewards=(1.0, 0.0, 0.5, 2.0, 2.0, 0.0),
            lengths=(5, 3, 4, 2, 5, 4), prompt=1):
    """Six completions of two prompts: the first ``prompt`` positions are the prompt (not
    acted on); each completion's reward sits at its last token."""
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(1, V, (6, T), generator=g)
    lengths = torch.tensor(lengths)
    rewards = torch.zeros(6, T)
    rewards[torch.arange(6), lengths - 1] = torch.tensor(seq_rewards)
    mask = torch.arange(T)[None, :] >= prompt
    return Rollout(tokens, lengths, torch.zeros(6, T), rewards, None, mask.expand(6, T),
                   group=torch.tensor(group))


def gradient(agent, batch):
    """The agent's loss and its gradient on the policy (lr 0: the weights do not move)."""
    for group in agent.optimizer.param_groups:
        group["lr"] = 0.0
    agent.grad_clip = 1e9
    stats = agent.update(batch)
    return stats["loss"], {k: p.grad.clone() for k, p in agent.policy.named_parameters()}


def reference_gradient(loss_of):
    """``loss_of(log_probs [B, T])`` differentiated by hand-written code on a fresh policy."""
    model = policy()
    batch = rollout()
    log_probs = model.log_prob(batch.tokens, batch.lengths)
    loss = loss_of(log_probs, batch)
    loss.backward()
    return loss.item(), {k: p.grad.clone() for k, p in model.named_parameters()}


def assert_same(got, want):
    assert got[0] == pytest.approx(want[0], rel=1e-5, abs=1e-7)
    for name in want[1]:
        torch.testing.assert_close(got[1][name], want[1][name], rtol=1e-4, atol=1e-6, msg=name)


def acted_of(batch):
    return batch.acted().float()


def grpo_advantages(seq_rewards, groups, scale="group"):
    out = []
    for i, r in enumerate(seq_rewards):
        members = [seq_rewards[j] for j in range(len(groups)) if groups[j] == groups[i]]
        mean = sum(members) / len(members)
        std = math.sqrt(sum((m - mean) ** 2 for m in members) / (len(members) - 1))
        if scale == "batch":
            all_mean = sum(seq_rewards) / len(seq_rewards)
            std = math.sqrt(sum((m - all_mean) ** 2 for m in seq_rewards) / (len(seq_rewards) - 1))
        out.append((r - mean) / (std + 1e-4) if scale != "none" else r - mean)
    return torch.tensor(out)


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_grpo_advantages_are_group_normalised(scale):
    batch = rollout()
    agent = GRPO(policy(), scale_rewards=scale)
    want = grpo_advantages([1.0, 0.0, 0.5, 2.0, 2.0, 0.0], [0, 0, 0, 1, 1, 1], scale)
    got = agent.advantages(batch, sequence_rewards(batch))
    torch.testing.assert_close(got, want[:, None] * acted_of(batch))


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "dr_grpo"])
def test_grpo_loss_and_gradient_match_the_formula(loss_type):
    advantages = grpo_advantages([1.0, 0.0, 0.5, 2.0, 2.0, 0.0], [0, 0, 0, 1, 1, 1])

    def loss_of(log_probs, batch):
        acted = acted_of(batch)
        ratio = torch.exp(log_probs - log_probs.detach())  # pi_old = pi at the first pass
        per_token = -ratio * advantages[:, None] * acted
        if loss_type == "grpo":
            return sum(per_token[i].sum() / acted[i].sum() for i in range(6)) / 6
        if loss_type == "dapo":
            return per_token.sum() / acted.sum()
        return per_token.sum() / (6 * T)

    assert_same(gradient(GRPO(policy(), loss_type=loss_type), rollout()),
                reference_gradient(loss_of))


def test_grpo_kl_in_the_loss_adds_k3_and_its_gradient():
    start = policy()
    moved = policy()
    with torch.no_grad():  # the policy has moved away from its reference
        for p in moved.parameters():
            p.add_(0.3 * torch.randn_like(p))
    agent = GRPO(moved, loss_type="dapo", kl=ReferenceKL(start, coef=0.5, place="loss"))
    batch = rollout()
    got = gradient(agent, batch)
    ref = start.log_prob(batch.tokens, batch.lengths).detach()
    advantages = grpo_advantages([1.0, 0.0, 0.5, 2.0, 2.0, 0.0], [0, 0, 0, 1, 1, 1])
    model = policy()
    model.load_state_dict(moved.state_dict())
    log_probs = model.log_prob(batch.tokens, batch.lengths)
    acted = acted_of(batch)
    log_ratio = ref - log_probs
    kl = log_ratio.exp() - log_ratio - 1
    ratio = torch.exp(log_probs - log_probs.detach())
    loss = ((-ratio * advantages[:, None] + 0.5 * kl) * acted).sum() / acted.sum()
    loss.backward()
    assert_same(got, (loss.item(), {k: p.grad for k, p in model.named_parameters()}))
    assert k3(torch.tensor([0.0]), torch.tensor([0.0])).item() == 0.0  # no KL at the reference


def test_the_clip_bounds_the_ratio_asymmetrically_with_epsilon_high():
    agent = GRPO(policy(), epsilon=0.2, epsilon_high=0.28)
    old = torch.zeros(1, 4)
    log_probs = torch.log(torch.tensor([[1.5, 1.5, 0.5, 0.5]]))
    advantages = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    objective, clipped = agent.surrogate(log_probs, old, advantages, torch.ones(1, 4, dtype=bool))
    # min(rho A, clip(rho) A): a good token's gain stops at 1.28, a bad one's loss does not
    torch.testing.assert_close(objective, torch.tensor([[1.28, -1.5, 0.5, -0.8]]))
    assert clipped.tolist() == [[True, False, False, True]]


def test_rloo_uses_the_leave_one_out_baseline_over_whole_completions():
    batch = rollout()
    rewards = [1.0, 0.0, 0.5, 2.0, 2.0, 0.0]
    loo = [r - (sum(rewards[3 * (i // 3):3 * (i // 3) + 3]) - r) / 2 for i, r in enumerate(rewards)]
    torch.testing.assert_close(RLOO(policy()).advantages(batch, sequence_rewards(batch)),
                               torch.tensor(loo)[:, None] * acted_of(batch))

    def loss_of(log_probs, batch):
        sequence = (log_probs * acted_of(batch)).sum(1)
        return -(torch.tensor(loo) * torch.exp(sequence - sequence.detach())).sum() / 6

    assert_same(gradient(RLOO(policy()), batch), reference_gradient(loss_of))


def test_rloo_clips_the_sequence_ratio():
    agent = RLOO(policy(), epsilon=0.2)
    acted = torch.tensor([[False, True, True], [False, True, False]])
    log_probs = torch.log(torch.tensor([[1.0, 1.2, 1.2], [1.0, 0.5, 1.0]]))
    objective, clipped = agent.surrogate(log_probs, torch.zeros(2, 3),
                                         torch.tensor([[0.0, 2.0, 2.0], [0.0, -1.0, 0.0]]), acted)
    # ratios 1.44 (clipped to 1.2 for a positive advantage) and 0.5 (kept: -1 * 0.5 > -0.8 no,
    # min(-0.5, -0.8) = -0.8): one number per completion, at its first chosen token
    torch.testing.assert_close(objective.sum(1), torch.tensor([2.4, -0.8]))
    assert clipped.sum(1).tolist() == [1, 1]


def test_reinforce_pp_whitens_returns_over_the_batch():
    batch = rollout()
    acted = batch.acted()
    returns = torch.zeros(6, T)
    for i, (r, n) in enumerate(zip([1.0, 0.0, 0.5, 2.0, 2.0, 0.0], batch.lengths.tolist(),
                                          strict=True)):
        returns[i, 1:n] = r  # an undiscounted return from each chosen token to the end
    values = returns[acted]
    want = (returns - values.mean()) / (values.std(unbiased=False) + 1e-8) * acted
    torch.testing.assert_close(ReinforcePP(policy()).advantages(batch, sequence_rewards(batch)), want)


def test_reinforce_pp_baseline_subtracts_the_group_mean_first():
    batch = rollout()
    acted = batch.acted()
    rewards = [1.0, 0.0, 0.5, 2.0, 2.0, 0.0]
    centred = [r - sum(rewards[3 * (i // 3):3 * (i // 3) + 3]) / 3 for i, r in enumerate(rewards)]
    returns = torch.zeros(6, T)
    for i, (r, n) in enumerate(zip(centred, batch.lengths.tolist(), strict=True)):
        returns[i, 1:n] = r
    values = returns[acted]
    want = (returns - values.mean()) / (values.std(unbiased=False) + 1e-8) * acted
    torch.testing.assert_close(ReinforcePP(policy(), group_baseline=True).advantages(
        batch, sequence_rewards(batch)), want)


def test_kl_in_the_reward_takes_beta_k1_from_each_chosen_token():
    start, moved = policy(), policy()
    with torch.no_grad():
        for p in moved.parameters():
            p.add_(0.3 * torch.randn_like(p))
    batch = rollout()
    agent = ReinforcePP(moved, kl=ReferenceKL(start, coef=0.2, place="reward"))
    log_probs = moved.log_prob(batch.tokens, batch.lengths).detach()
    ref = start.log_prob(batch.tokens, batch.lengths).detach()
    penalised, ref_out, stats = agent.kl_start(batch, log_probs)
    acted = acted_of(batch)
    torch.testing.assert_close(penalised.rewards, batch.rewards - 0.2 * (log_probs - ref) * acted)
    assert ref_out is not None
    assert stats["kl"] == pytest.approx(((log_probs - ref) * acted).sum().item() / 6, rel=1e-5)
    assert stats["kl_coef"] == 0.2


def test_the_adaptive_controller_moves_beta_towards_the_target():
    kl = ReferenceKL(policy(), coef=0.1, place="reward", target=2.0, horizon=100)
    kl.observe(kl=4.0, sequences=10)  # over target: e clipped to 0.2
    assert kl.coef == pytest.approx(0.1 * (1 + 0.2 * 10 / 100))
    kl.observe(kl=1.0, sequences=10)  # under: e = -0.5 clipped to -0.2
    assert kl.coef == pytest.approx(0.1 * 1.02 * 0.98)


@pytest.mark.parametrize("agent", [GRPO, RLOO, lambda p: ReinforcePP(p, group_baseline=True)])
def test_a_group_of_one_has_no_baseline(agent):
    with pytest.raises(UserError, match="--group-size 2"):
        agent(policy()).update(rollout(group=(0, 1, 2, 3, 4, 5)))


def test_without_groups_the_batch_is_one_group():
    batch = rollout()._replace(group=None)
    want = grpo_advantages([1.0, 0.0, 0.5, 2.0, 2.0, 0.0], [0] * 6)
    got = GRPO(policy()).advantages(batch, sequence_rewards(batch))
    torch.testing.assert_close(got, want[:, None] * acted_of(batch))


def test_reinforce_pp_baseline_centres_the_task_reward_not_the_kl():
    start, moved = policy(), policy()
    with torch.no_grad():
        for p in moved.parameters():
            p.add_(0.3 * torch.randn_like(p))
    batch = rollout()
    agent = ReinforcePP(moved, group_baseline=True, kl=ReferenceKL(start, 0.5, "reward"))
    log_probs = moved.log_prob(batch.tokens, batch.lengths).detach()
    penalised, _, _ = agent.kl_start(batch, log_probs)
    acted = batch.acted()
    rewards = [1.0, 0.0, 0.5, 2.0, 2.0, 0.0]
    means = [sum(rewards[3 * (i // 3):3 * (i // 3) + 3]) / 3 for i in range(6)]
    centred = penalised.rewards.clone()
    centred[torch.arange(6), batch.lengths - 1] -= torch.tensor(means)
    returns = centred.flip(1).cumsum(1).flip(1) * acted  # undiscounted returns to go
    values = returns[acted]
    want = (returns - values.mean()) / (values.std(unbiased=False) + 1e-8) * acted
    got = agent.advantages(penalised, sequence_rewards(batch))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_updates_move_the_policy_towards_rewarded_completions():
    """Three agents, one batch reused: the log-probability of the best completion rises."""
    for agent_class in (GRPO, RLOO, ReinforcePP):
        model = policy()
        batch = rollout()
        before = (model.log_prob(batch.tokens, batch.lengths) * acted_of(batch)).sum(1).detach()
        agent = agent_class(model, lr=0.05)
        for _ in range(5):
            agent.update(batch)
        after = (model.log_prob(batch.tokens, batch.lengths) * acted_of(batch)).sum(1).detach()
        gain = after - before
        assert gain[3] + gain[4] > gain[5], agent_class.__name__  # the 2.0s gain on the 0.0
