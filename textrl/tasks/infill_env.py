"""In-filling as RL (MaskGAN): one masked sentence per episode, one action per blank.

On reset the env draws a sentence from its pool and a mask, writes the given tokens up to
the first blank, and waits. Each action fills the current blank; the env then writes the
given tokens up to the next blank (they cost no action and earn nothing), and the episode
ends when the sentence is complete. The reward of an action is a per-token reward's value
at the position it filled (MaskGAN: ``log D`` of a ``TokenDiscriminator``), computed on the
sentence so far with the template as context, so the reward must be token-level and causal.

The observation (int64) is ``[template (T), filled so far (T), position (1)]``: the template
holds the mask id (``vocab_size``) at blanks; the filled part is PAD after the position.
The embedded default (no arguments): sentences of the seeded random SeqGAN-style oracle,
contiguous masks at rate 0.5, and the oracle's log-probability of each filled token.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from textrl.data.corpus import Split
from textrl.data.masks import make_mask, template
from textrl.envs.base import TensorVecEnv, step_rewards
from textrl.models.seq2seq import Infill
from textrl.oracle import OracleLSTM
from textrl.rewards.base import Reward, as_reward
from textrl.rewards.simple import OracleReward


def _default_task(sentences: Split | None, reward: Any, vocab_size: int | None
                  ) -> tuple[Split, Reward, int]:
    if sentences is None and reward is None:
        oracle = OracleLSTM.random(seed=0)
        pool = oracle.corpus(n_train=1_000, n_valid=1, n_test=1, seed=0).train
        return pool, OracleReward(oracle, per_token=True), oracle.vocab_size
    if sentences is None or reward is None or vocab_size is None:
        raise ValueError("give sentences, reward and vocab_size together (or none of them for "
                         "the embedded default)")
    reward = as_reward(reward)
    if not (reward.token_level and reward.causal):
        raise ValueError(f"{type(reward).__name__} must be token-level and causal: the env pays "
                         "each blank when it is filled")
    if len(sentences) == 0 or int(sentences.lengths.min()) < 2:
        raise ValueError("the sentence pool must be non-empty, with at least 2 tokens a sentence "
                         "(the first is always given)")
    return sentences, reward, vocab_size


class Blanks:
    """B masked sentences being filled, as tensors (the state of both envs)."""

    def __init__(self, n: int, pool: Split, vocab_size: int, strategy: str, rate: float,
                 pad_id: int, generator: torch.Generator):
        self.pool, self.vocab_size, self.strategy, self.rate = pool, vocab_size, strategy, rate
        self.pad_id, self.generator = pad_id, generator
        length = pool.tokens.shape[1]
        self.truth = torch.full((n, length), pad_id, dtype=torch.long)
        self.template = self.truth.clone()
        self.filled = self.truth.clone()
        self.present = torch.ones(n, length, dtype=torch.bool)
        self.lengths = torch.ones(n, dtype=torch.long)
        self.position = torch.zeros(n, dtype=torch.long)
        self.rows_all = torch.arange(n)

    def reset(self, rows: torch.Tensor | None = None) -> None:
        """New sentences and masks in every row (or the rows of the bool mask ``rows``);
        a draw with no blank (possible with random masks) is drawn again."""
        rows = torch.ones(len(self.truth), dtype=torch.bool) if rows is None else rows.clone()
        while bool(rows.any()):
            n = int(rows.sum())
            pick = torch.randint(len(self.pool), (n,), generator=self.generator)
            lengths = self.pool.lengths[pick]
            present = make_mask(lengths, self.truth.shape[1], self.strategy, self.rate,
                                self.generator)
            self.truth[rows], self.lengths[rows], self.present[rows] = \
                self.pool.tokens[pick], lengths, present
            self.template[rows] = template(self.pool.tokens[pick], present, self.vocab_size)
            self.filled[rows] = self.pad_id
            self.position[rows] = 0
            self._write_given(rows)
            rows &= self.position >= self.lengths  # no blank: draw again

    def _write_given(self, rows: torch.Tensor) -> None:
        """Copy given tokens from each row's position up to its next blank (or its end)."""
        while True:
            at = self.position.clamp(max=self.truth.shape[1] - 1)
            given = rows & (self.position < self.lengths) & self.present[self.rows_all, at]
            if not bool(given.any()):
                return
            self.filled[given, at[given]] = self.truth[given, at[given]]
            self.position += given.long()

    def write(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fill each row's current blank with ``actions [B]``; returns ``(the positions
        filled [B], done [B])``."""
        if bool((self.position >= self.lengths).any()):
            raise RuntimeError("a sentence is already complete; reset it before stepping")
        filled_at = self.position.clone()
        self.filled[self.rows_all, filled_at] = actions
        self.position += 1
        self._write_given(torch.ones(len(actions), dtype=torch.bool))
        return filled_at, self.position >= self.lengths

    def observation(self) -> torch.Tensor:
        """``[B, 2T + 1]``: template, filled so far, position."""
        return torch.cat([self.template, self.filled, self.position[:, None]], dim=1)


def _spaces(vocab_size: int, length: int) -> tuple[spaces.Box, spaces.Discrete]:
    high = max(vocab_size, length)  # the mask id is vocab_size
    return (spaces.Box(0, high, shape=(2 * length + 1,), dtype=np.int64),
            spaces.Discrete(vocab_size))


def _rewards(reward: Reward, blanks: Blanks, filled_at: torch.Tensor) -> torch.Tensor:
    """``[B]``: the reward of the token each row just wrote at ``filled_at``."""
    lengths = filled_at + 1
    context = Infill(blanks.template, blanks.present, lengths)
    return step_rewards(reward, blanks.filled, lengths, torch.zeros_like(lengths, dtype=torch.bool),
                        context)


class InfillingEnv(gym.Env):
    """One masked sentence per episode; ``gymnasium.make("textrl/Infilling-v0")``.

    >>> env = InfillingEnv()
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, int(env.action_space.n)
    ((41,), 5000)
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, sentences: Split | None = None, reward: Reward | None = None,
                 vocab_size: int | None = None, strategy: str = "contiguous", rate: float = 0.5,
                 pad_id: int = 0, render_mode: str | None = None):
        pool, self.reward, vocab_size = _default_task(sentences, reward, vocab_size)
        self.observation_space, self.action_space = _spaces(vocab_size, pool.tokens.shape[1])
        self.render_mode = render_mode
        self._generator = torch.Generator().manual_seed(0)
        self._blanks = Blanks(1, pool, vocab_size, strategy, rate, pad_id, self._generator)

    def _obs(self) -> np.ndarray:
        return self._blanks.observation()[0].numpy().copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._generator.manual_seed(int(self.np_random.integers(2**62)))
        self._blanks.reset()
        return self._obs(), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not a token id in [0, {self.action_space.n})")
        filled_at, done = self._blanks.write(torch.tensor([int(action)]))
        reward = _rewards(self.reward, self._blanks, filled_at)
        return self._obs(), float(reward[0]), bool(done[0]), False, {}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        b = self._blanks
        n = int(b.lengths[0])
        shown = [str(t) if p or i < int(b.position[0]) else "_" for i, (t, p) in
                 enumerate(zip(b.filled[0, :n].tolist(), b.present[0, :n].tolist(), strict=True))]
        return " ".join(shown)


class InfillingVecEnv(TensorVecEnv):
    """``num_envs`` masked sentences filled at once, behind stable-baselines3's VecEnv (the
    batched form of :class:`InfillingEnv`; the episode bookkeeping and ``infos``:
    :class:`~textrl.envs.base.TensorVecEnv`)."""

    def __init__(self, num_envs: int, sentences: Split | None = None,
                 reward: Reward | None = None, vocab_size: int | None = None,
                 strategy: str = "contiguous", rate: float = 0.5, pad_id: int = 0,
                 seed: int = 0):
        pool, self.reward, vocab_size = _default_task(sentences, reward, vocab_size)
        super().__init__(num_envs, *_spaces(vocab_size, pool.tokens.shape[1]))
        self.generator = torch.Generator().manual_seed(seed)
        self.blanks = Blanks(num_envs, pool, vocab_size, strategy, rate, pad_id, self.generator)

    def _seed(self, seed: int) -> None:
        self.generator.manual_seed(seed)

    def _advance(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        filled_at, done = self.blanks.write(actions)
        return _rewards(self.reward, self.blanks, filled_at), done

    def _restart(self, rows: torch.Tensor | None) -> None:
        self.blanks.reset(rows)

    def _observation(self) -> torch.Tensor:
        return self.blanks.observation()
