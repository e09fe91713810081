"""Rewards defined outside textrl, for tests/test_recipes.py: what a user writes."""

from dataclasses import dataclass

import torch

from textrl.rewards import LearnedReward, Reward


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


class RepeatPenalty(Reward):
    def __init__(self, weight: float):
        self.weight = weight

    def __call__(self, tokens, lengths, context=None):
        positions = torch.arange(1, tokens.shape[1], device=tokens.device)
        same = (tokens[:, 1:] == tokens[:, :-1]) & (positions < lengths[:, None])
        return -self.weight * same.sum(1).float()


def build_repeat_penalty(config: RepeatPenaltyConfig, **_) -> RepeatPenalty:
    return RepeatPenalty(weight=config.repeat_weight)


class CountingDiscriminator(LearnedReward):
    """A learned reward of the user's: a linear score of the mean token embedding, trained
    to tell real from generated sentences; ``updates`` counts its d-steps."""

    updates = 0

    def __init__(self, vocab_size: int = 5000):
        super().__init__()
        self.embedding = torch.nn.EmbeddingBag(vocab_size, 4, mode="sum")
        self.out = torch.nn.Linear(4, 1)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=0.01)

    def logits(self, tokens, lengths):
        weights = (torch.arange(tokens.shape[1]) < lengths[:, None]).float()
        return self.out(self.embedding(tokens, per_sample_weights=weights / lengths[:, None])
                        ).squeeze(1)

    def forward(self, tokens, lengths, context=None):
        with torch.no_grad():
            return torch.sigmoid(self.logits(tokens, lengths))

    def update(self, real, fake, context=None):
        z = self.logits(torch.cat([real[0], fake[0]]), torch.cat([real[1], fake[1]]))
        labels = torch.cat([torch.ones(len(real[0])), torch.zeros(len(fake[0]))])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, labels)
        self.optimize(loss, "counting discriminator update")
        type(self).updates += 1
        return {"loss": loss.item()}


class HalfLearned:
    """Has an update() but is not a LearnedReward: the loop could never train it."""

    def __call__(self, tokens, lengths, context=None):
        return lengths.float()

    def update(self, real, fake, context=None):
        return {}


class NoOptimizer(LearnedReward):
    """A LearnedReward that never set self.optimizer."""

    def forward(self, tokens, lengths, context=None):
        return lengths.float()

    def update(self, real, fake, context=None):
        return {}


@dataclass
class ClashConfig:
    """A reward whose setting shares the agent's name."""

    lr: float = 0.5
    """clashes with the agent's --lr"""


def nan_reward(tokens, lengths, context=None):
    """Not a number for every sentence: a reward with a bug."""
    return torch.full((len(tokens),), float("nan"))


def raising_reward(tokens, lengths, context=None):
    """A reward whose own code fails."""
    return lengths.float() / 0 if int(lengths.min()) < 0 else helper_that_fails()


def helper_that_fails():
    raise ZeroDivisionError("the user's own bug")


def per_token_ones(tokens, lengths, context=None):
    """1 for every token: a per-token reward, as it declares below."""
    return (torch.arange(tokens.shape[1]) < lengths[:, None]).float()


per_token_ones.token_level = True
