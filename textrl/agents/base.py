"""What every RL agent shares: the rollout it learns from, how rollouts are collected (an
adversarial g-step's sample-and-score, or episodes on a ``TextVecEnv``; both pay rewards
with :func:`textrl.rewards.pay`), the one optimisation step, the ``learn`` loop, and
``save``/``load``."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import torch

from textrl import distributed
from textrl.agents.kl import ReferenceKL
from textrl.data.corpus import length_mask
from textrl.device import device_of
from textrl.envs.text_env import TextVecEnv
from textrl.files import atomic_write
from textrl.models.base import Policy
from textrl.models.generation import continue_sequences, rows_of
from textrl.models.modes import eval_mode
from textrl.models.module import scores_from_logits
from textrl.optimization import optimizer_step
from textrl.rewards.base import Reward, pay
from textrl.tasks.base import Task
from textrl.tasks.unconditional import Unconditional


class Rollout(NamedTuple):
    """One batch of finished sentences.

    - ``tokens [B, T]``, ``lengths [B]`` (textrl's mask convention);
    - ``log_probs [B, T]``: of each token under the policy that wrote it (0 where it wrote
      nothing);
    - ``rewards [B, T]``: per token, 0 on padding (a sequence-level reward sits at the last
      token);
    - ``context``: what generation was conditioned on (``None`` for a language model);
    - ``action_mask [B, T]``: the positions the agent chose; the others were given (in-filling)
      and carry no reward, advantage or gradient. ``None``: every real position;
    - ``values [B, T]``: a critic's estimates, when the collector had one;
    - ``group [B]``: rows written from the same prompt (group baselines); ``None``: the whole
      batch is one group.
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    log_probs: torch.Tensor
    rewards: torch.Tensor
    context: Any = None
    action_mask: torch.Tensor | None = None
    values: torch.Tensor | None = None
    group: torch.Tensor | None = None

    def valid(self) -> torch.Tensor:
        """``BoolTensor[B, T]``: the real positions."""
        return length_mask(self.lengths, self.tokens.shape[1])

    def acted(self) -> torch.Tensor:
        """``BoolTensor[B, T]``: where the agent chose the token (what its losses count)."""
        valid = self.valid()
        return valid if self.action_mask is None else valid & self.action_mask.bool()

    def rows(self, index: torch.Tensor) -> Rollout:
        """The sentences ``index`` (ids), every field indexed alike."""
        return Rollout(*(rows_of(field, index) for field in self))


@torch.no_grad()
def sample_rollout(policy: Policy, reward: Reward, n: int, max_len: int,
                   temperature: float = 1.0, generator: torch.Generator | None = None,
                   context: Any = None, action_mask: torch.Tensor | None = None,
                   task: Task | None = None) -> Rollout:
    """Write ``n`` sentences with ``policy`` (dropout off) and score them with ``reward``:
    the rollout of an adversarial g-step. A sequence-level reward is paid at the last token;
    a token-level one (Monte-Carlo Q values, a per-word discriminator) as it comes. With a
    ``context`` (an in-filler's templates, a prompted task's prompts) the policy writes under
    it as ``task`` says, the reward scores with it, and ``action_mask`` marks the positions
    the policy chose; the rollout keeps what the policy read and ``task``'s groups."""
    task = task or Unconditional()
    with eval_mode(policy):
        sample = task.generate(policy, n, max_len, context, temperature, generator)
    scored_with = context if context is not None else reward.draw_context()
    acted = None if action_mask is None else action_mask.bool() & length_mask(sample.lengths,
                                                                              max_len)
    rewards = pay(reward, sample.tokens, sample.lengths, scored_with, acted)
    return Rollout(sample.tokens, sample.lengths, sample.log_probs, rewards,
                   task.policy_context(context), action_mask, group=task.groups(context))


@torch.no_grad()
def collect_episodes(env: TextVecEnv, policy: Policy,
                     generator: torch.Generator | None = None) -> Rollout:
    """Write one sentence in every row of ``env`` with ``policy``, stepping the env.

    Rows that finish early keep stepping (the env has already reset them) but what they
    write after their first episode is discarded; the returned rollout holds exactly one
    episode per row, with the env's per-step rewards.
    """
    batch, max_len = env.num_envs, env.sentences.max_len
    device = device_of(policy)  # the env's own tensors stay on the CPU
    env.reset()
    tokens = torch.full((batch, max_len), env.sentences.pad_id, dtype=torch.long, device=device)
    rewards = torch.zeros(batch, max_len)
    live = torch.ones(batch, dtype=torch.bool)  # still in its first episode
    position = itertools.count()

    def step_env(actions: torch.Tensor) -> torch.Tensor:
        step = env.step_tensors(actions.cpu())
        rewards[live, next(position)] = step.rewards[live]
        live.mul_(~step.done)
        return step.done.to(device)

    with eval_mode(policy):
        state = policy.initial_state(batch)
        start = torch.full((batch,), policy.start_id, dtype=torch.long, device=device)
        logits, state = policy.step(start, state)
        lengths, log_probs = continue_sequences(policy, logits, state, tokens,
                                                torch.zeros_like(start),
                                                generator=generator, on_step=step_env)
    return Rollout(tokens, lengths, log_probs, rewards.to(device))


def policy_outputs(policy: Policy, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor,
                                                              torch.Tensor]:
    """``(log_probs [B, T], entropy [B, T], features [B, T, F])`` of the rollout's tokens under
    ``policy``, teacher-forced, with gradients; log-probabilities and entropies are 0 on
    padding. Call it with dropout off (the tokens were sampled without it).

    A policy's ``token_scores`` (every ``PolicyModule``'s: one pass over the output layer)
    gives them; a policy without it is scored from its ``teacher_forced`` logits."""
    token_scores = getattr(policy, "token_scores", None)  # optional in the protocol
    if token_scores is None:
        token_scores = partial(scores_from_logits, policy)
    return tuple(token_scores(rollout.tokens, rollout.lengths, rollout.context))


class Agent:
    """The API every RL agent offers: ``update(rollout) -> metrics``, ``learn(env, ...)``,
    ``save(path)``/``load(path)``. Subclasses set ``self.policy``, ``self.optimizer`` and
    ``self.grad_clip``, implement ``update`` (computing a loss and passing it to
    :meth:`optimize`), ``state_dict`` and ``load_state_dict``.

    ``distributable``: each process of a torchrun run may update on its own share of every
    rollout (its loss scaled so that the averaged gradient is the global batch's); an agent
    whose update reads the whole batch at once (PPO's advantage normalisation and
    mini-batches) sets it False and runs in one process."""

    policy: Policy
    optimizer: torch.optim.Optimizer
    grad_clip: float
    distributable: ClassVar[bool] = True
    kl: ReferenceKL | None = None
    """the KL to a frozen copy of the start (logged; paid in the reward or the loss)"""

    def kl_start(self, rollout: Rollout, log_probs: torch.Tensor
                 ) -> tuple[Rollout, torch.Tensor | None, dict[str, float]]:
        """Before an update, from the policy's detached ``log_probs [B, T]`` of the rollout:
        the rollout with ``coef * k1`` taken from each chosen token's reward (when the KL is
        paid there), the reference's log-probabilities (for :meth:`kl_loss`), and the
        logged ``kl`` (per sequence) and ``kl_coef``. Without a reference: unchanged."""
        if self.kl is None:
            return rollout, None, {}
        acted = rollout.acted()
        ref = self.kl.reference_log_probs(rollout.tokens, rollout.lengths, rollout.context)
        rewards = rollout.rewards - self.kl.penalty(log_probs, ref, acted)
        stats = {"kl": self.kl.measure(log_probs, ref, acted), "kl_coef": self.kl.coef}
        self.kl.observe(stats["kl"], distributed.world() * len(rollout.tokens))
        return rollout._replace(rewards=rewards), ref, stats

    def kl_loss(self, log_probs: torch.Tensor, ref_log_probs: torch.Tensor | None,
                acted: torch.Tensor) -> torch.Tensor:
        """``[B, T]``: each chosen token's ``coef * k3`` when the KL sits in the loss, else 0."""
        if self.kl is None or ref_log_probs is None:
            return torch.zeros_like(log_probs)
        return self.kl.loss_term(log_probs, ref_log_probs, acted)

    def kl_state(self) -> dict:
        return {} if self.kl is None else {"kl": self.kl.state_dict()}

    def load_kl_state(self, state: dict) -> None:
        if self.kl is not None and "kl" in state:  # a checkpoint from before KL: its start
            self.kl.load_state_dict(state["kl"])

    def update(self, rollout: Rollout) -> dict[str, float]:
        raise NotImplementedError

    def optimize(self, loss: torch.Tensor, what: str) -> float:
        """One step of ``optimizer`` on ``loss`` (:func:`textrl.optimization.optimizer_step`:
        the gradient averaged over torchrun's processes, its norm clipped to ``grad_clip``);
        returns the norm before clipping."""
        return optimizer_step(self.optimizer, loss, what, self.grad_clip)

    def state_dict(self) -> dict:
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError

    def learn(self, env: TextVecEnv, total_steps: int, generator: torch.Generator | None = None,
              callback: Callable[[dict], bool | None] | None = None) -> list[dict]:
        """Collect a batch of episodes from ``env``, update, repeat until ``total_steps``
        tokens were written. ``callback(record)`` after each update may return ``False`` to
        stop. Returns the records: ``steps``, ``time_s``, ``mean_reward`` (per episode)
        and the update's metrics."""
        records, steps, start = [], 0, time.perf_counter()
        while steps < total_steps:
            rollout = collect_episodes(env, self.policy, generator)
            stats = self.update(rollout)
            steps += int(rollout.lengths.sum())
            record = {"steps": steps, "time_s": time.perf_counter() - start,
                      "mean_reward": float(rollout.rewards.sum(1).mean())} | stats
            records.append(record)
            if callback is not None and callback(record) is False:
                break
        return records

    def save(self, path: str | os.PathLike) -> None:
        """Policy and agent state (optimiser, baselines), atomically, ``weights_only``-loadable."""
        state = {"policy": self.policy.to_dict(), "agent": self.state_dict()}
        atomic_write(Path(path), lambda f: torch.save(state, f))

    def load(self, path: str | os.PathLike) -> None:
        """Restore what ``save`` wrote into this agent (same policy shape)."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.policy.load_state_dict(state["policy"]["state_dict"])
        self.load_state_dict(state["agent"])
