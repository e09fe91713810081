"""The verifiable prompted task: addition problems (``17+25=`` -> ``42``) from
:mod:`textrl.data.arithmetic`. Its prompts are every problem of the training pool, each
with its ``answer``; its measure is greedy accuracy on the 500 held-out test problems, whose
operand pairs never appear in training. The reward that checks answers is ``--reward
answer`` (its default here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from textrl.data import arithmetic
from textrl.data.corpus import Split, length_mask
from textrl.errors import UserError
from textrl.models.base import Policy
from textrl.oracle import OracleLSTM
from textrl.rewards.answer import AnswerReward
from textrl.settings import check_at_least
from textrl.tasks.prompted import PromptBatch, PromptedConfig, PromptedTask, codec_of, seeded_sample


@dataclass
class ArithmeticConfig:
    """Addition problems: prompts a+b=, --group-size completions each, the answer checked."""

    group_size: int = 8
    """completions per prompt (TRL's num_generations default: 8)"""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("group_size",))


class ArithmeticTask(PromptedTask):
    """A prompt is a problem through its ``=``; its row's ``answer`` is the sum."""

    name = "arithmetic"
    default_reward = "answer"

    def __init__(self, config: ArithmeticConfig, corpus: Any, data: Any):
        if data is None or not arithmetic.is_arithmetic(data.data):
            raise UserError("--task arithmetic needs a policy trained on --data arithmetic "
                            "(`textrl train mle --task arithmetic --data arithmetic ...`)")
        super().__init__(PromptedConfig(group_size=config.group_size), codec_of(corpus, data),
                         corpus.max_len)
        self.separator = corpus.vocab.stoi[arithmetic.SEPARATOR]
        pool, valid, test = arithmetic.split_pairs(arithmetic.digits_of(data.data),
                                                   data.data_seed)
        self.table = self.problems(pool, "the training problems")
        self.valid = self.problems(valid, "the validation problems")
        self.held_out = self.problems(test, "the test problems")

    def problems(self, pairs: list[arithmetic.Pair], where: str) -> PromptBatch:
        rows = [{"prompt": arithmetic.prompt(p), "answer": arithmetic.answer(p)} for p in pairs]
        return self.encode(rows, self.max_len, where)

    def prompt_lengths(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Through the first ``=`` (a sentence without one is all prompt but its EOS)."""
        at = (tokens == self.separator) & length_mask(lengths, tokens.shape[1]).bool()
        found = at.any(1)
        return torch.where(found, at.int().argmax(1) + 1, (lengths - 1).clamp(min=0))

    def condition(self, tokens: torch.Tensor, lengths: torch.Tensor,
                  generator: torch.Generator | None) -> PromptBatch:
        context = super().condition(tokens, lengths, generator)
        for row in context.rows:
            row["answer"] = row["reference"]
        return context

    def validate(self, policy: Policy, split: Split, oracle: OracleLSTM | None,
                 n_samples: int, seed: int) -> dict[str, float]:
        """``nll_valid``, ``accuracy_valid`` (the validation problems: what to select on)
        and ``accuracy`` (the held-out test problems: what to report)."""
        return super().validate(policy, split, oracle, n_samples, seed) | {
            "accuracy_valid": self.accuracy(policy, self.valid),
            "accuracy": self.accuracy(policy, self.held_out)}

    def metrics(self, policy: Policy, split: Split, seed: int) -> dict[str, float]:
        return {"accuracy": self.accuracy(policy, self.held_out)}

    @torch.no_grad()
    def accuracy(self, policy: Policy, problems: PromptBatch) -> float:
        """The share of ``problems`` whose greedy completion is their answer."""
        sample = seeded_sample(self, policy, problems, self.max_len, seed=0, temperature=0.0)
        return AnswerReward()(sample.tokens, sample.lengths, problems).mean().item()


def build_arithmetic(config: ArithmeticConfig, *, corpus: Any = None, data: Any = None,
                     **_: Any) -> ArithmeticTask:
    return ArithmeticTask(config, corpus, data)
