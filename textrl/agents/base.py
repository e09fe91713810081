"""What every RL agent shares: the rollout it learns from, how rollouts are collected (an
adversarial g-step's sample-and-score, or episodes on a ``TextVecEnv``; both pay rewards
with :func:`textrl.rewards.pay`), the one optimisation step, the ``learn`` loop, and
``save``/``load``."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import torch

from textrl.data.corpus import length_mask
from textrl.device import device_of
from textrl.envs.text_env import TextVecEnv
from textrl.files import atomic_write
from textrl.models.base import Policy
from textrl.models.generation import continue_sequences, rows_of
from textrl.models.modes import eval_mode
from textrl.optimization import optimizer_step
from textrl.rewards.base import Reward, pay


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
    - ``values [B, T]``: a critic's estimates, when the collector had one.
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    log_probs: torch.Tensor
    rewards: torch.Tensor
    context: Any = None
    action_mask: torch.Tensor | None = None
    values: torch.Tensor | None = None

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
                   context: Any = None, action_mask: torch.Tensor | None = None) -> Rollout:
    """Write ``n`` sentences with ``policy`` (dropout off) and score them with ``reward``:
    the rollout of an adversarial g-step. A sequence-level reward is paid at the last token;
    a token-level one (Monte-Carlo Q values, a per-word discriminator) as it comes. With a
    ``context`` (an in-filler's templates) the policy writes under it, the reward scores with
    it, and ``action_mask`` marks the positions the policy chose."""
    with eval_mode(policy):
        sample = policy.sample(n, max_len, temperature, context=context, generator=generator)
    scored_with = context if context is not None else reward.draw_context()
    acted = None if action_mask is None else action_mask.bool() & length_mask(sample.lengths,
                                                                              max_len)
    rewards = pay(reward, sample.tokens, sample.lengths, scored_with, acted)
    return Rollout(sample.tokens, sample.lengths, sample.log_probs, rewards, context, action_mask)


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
