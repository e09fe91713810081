"""Rewards defined outside textrl, for tests/test_recipes.py: what a user writes."""

from dataclasses import dataclass

import torch


def distinct_share(tokens, lengths, context=None):
    """Share of distinct tokens in each sentence: ``[B]``."""
    return torch.tensor([len(set(row[:n].tolist())) / n for row, n in
                         zip(tokens, lengths.tolist(), strict=True)])


def wrong_shape(tokens, lengths, context=None):
    return torch.zeros(len(tokens), 3, 3)


class FirstTokenIs:
    """A reward class: 1 when the sentence starts with token 7."""

    token_level = False
    causal = False

    def __call__(self, tokens, lengths, context=None):
        return (tokens[:, 0] == 7).float()


# A new built-in reward: this config, this builder, and one registry line (in the test).
@dataclass
class RepeatPenaltyConfig:
    """Penalise a sentence for every token that repeats the one before it."""

    repeat_weight: float = 1.0
    """penalty per repeated token"""


class RepeatPenalty:
    token_level = False
    causal = False

    def __init__(self, weight: float):
        self.weight = weight

    def __call__(self, tokens, lengths, context=None):
        positions = torch.arange(1, tokens.shape[1], device=tokens.device)
        same = (tokens[:, 1:] == tokens[:, :-1]) & (positions < lengths[:, None])
        return -self.weight * same.sum(1).float()


def build_repeat_penalty(config: RepeatPenaltyConfig, **_) -> RepeatPenalty:
    return RepeatPenalty(weight=config.repeat_weight)
