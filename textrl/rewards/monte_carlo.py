"""SeqGAN's Monte-Carlo rollout reward: Q(prefix, token) for every prefix of a sequence."""

from __future__ import annotations

from typing import Any

import torch

from textrl.data.corpus import length_mask
from textrl.models.base import Policy
from textrl.models.generation import complete_prefixes
from textrl.models.modes import eval_mode
from textrl.rewards.base import Reward, as_reward


class MonteCarloReward(Reward):
    """Token-level Q estimates from a sequence-level reward (SeqGAN eq. 4).

    For a sequence ``Y`` of length L: ``Q_t`` (t < L) is the mean reward of ``n_rollouts``
    completions of ``Y[:t]`` drawn from ``rollout_policy`` with ``generator``;
    ``Q_L = reward(Y)``. All prefixes and all rollouts are drawn together from the policy's
    cached prefix states (``textrl.models.generation.complete_prefixes``, ``chunk`` rows at a
    time); the reward is called over every completion, ``reward_chunk`` rows a call, with
    the batch's one ``context``.

    Returns ``[B, T]`` with 0 on padding.

    >>> from textrl.models import LMConfig, RecurrentLM
    >>> from textrl.rewards import ConstantReward
    >>> mc = MonteCarloReward(ConstantReward(1.0), RecurrentLM(LMConfig(vocab_size=9)), 4)
    >>> mc(torch.randint(9, (2, 5)), torch.tensor([5, 5])).tolist()
    [[1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0]]
    """

    token_level = True
    causal = False

    def __init__(self, reward: Reward, rollout_policy: Policy, n_rollouts: int = 16,
                 temperature: float = 1.0, chunk: int = 512, reward_chunk: int = 4096,
                 generator: torch.Generator | None = None):
        reward = as_reward(reward)
        if reward.token_level:
            raise ValueError("Monte-Carlo rollouts turn a sequence-level reward into Q values; "
                             "the reward given is already token-level")
        self.reward, self.policy = reward, rollout_policy
        self.n_rollouts, self.temperature = n_rollouts, temperature
        self.chunk, self.reward_chunk = chunk, reward_chunk
        self.generator = generator
        self.distributable = reward.distributable

    @property
    def label(self) -> str:
        return f"{self.reward.label} (through Monte-Carlo rollouts)"

    def draw_context(self) -> Any:
        """The wrapped reward's per-batch context (a ranker's real sets), if it draws one."""
        return self.reward.draw_context()

    @torch.no_grad()
    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        batch, length = tokens.shape
        with eval_mode(self.policy):
            completions, completion_lengths = complete_prefixes(
                self.policy, tokens, lengths, self.n_rollouts, self.temperature, self.generator,
                chunk=self.chunk)
        every = torch.cat([completions, tokens])
        every_lengths = torch.cat([completion_lengths, lengths])
        # Whole batches per call: a reward may rank each sentence within its batch (RankGAN).
        step = max(batch, self.reward_chunk // batch * batch)
        rewards = torch.cat([self.reward(every[lo:lo + step], every_lengths[lo:lo + step],
                                         context).float()
                             for lo in range(0, len(every), step)])
        # Rows are laid out ((t - 1) * N + n) * B + b; the last B rows are the sequences.
        q = rewards[:-batch].view(length - 1, self.n_rollouts, batch).mean(dim=1).T
        q = torch.cat([q, rewards[-batch:, None]], dim=1)
        return q * length_mask(lengths, length)


@torch.no_grad()
def reference_q_values(reward: Reward, rollout_policy: Policy, tokens: torch.Tensor,
                       lengths: torch.Tensor, n_rollouts: int, temperature: float = 1.0,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """The same estimator as ``MonteCarloReward`` written the way public SeqGAN code does it:
    a Python loop over rollouts and prefixes, each re-reading its prefix. Fixed-length
    sequences only. Kept as the reference the batched version is tested and timed against."""
    batch, length = tokens.shape
    rollout_policy.eval()
    q = torch.zeros(batch, length, device=tokens.device)
    for _ in range(n_rollouts):
        for t in range(1, length):
            sample = rollout_policy.sample(batch, length, temperature, prefix=tokens[:, :t],
                                           generator=generator)
            q[:, t - 1] += reward(sample.tokens, sample.lengths).float() / n_rollouts
    q[:, -1] = reward(tokens, lengths).float()
    return q
