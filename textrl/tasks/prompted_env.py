"""Prompted generation as RL: one prompt per episode, one completion token per action.

On reset the env draws a prompt from its task (``task.table``: the prompts file, or for
:class:`~textrl.tasks.arithmetic.ArithmeticTask` the training problems; without a table,
the prompts of random sentences of ``sentences``, as ``task.draw`` does) and writes it; the
prompt costs no action and earns nothing. Each action appends a token, and the episode ends
(``terminated``) at EOS or when the sequence reaches the corpus's ``max_len``. The reward
is any textrl reward with the prompt's :class:`~textrl.tasks.prompted.PromptBatch` row as
context (so :class:`~textrl.rewards.answer.AnswerReward` checks the row's ``answer``): a
sequence-level one at the last step, a causal token-level one at every step.

The observation (int64) is ``[sequence so far (T), position (1)]``, the shape of
:class:`~textrl.envs.TextGenerationEnv`'s: the prompt then the completion, PAD after the
position, so the SB3 adapter's encoders read the prompt as the policy's own prefix, as
textrl's prompted task does. ``info`` of ``reset`` holds the ``prompt`` and its length.
The embedded default (no arguments): 2-digit addition, rewarded by ``AnswerReward``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from textrl.data.corpus import Split, length_mask
from textrl.envs.base import TensorVecEnv, step_rewards
from textrl.envs.text_env import prefix_spaces
from textrl.rewards.answer import AnswerReward
from textrl.rewards.base import Reward, as_reward
from textrl.tasks.base import Batch
from textrl.tasks.prompted import PromptBatch, PromptedTask


def _default_task(task: PromptedTask | None, reward: Reward | Callable[..., Any] | None,
                  sentences: Split | None) -> tuple[PromptedTask, Reward]:
    if task is None:
        from textrl.datasets import DataConfig, build_corpus
        from textrl.tasks.arithmetic import ArithmeticConfig, ArithmeticTask

        data = DataConfig(data="arithmetic", n_train=1, n_valid=1)
        task = ArithmeticTask(ArithmeticConfig(group_size=1), build_corpus(data)[0], data)
    if reward is None:
        if task.default_reward != "answer":
            raise ValueError(f"give a reward for the {task.name} task (AnswerReward() checks "
                             "a prompts file's 'answer' column)")
        reward = AnswerReward()
    reward = as_reward(reward)
    if reward.token_level and not reward.causal:
        raise ValueError(f"{type(reward).__name__} is token-level but not causal: the env pays "
                         "each token when it is written")
    if reward.task not in (None, "prompted"):
        raise ValueError(f"{type(reward).__name__} scores the {reward.task} task, not prompts")
    if task.table is None and (sentences is None or len(sentences) == 0):
        raise ValueError("the task has no prompts file: give the sentences whose prompts the "
                         "env draws (the corpus's training split)")
    return task, reward


class Completions:
    """B prompts being completed, as tensors: ``tokens [B, T]`` (prompt, then completion),
    ``lengths [B]``, ``prompt_lengths [B]``, ``ended [B]``, and each row's columns ``rows``."""

    def __init__(self, n: int, task: PromptedTask, sentences: Split | None,
                 generator: torch.Generator):
        self.task, self.sentences, self.generator = task, sentences, generator
        vocab = task.text.vocab
        self.max_len, self.eos_id, self.pad_id = task.max_len, vocab.eos_id, vocab.fill_id
        self.tokens = torch.full((n, self.max_len), self.pad_id, dtype=torch.long)
        self.lengths = torch.zeros(n, dtype=torch.long)
        self.prompt_lengths = torch.zeros(n, dtype=torch.long)
        self.ended = torch.zeros(n, dtype=torch.bool)
        self.rows: list[dict[str, str]] = [{} for _ in range(n)]

    def _real(self, n: int) -> Batch:
        """``n`` random sentences of the pool (a table-less task's prompts come from them)."""
        assert self.sentences is not None
        pick = torch.randint(len(self.sentences), (n,), generator=self.generator)
        return self.sentences.tokens[pick], self.sentences.lengths[pick]

    def reset(self, rows: torch.Tensor | None = None) -> None:
        """A fresh prompt in every row (or the rows of the bool mask ``rows``)."""
        index = torch.arange(len(self.tokens)) if rows is None else rows.nonzero().flatten()
        drawn = self.task.draw(len(index), self._real, self.generator)
        width = drawn.tokens.shape[1]
        self.tokens[index] = self.pad_id
        self.tokens[index, :width] = torch.where(length_mask(drawn.lengths.cpu(), width),
                                                 drawn.tokens.cpu(), self.pad_id)
        self.prompt_lengths[index] = self.lengths[index] = drawn.lengths.cpu()
        self.ended[index] = False
        for i, row in zip(index.tolist(), drawn.rows, strict=True):
            self.rows[i] = row

    def write(self, actions: torch.Tensor) -> torch.Tensor:
        """Append ``actions [B]`` after each row's sequence; returns ``done [B]`` (EOS, or
        the sequence is ``max_len`` long)."""
        if bool(self.ended.any()):
            raise RuntimeError("a completion has already ended; reset it before stepping")
        self.tokens[torch.arange(len(actions)), self.lengths] = actions
        self.lengths += 1
        done = self.lengths >= self.max_len
        if self.eos_id is not None:
            done |= actions == self.eos_id
        self.ended |= done
        return done

    def context(self) -> PromptBatch:
        """The rows' prompts, the context every reward is called with."""
        width = max(int(self.prompt_lengths.max()), 1)
        prompts = torch.where(length_mask(self.prompt_lengths, width), self.tokens[:, :width],
                              self.pad_id)
        return PromptBatch(prompts, self.prompt_lengths.clone(), torch.arange(len(prompts)),
                           list(self.rows), self.task.text)

    def rewards(self, reward: Reward, done: torch.Tensor) -> torch.Tensor:
        """``[B]``: what ``reward`` pays for the token each row just wrote."""
        return step_rewards(reward, self.tokens, self.lengths, done, self.context())

    def observation(self) -> torch.Tensor:
        """``[B, T + 1]``: the sequences so far (prompt, completion) and their lengths."""
        return torch.cat([self.tokens, self.lengths[:, None]], dim=1)


class PromptedEnv(gym.Env):
    """One completion of one prompt per episode; ``gymnasium.make("textrl/Prompted-v0")``.

    >>> env = PromptedEnv()
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, int(env.action_space.n), sorted(info)
    ((11,), 16, ['prompt', 'prompt_length'])
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, task: PromptedTask | None = None,
                 reward: Reward | Callable[..., Any] | None = None,
                 sentences: Split | None = None, render_mode: str | None = None):
        self.task, self.reward = _default_task(task, reward, sentences)
        self.observation_space, self.action_space = prefix_spaces(len(self.task.text.vocab),
                                                            self.task.max_len)
        self.render_mode = render_mode
        self._generator = torch.Generator().manual_seed(0)
        self._completions = Completions(1, self.task, sentences, self._generator)

    def _obs(self) -> np.ndarray:
        return self._completions.observation()[0].numpy().copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._generator.manual_seed(int(self.np_random.integers(2**62)))
        self._completions.reset()
        c = self._completions
        return self._obs(), {"prompt": c.rows[0]["prompt"], "prompt_length": int(c.prompt_lengths[0])}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not a token id in [0, {self.action_space.n})")
        done = self._completions.write(torch.tensor([int(action)]))
        reward = self._completions.rewards(self.reward, done)
        return self._obs(), float(reward[0]), bool(done[0]), False, {}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        c, decode = self._completions, self.task.text.decode
        ids, prompt = c.tokens[0, :int(c.lengths[0])].tolist(), int(c.prompt_lengths[0])
        return f"{decode(ids[:prompt])} | {decode(ids[prompt:])}"


class PromptedVecEnv(TensorVecEnv):
    """``num_envs`` prompts completed at once, behind stable-baselines3's VecEnv (the
    batched form of :class:`PromptedEnv`; the episode bookkeeping and ``infos``:
    :class:`~textrl.envs.base.TensorVecEnv`)."""

    def __init__(self, num_envs: int, task: PromptedTask | None = None,
                 reward: Reward | Callable[..., Any] | None = None,
                 sentences: Split | None = None, seed: int = 0):
        self.task, self.reward = _default_task(task, reward, sentences)
        super().__init__(num_envs, *prefix_spaces(len(self.task.text.vocab), self.task.max_len))
        self.generator = torch.Generator().manual_seed(seed)
        self.completions = Completions(num_envs, self.task, sentences, self.generator)

    def _seed(self, seed: int) -> None:
        self.generator.manual_seed(seed)

    def _advance(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        done = self.completions.write(actions)
        return self.completions.rewards(self.reward, done), done

    def _restart(self, rows: torch.Tensor | None) -> None:
        self.completions.reset(rows)

    def _observation(self) -> torch.Tensor:
        return self.completions.observation()
