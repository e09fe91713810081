"""The task: what a policy is conditioned on and which positions it chooses.

Trainers, agents and evaluation speak to a :class:`Task` and never branch on which one it
is: unconditional generation (a sentence from the start token), in-filling (a masked sentence,
the policy writing the blanks) and prompted generation (a prompt, then a completion) are
three tasks of one shape. A task declares the policy capabilities it
needs (:mod:`textrl.models.base`), and whether Monte-Carlo rollouts can pay its rewards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from textrl.data.corpus import Split
from textrl.models.base import Policy, Sample
from textrl.oracle import OracleLSTM

Batch = tuple[torch.Tensor, torch.Tensor]  # (tokens [N, T], lengths [N])
RealSampler = Callable[[int], Batch]  # n -> n real sentences
Generate = Callable[[int, Any], Batch]  # (n, context) -> n sentences the policy writes


class Task:
    """Subclasses set ``name`` and ``needs`` and implement the methods below.

    Shapes: ``B`` sentences, ``T`` positions. A context is whatever the task conditions the
    policy on (``None`` when nothing is), indexed per row like the sentences.
    """

    name: ClassVar[str]
    needs: ClassVar[frozenset[str]] = frozenset()
    """the policy capabilities the task needs"""
    monte_carlo: ClassVar[bool] = True
    """whether Monte-Carlo rollouts (SeqGAN's Q) can pay a sequence-level reward here"""
    default_reward: ClassVar[str | None] = None
    """the reward a recipe that takes any uses here unless --reward says otherwise (None:
    the recipes' default, the discriminator)"""

    def condition(self, tokens: torch.Tensor, lengths: torch.Tensor,
                  generator: torch.Generator | None) -> Any:
        """The context of real sentences ``tokens [B, T]`` (an MLE batch), drawn from
        ``generator`` when it is random."""
        raise NotImplementedError

    def chosen(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any) -> torch.Tensor:
        """``BoolTensor[B, T]``: the positions the policy chooses under ``context`` (the
        positions an MLE loss counts and an agent acts on)."""
        raise NotImplementedError

    def contexts(self, n: int, real: RealSampler, generator: torch.Generator
                 ) -> tuple[Any, torch.Tensor | None]:
        """``(context, action_mask [n, T] or None)`` for ``n`` sentences the policy is to
        write (an RL g-step); ``None`` for the mask: every real position is an action."""
        raise NotImplementedError

    def pairs(self, n: int, real: RealSampler, generate: Generate, generator: torch.Generator
              ) -> tuple[Batch, Batch, Any]:
        """``(real, generated, context)``: ``n`` real sentences and ``n`` the policy wrote,
        for a learned reward's d-steps. With a context, row i of both was written under row i
        of the context (the reward is trained on aligned rows); ``None``: unpaired."""
        raise NotImplementedError

    def reported_reward(self, rewards: torch.Tensor, lengths: torch.Tensor,
                        acted: torch.Tensor) -> float:
        """The mean reward logged for a rollout's ``rewards [B, T]`` paid per token (its
        sentences' ``lengths [B]`` and the positions ``acted [B, T]`` the policy chose)."""
        raise NotImplementedError

    def validate(self, policy: Policy, split: Split, oracle: OracleLSTM | None,
                 n_samples: int, seed: int) -> dict[str, float]:
        """The per-step check of a policy on a held-out split: ``nll_valid`` per chosen token,
        and whatever else the task reads (NLL-oracle of ``n_samples`` samples drawn with
        ``seed``, when there is an oracle)."""
        raise NotImplementedError

    def sample_contexts(self, split: Split, n: int, generator: torch.Generator) -> Any:
        """The contexts of ``n`` samples drawn for evaluation (from ``split``'s sentences
        where the task conditions on data)."""
        raise NotImplementedError

    def generate(self, policy: Policy, n: int, max_len: int, context: Any,
                 temperature: float = 1.0, generator: torch.Generator | None = None) -> Sample:
        """``n`` sequences ``policy`` writes under ``context`` (a prompted task writes each
        row's prompt first and continues it)."""
        return policy.sample(n, max_len, temperature, context=self.policy_context(context),
                             generator=generator)

    def policy_context(self, context: Any) -> Any:
        """What the policy reads of ``context`` (the template of an in-filler; nothing when
        the context lives in the sequence itself, as a prompt does)."""
        return context

    def groups(self, context: Any) -> torch.Tensor | None:
        """``[B]``: which rows share what they were generated from (the completions of one
        prompt), for group baselines; ``None``: the whole batch is one group."""
        return None

    def scored_positions(self, tokens: torch.Tensor, lengths: torch.Tensor,
                         context: Any = None) -> torch.Tensor | None:
        """``BoolTensor[B, T]``: what evaluation scores of sentences written under
        ``context`` (of real sentences when it is ``None``): their NLL, BLEU and diversity,
        an evaluator language model's NLL. ``None``: every real token, the whole sentence."""
        return None

    def metrics(self, policy: Policy, split: Split, seed: int) -> dict[str, float]:
        """The task's own evaluation metrics of ``policy`` on ``split`` (``{}``: none)."""
        return {}
