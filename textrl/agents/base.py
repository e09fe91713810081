"""What every RL agent shares: the rollout it learns from, episode collection on a
``TextVecEnv``, the ``learn`` loop, and ``save``/``load``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch

from textrl.envs.text_env import TextVecEnv
from textrl.files import atomic_write
from textrl.models.modes import eval_mode
from textrl.models.recurrent import RecurrentLM
from textrl.models.sampling import sample_categorical


class Rollout(NamedTuple):
    """One batch of finished sentences: ``tokens [B, T]``, ``lengths [B]``, per-token
    ``rewards [B, T]`` (0 on padding)."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    rewards: torch.Tensor


@torch.no_grad()
def collect_episodes(env: TextVecEnv, policy: RecurrentLM,
                     generator: torch.Generator | None = None) -> Rollout:
    """Write one sentence in every row of ``env`` with ``policy``, stepping the env.

    Rows that finish early keep stepping (the env has already reset them) but what they
    write after their first episode is discarded; the returned rollout holds exactly one
    episode per row, with the env's per-step rewards.
    """
    batch, max_len = env.num_envs, env.sentences.max_len
    env.reset()
    tokens = torch.full((batch, max_len), env.sentences.pad_id, dtype=torch.long)
    rewards = torch.zeros(batch, max_len)
    lengths = torch.zeros(batch, dtype=torch.long)
    live = torch.ones(batch, dtype=torch.bool)
    with eval_mode(policy):
        state = policy.initial_state(batch)
        inputs = torch.full((batch,), policy.config.start_id, dtype=torch.long)
        for t in range(max_len):
            logits, state = policy.step(inputs, state)
            actions, _ = sample_categorical(logits, generator=generator, reuse_logits=True)
            _, step_rewards, done, _, _ = env.step_tensors(actions)
            tokens[live, t] = actions[live]
            rewards[live, t] = step_rewards[live]
            lengths[live] = t + 1
            live &= ~done
            if not bool(live.any()):
                break
            inputs = actions
    return Rollout(tokens, lengths, rewards)


class Agent:
    """The API every RL agent offers: ``update(rollout) -> metrics``, ``learn(env, ...)``,
    ``save(path)``/``load(path)``. Subclasses set ``self.policy`` and implement ``update``,
    ``state_dict`` and ``load_state_dict``."""

    policy: RecurrentLM

    def update(self, rollout: Rollout) -> dict[str, float]:
        raise NotImplementedError

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
