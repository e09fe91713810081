"""What every textrl vector environment shares: one object's tensors hold all ``num_envs``
episodes, rewards are paid through :func:`textrl.rewards.pay` (the way the trainers' rollouts
pay them), and this base owns each episode's return, length and the ``infos`` SB3 reads."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np
import torch
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from textrl.models.generation import rows_of
from textrl.rewards.base import Reward, pay


def step_rewards(reward: Reward, tokens: torch.Tensor, lengths: torch.Tensor,
                 done: torch.Tensor, context: Any = None) -> torch.Tensor:
    """``[B]`` rewards for the step that just wrote position ``lengths - 1`` of every row of
    ``tokens [B, T]`` (under ``context``): what :func:`~textrl.rewards.pay` pays there on the
    sentences so far, for every row with a token-level (causal) reward, for the rows that
    ended (``done``) with a sequence-level one."""
    rows = torch.ones_like(done) if reward.token_level else done
    out = torch.zeros(len(lengths))
    if bool(rows.any()):
        paid = pay(reward, tokens[rows], lengths[rows], rows_of(context, rows))
        out[rows] = paid[torch.arange(len(paid)), lengths[rows] - 1].cpu()
    return out


class Step(NamedTuple):
    """One step of every episode: ``observation [B, D]`` (finished rows already restarted),
    ``rewards [B]``, ``done [B]``, ``final [B, D]`` (the observation before the restart),
    ``returns [B]`` and ``lengths [B]`` (each episode's return and steps so far, counting
    this one: a finished episode's totals)."""

    observation: torch.Tensor
    rewards: torch.Tensor
    done: torch.Tensor
    final: torch.Tensor
    returns: torch.Tensor
    lengths: torch.Tensor


class TensorVecEnv(VecEnv):
    """A VecEnv whose ``num_envs`` episodes live in one object's tensors. Subclasses implement
    ``_advance(actions [B]) -> (rewards [B], done [B])``, ``_restart(rows)`` (new episodes in
    the rows of the bool mask, every row for ``None``) and ``_observation() -> [B, D]``; this
    base steps them, sums each episode's rewards (``info["episode"]["r"]`` is the return,
    whatever the reward pays per step), and answers SB3's attribute and method plumbing."""

    def __init__(self, num_envs: int, observation_space: Any, action_space: Any):
        self.render_mode = None  # read by VecEnv.__init__ through get_attr
        super().__init__(num_envs, observation_space, action_space)
        self._returns = torch.zeros(num_envs)
        self._steps = torch.zeros(num_envs, dtype=torch.long)
        self._actions: torch.Tensor | None = None
        self._start = time.time()

    def _advance(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def _restart(self, rows: torch.Tensor | None) -> None:
        raise NotImplementedError

    def _observation(self) -> torch.Tensor:
        raise NotImplementedError

    def _seed(self, seed: int) -> None:
        """Seed the episodes' own randomness (what ``reset`` after ``seed(s)`` draws)."""

    def reset(self) -> np.ndarray:
        seeds = [s for s in self._seeds if s is not None]
        if seeds:
            self._seed(int(seeds[0]))
        self._reset_seeds()
        self._reset_options()
        self._restart(None)
        self._returns.zero_()
        self._steps.zero_()
        return self._observation().numpy().copy()

    def step_tensors(self, actions: torch.Tensor) -> Step:
        """Apply ``actions [B]`` to every episode (native agents call this and skip numpy)."""
        rewards, done = self._advance(actions)
        self._returns += rewards
        self._steps += 1
        final, returns, lengths = self._observation(), self._returns.clone(), self._steps.clone()
        if bool(done.any()):
            self._restart(done)
            self._returns[done], self._steps[done] = 0.0, 0
        return Step(self._observation(), rewards, done, final, returns, lengths)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = torch.as_tensor(np.asarray(actions).reshape(self.num_envs), dtype=torch.long)

    def step_wait(self):
        """Every step returns fresh numpy arrays (a view of the internal buffer would be
        overwritten under SB3's rollout buffer). A finished episode restarts at once: its
        ``info`` holds ``terminal_observation`` and ``episode`` (return ``r``, length ``l``,
        seconds since creation ``t``)."""
        step = self.step_tensors(self._actions)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        elapsed = round(time.time() - self._start, 6)
        for i in torch.nonzero(step.done).flatten().tolist():
            infos[i] = {"terminal_observation": step.final[i].numpy().copy(),
                        "TimeLimit.truncated": False,
                        "episode": {"r": float(step.returns[i]), "l": int(step.lengths[i]),
                                    "t": elapsed}}
        return (step.observation.numpy().copy(), step.rewards.numpy().copy(),
                step.done.numpy().copy(), infos)

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        method = getattr(self, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
