"""Sentence generation as RL: one sentence per episode, one token per action.

The observation is the padded prefix of token ids followed by the position, as int64
(``[max_len + 1]``): the position disambiguates padding when the pad id is also a real
token (the SeqGAN oracle's 0). Episodes end with ``terminated=True`` at EOS or at
``max_len``; a sequence-level reward is paid at that last step, a causal token-level one
(``RewardModel``) at every step, for the token just written.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from textrl.data.vocab import Vocab
from textrl.oracle import OracleLSTM
from textrl.rewards.base import RewardModel
from textrl.rewards.simple import OracleReward


def step_rewards(reward: RewardModel, tokens: torch.Tensor, lengths: torch.Tensor,
                 done: torch.Tensor) -> torch.Tensor:
    """``[B]`` rewards for the step that just wrote token ``lengths - 1`` of every row: a
    token-level reward's value at that position, or a sequence-level one where ``done``."""
    if getattr(reward, "token_level", False):
        per_token = reward(tokens, lengths).float()
        return per_token[torch.arange(len(lengths)), lengths - 1]
    rewards = torch.zeros(len(lengths))
    if bool(done.any()):
        rewards[done] = reward(tokens[done], lengths[done]).float()
    return rewards


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


def _spaces(vocab_size: int, max_len: int) -> tuple[spaces.Box, spaces.Discrete]:
    high = max(vocab_size - 1, max_len)
    return (spaces.Box(0, high, shape=(max_len + 1,), dtype=np.int64),
            spaces.Discrete(vocab_size))


def _default_task(reward, vocab_size, max_len):
    """The embedded default: the seeded random oracle, rewarded by its own likelihood."""
    if reward is None:
        oracle = OracleLSTM.random(seed=0)
        return OracleReward(oracle), oracle.vocab_size, oracle.seq_len
    if vocab_size is None or max_len is None:
        raise ValueError("with a reward, give vocab_size and max_len too")
    if getattr(reward, "token_level", False) and not getattr(reward, "causal", False):
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

    def __init__(self, reward: RewardModel | None = None, vocab_size: int | None = None,
                 max_len: int | None = None, eos_id: int | None = None, pad_id: int = 0,
                 vocab: Vocab | None = None, render_mode: str | None = None):
        self.reward, vocab_size, max_len = _default_task(reward, vocab_size, max_len)
        self.observation_space, self.action_space = _spaces(vocab_size, max_len)
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


class TensorVecEnv(VecEnv):
    """A VecEnv whose ``num_envs`` episodes live in one object's tensors: the attribute and
    method plumbing SB3 asks of every VecEnv, answered for all indices at once."""

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


class TextVecEnv(TensorVecEnv):
    """``num_envs`` sentences stepped at once as tensors, behind stable-baselines3's VecEnv.

    Every step returns fresh numpy arrays (a view of the internal buffer would be
    overwritten under SB3's rollout buffer). A finished sentence resets at once: its
    ``info`` holds ``terminal_observation`` and ``episode`` (return ``r``, length ``l``,
    seconds since creation ``t``). Native agents call ``step_tensors`` and skip numpy.
    """

    def __init__(self, num_envs: int, reward: RewardModel | None = None,
                 vocab_size: int | None = None, max_len: int | None = None,
                 eos_id: int | None = None, pad_id: int = 0):
        self.render_mode = None  # read by VecEnv.__init__ through get_attr
        self.reward, vocab_size, max_len = _default_task(reward, vocab_size, max_len)
        observation_space, action_space = _spaces(vocab_size, max_len)
        super().__init__(num_envs, observation_space, action_space)
        self.sentences = Sentences(num_envs, max_len, eos_id, pad_id)
        self._actions: torch.Tensor | None = None
        self._start = time.time()

    def reset(self) -> np.ndarray:
        self.sentences.reset()
        self._reset_seeds()
        self._reset_options()
        return self.sentences.observation().numpy().copy()

    def step_tensors(self, actions: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Append ``actions [B]``. Returns ``(observation [B, T+1], reward [B], done [B],
        final_tokens [B, T], final_lengths [B])``; finished rows are already reset in the
        observation, and ``final_*`` hold what they were before the reset."""
        done = self.sentences.write(actions)
        final_tokens = self.sentences.tokens.clone()
        final_lengths = self.sentences.lengths.clone()
        rewards = step_rewards(self.reward, final_tokens, final_lengths, done)
        if bool(done.any()):
            self.sentences.reset(done)
        return self.sentences.observation(), rewards, done, final_tokens, final_lengths

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = torch.as_tensor(np.asarray(actions).reshape(self.num_envs), dtype=torch.long)

    def step_wait(self):
        obs, rewards, done, final_tokens, final_lengths = self.step_tensors(self._actions)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        elapsed = round(time.time() - self._start, 6)
        for i in torch.nonzero(done).flatten().tolist():
            final = torch.cat([final_tokens[i], final_lengths[i:i + 1]]).numpy()
            infos[i] = {"terminal_observation": final, "TimeLimit.truncated": False,
                        "episode": {"r": float(rewards[i]), "l": int(final_lengths[i]),
                                    "t": elapsed}}
        return obs.numpy().copy(), rewards.numpy().copy(), done.numpy().copy(), infos
