"""Sentence generation as RL: one sentence per episode, one token per action.

The observation is the padded prefix of token ids followed by the position, as int64
(``[max_len + 1]``): the position disambiguates padding when the pad id is also a real
token (the SeqGAN oracle's 0). Episodes end with ``terminated=True`` at EOS or at
``max_len``; a sequence-level reward is paid at that last step, a causal token-level one
(:class:`~textrl.rewards.Reward`) at every step, for the token just written.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from textrl.data.vocab import Vocab
from textrl.envs.base import TensorVecEnv, step_rewards
from textrl.oracle import OracleLSTM
from textrl.rewards.base import Reward, as_reward
from textrl.rewards.simple import OracleReward


class Sentences:
    """B sentences being written, as tensors: ``tokens [B, T]``, ``lengths [B]``."""

    def __init__(self, n: int, max_len: int, eos_id: int | None, pad_id: int):
        self.max_len, self.eos_id, self.pad_id = max_len, eos_id, pad_id
        self.tokens = torch.full((n, max_len), pad_id, dtype=torch.long)
        self.lengths = torch.zeros(n, dtype=torch.long)

    def reset(self, rows: torch.Tensor | None = None) -> None:
        """Empty every sentence, or those where the bool mask ``rows`` is True."""
        if rows is None:
            self.tokens.fill_(self.pad_id)
            self.lengths.zero_()
        else:
            self.tokens[rows] = self.pad_id
            self.lengths[rows] = 0

    def write(self, actions: torch.Tensor) -> torch.Tensor:
        """Append ``actions [B]``; returns the bool mask of sentences that just ended."""
        if bool((self.lengths >= self.max_len).any()):
            raise RuntimeError("a sentence has already ended; reset it before stepping")
        self.tokens[torch.arange(len(actions)), self.lengths] = actions
        self.lengths += 1
        done = self.lengths == self.max_len
        if self.eos_id is not None:
            done |= actions == self.eos_id
        return done

    def observation(self) -> torch.Tensor:
        """``[B, max_len + 1]``: the padded prefixes and their positions."""
        return torch.cat([self.tokens, self.lengths[:, None]], dim=1)


def prefix_spaces(vocab_size: int, max_len: int) -> tuple[spaces.Box, spaces.Discrete]:
    """The observation (a padded prefix of ids and its position, ``[max_len + 1]``) and action
    (a token id) spaces of a text env; the prompted env shares them."""
    high = max(vocab_size - 1, max_len)
    return (spaces.Box(0, high, shape=(max_len + 1,), dtype=np.int64),
            spaces.Discrete(vocab_size))


def _default_task(reward: Any, vocab_size: int | None, max_len: int | None
                  ) -> tuple[Reward, int, int]:
    """The embedded default: the seeded random oracle, rewarded by its own likelihood."""
    if reward is None:
        oracle = OracleLSTM.random(seed=0)
        return OracleReward(oracle), oracle.vocab_size, oracle.seq_len
    if vocab_size is None or max_len is None:
        raise ValueError("with a reward, give vocab_size and max_len too")
    reward = as_reward(reward)
    if reward.token_level and not reward.causal:
        raise ValueError(
            f"{type(reward).__name__} is token-level but not causal: its value at a position "
            "needs the finished sentence, so no environment can pay it step by step. Train "
            "with textrl's agents on rewards computed after the episode (AdversarialTrainer, "
            "or agent.update with r_t = Q_t and gamma 0)")
    return reward, vocab_size, max_len


class TextGenerationEnv(gym.Env):
    """One sentence per episode; ``gymnasium.make("textrl/TextGeneration-v0")``.

    >>> env = TextGenerationEnv()
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, int(env.action_space.n)
    ((21,), 5000)
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, reward: Reward | None = None, vocab_size: int | None = None,
                 max_len: int | None = None, eos_id: int | None = None, pad_id: int = 0,
                 vocab: Vocab | None = None, render_mode: str | None = None):
        self.reward, vocab_size, max_len = _default_task(reward, vocab_size, max_len)
        self.observation_space, self.action_space = prefix_spaces(vocab_size, max_len)
        self.vocab, self.render_mode = vocab, render_mode
        self._sentences = Sentences(1, max_len, eos_id, pad_id)

    def _obs(self) -> np.ndarray:
        return self._sentences.observation()[0].numpy().copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._sentences.reset()
        return self._obs(), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not a token id in [0, {self.action_space.n})")
        done = self._sentences.write(torch.tensor([int(action)]))
        reward = step_rewards(self.reward, self._sentences.tokens, self._sentences.lengths, done)
        return self._obs(), float(reward[0]), bool(done[0]), False, {}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        ids = self._sentences.tokens[0, : int(self._sentences.lengths[0])].tolist()
        return " ".join(self.vocab.decode(ids) if self.vocab else map(str, ids))


class TextVecEnv(TensorVecEnv):
    """``num_envs`` sentences stepped at once as tensors, behind stable-baselines3's VecEnv
    (the episode bookkeeping and ``infos``: :class:`~textrl.envs.base.TensorVecEnv`)."""

    def __init__(self, num_envs: int, reward: Reward | None = None,
                 vocab_size: int | None = None, max_len: int | None = None,
                 eos_id: int | None = None, pad_id: int = 0):
        self.reward, vocab_size, max_len = _default_task(reward, vocab_size, max_len)
        super().__init__(num_envs, *prefix_spaces(vocab_size, max_len))
        self.sentences = Sentences(num_envs, max_len, eos_id, pad_id)

    def _advance(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        done = self.sentences.write(actions)
        s = self.sentences
        return step_rewards(self.reward, s.tokens, s.lengths, done), done

    def _restart(self, rows: torch.Tensor | None) -> None:
        self.sentences.reset(rows)

    def _observation(self) -> torch.Tensor:
        return self.sentences.observation()
