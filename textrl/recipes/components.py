"""The rewards a recipe is made of, each a small config dataclass (its field docstrings are
the command-line help), a builder that takes it and the run's shared parts by keyword, and
the class it builds. Adding a reward is one entry here (see ``tests/test_recipes.py`` for a
reward added from outside textrl); a user's reward is ``--reward MODULE:ATTRIBUTE``
(:func:`reward_component`). The agents are in :mod:`textrl.recipes.agents`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from textrl.components import Component
from textrl.errors import UserError
from textrl.metrics.bleu import SMOOTHING
from textrl.rewards import (
    REWARD_FORMS,
    AnswerReward,
    BLEUReward,
    CNNDiscriminator,
    ConstantReward,
    OracleReward,
    Ranker,
    ReferenceBLEU,
    TokenDiscriminator,
)
from textrl.rewards.discriminator import SEQGAN_FILTER_SIZES, SEQGAN_NUM_FILTERS
from textrl.rewards.function import load_reward, reward_class, user_reward_target
from textrl.rewards.ranker import FORMS
from textrl.rewards.token_discriminator import CRITIC_FORMS, D_INITS
from textrl.settings import check_at_least, check_choices


def _check_cnn(config: Any) -> None:
    if config.d_lr <= 0:
        raise UserError(f"--d-lr must be > 0, got {config.d_lr}")
    if len(config.d_filter_sizes) != len(config.d_num_filters) or not config.d_filter_sizes:
        raise UserError("--d-filter-sizes and --d-num-filters must be non-empty lists of the same "
                        "length")


@dataclass
class DiscriminatorConfig:
    """SeqGAN's CNN discriminator as the reward."""

    reward_form: str = "d"
    """reward of a logit z, D = sigmoid(z): d (SeqGAN), log_d (MaskGAN), airl (z) or gail"""
    d_emb_dim: int = 64
    """discriminator embedding size"""
    d_filter_sizes: list[int] = field(default_factory=lambda: list(SEQGAN_FILTER_SIZES))
    """CNN filter widths"""
    d_num_filters: list[int] = field(default_factory=lambda: list(SEQGAN_NUM_FILTERS))
    """CNN filters per width"""
    d_dropout: float = 0.25
    """dropout before the output layer"""
    d_l2: float = 0.2
    """L2 penalty on the output layer"""
    d_lr: float = 1e-4
    """discriminator's Adam learning rate"""

    def __post_init__(self) -> None:
        check_choices(self, {"reward_form": tuple(REWARD_FORMS)})
        _check_cnn(self)


def build_discriminator(config: DiscriminatorConfig, *, vocab_size: int, **_: Any) -> CNNDiscriminator:
    return CNNDiscriminator(vocab_size=vocab_size, emb_dim=config.d_emb_dim,
                            filter_sizes=tuple(config.d_filter_sizes),
                            num_filters=tuple(config.d_num_filters), dropout=config.d_dropout,
                            l2=config.d_l2, lr=config.d_lr, reward_form=config.reward_form)


@dataclass
class RankerConfig:
    """RankGAN's ranker as the reward."""

    ranker_form: str = "authors"
    """authors (their released code: summed cosines, rank among the batch, linear loss) or
    paper (the paper's equation: per-reference softmax against real sentences)"""
    ranker_references: int = 16
    """size of the real reference set U"""
    ranker_gamma: float = 1.0
    """scale of the cosine similarities in the ranking softmax"""
    d_emb_dim: int = 64
    """ranker embedding size"""
    d_filter_sizes: list[int] = field(default_factory=lambda: list(SEQGAN_FILTER_SIZES))
    """CNN filter widths"""
    d_num_filters: list[int] = field(default_factory=lambda: list(SEQGAN_NUM_FILTERS))
    """CNN filters per width"""
    d_dropout: float = 0.25
    """dropout on the features"""
    d_lr: float = 1e-4
    """ranker's Adam learning rate"""

    def __post_init__(self) -> None:
        check_choices(self, {"ranker_form": FORMS})
        check_at_least(self, 1, ("ranker_references",))
        _check_cnn(self)


def build_ranker(config: RankerConfig, *, vocab_size: int, real: Callable, batch_size: int,
                 **_: Any) -> Ranker:
    # Each generated sentence is ranked against as many real ones as the g-step writes.
    return Ranker(vocab_size=vocab_size, emb_dim=config.d_emb_dim,
                  filter_sizes=tuple(config.d_filter_sizes), num_filters=tuple(config.d_num_filters),
                  dropout=config.d_dropout, gamma=config.ranker_gamma, lr=config.d_lr, real=real,
                  comparison=batch_size, references=config.ranker_references,
                  form=config.ranker_form)


@dataclass
class BLEUConfig:
    """Sentence BLEU against the training data as the reward (SeqGAN's PG-BLEU)."""

    bleu_n: int = 4
    """max n-gram order"""
    bleu_smoothing: str = "method1"
    """method1 (Texygen) or nltk3.2 (the SeqGAN authors' PG-BLEU)"""
    bleu_reference_fraction: float = 1.0
    """each training sentence is a reference with this chance (the SeqGAN authors: 0.4)"""

    def __post_init__(self) -> None:
        check_choices(self, {"bleu_smoothing": SMOOTHING})
        check_at_least(self, 1, ("bleu_n",))
        if not 0.0 < self.bleu_reference_fraction <= 1.0:
            raise UserError("--bleu-reference-fraction must be in (0, 1]")


def build_bleu(config: BLEUConfig, *, corpus: Any, seed: int, **_: Any) -> BLEUReward:
    # The SeqGAN authors kept each training sentence as a reference with chance 0.4.
    chosen = torch.rand(len(corpus.train.tokens), generator=torch.Generator().manual_seed(
        seed)) < config.bleu_reference_fraction
    if not chosen.any():
        chosen[0] = True
    references = [corpus.vocab.decode(row[:n]) for row, n in
                  zip(corpus.train.tokens[chosen].tolist(),
                      corpus.train.lengths[chosen].tolist(), strict=True)]
    return BLEUReward(references, corpus.vocab, n=config.bleu_n, smoothing=config.bleu_smoothing)


@dataclass
class ConstantConfig:
    """The same reward for every sentence: the control."""

    constant: float = 1.0
    """the reward"""


def build_constant(config: ConstantConfig, **_: Any) -> ConstantReward:
    return ConstantReward(value=config.constant)


@dataclass
class OracleRewardConfig:
    """The oracle's mean per-token log-likelihood as the reward (oracle runs only)."""


def build_oracle_reward(config: OracleRewardConfig, *, oracle: Any, **_: Any) -> OracleReward:
    if oracle is None:
        raise UserError("--reward oracle needs a run trained on an oracle (--oracle)")
    return OracleReward(oracle)


@dataclass
class TokenDiscriminatorConfig:
    """MaskGAN's discriminator (the generator's seq2seq shape, one logit a word) and critic."""

    reward_form: str = "log_d"
    """reward of each blanked word's logit z: log_d (MaskGAN), d or airl"""
    d_emb_dim: int = 64
    """discriminator embedding size"""
    d_hidden_dim: int = 64
    """discriminator LSTM size"""
    d_num_layers: int = 1
    """discriminator LSTM layers"""
    d_dropout: float = 0.0
    """discriminator dropout on inputs and outputs"""
    d_lr: float = 5e-4
    """discriminator Adam learning rate"""
    critic: str = "context"
    """the critic's input: context (D's encoder and attention: the paper) or authors (D's
    decoder LSTM alone, no template: the released code)"""
    d_init: str = "random"
    """the discriminator's first weights: random, or generator (a copy of the start run's
    embedding, encoder, decoder and attention, as the authors' code restores them from the
    MaskMLE checkpoint; needs the --d-* sizes equal to the generator's)"""

    def __post_init__(self) -> None:
        check_choices(self, {"reward_form": ("log_d", "d", "airl"), "critic": CRITIC_FORMS,
                             "d_init": D_INITS})
        check_at_least(self, 1, ("d_emb_dim", "d_hidden_dim", "d_num_layers"))
        if self.d_lr <= 0 or not 0.0 <= self.d_dropout < 1.0:
            raise UserError("--d-lr must be > 0 and --d-dropout in [0, 1)")


def build_token_discriminator(config: TokenDiscriminatorConfig, *, vocab_size: int,
                              policy: Any, **_: Any) -> TokenDiscriminator:
    reward = TokenDiscriminator(vocab_size, config.d_emb_dim, config.d_hidden_dim,
                                config.d_num_layers, config.d_dropout, config.d_lr,
                                config.reward_form, config.critic, policy.start_id, policy.pad_id)
    if config.d_init == "generator":
        reward.start_from(policy)
    return reward


@dataclass
class AnswerConfig:
    """1 for a completion equal to its prompt's 'answer' column (prompted tasks)."""

    partial_credit: bool = False
    """also pay the share of characters right in place (0.5 for 41 against 42)"""


def build_answer(config: AnswerConfig, **_: Any) -> AnswerReward:
    return AnswerReward(config.partial_credit)


@dataclass
class ReferenceBLEUConfig:
    """BLEU of each completion against its prompt's 'reference' column (prompted tasks)."""

    bleu_n: int = 4
    """max n-gram order"""
    bleu_smoothing: str = "method1"
    """method1 (Texygen) or nltk3.2"""

    def __post_init__(self) -> None:
        check_choices(self, {"bleu_smoothing": SMOOTHING})
        check_at_least(self, 1, ("bleu_n",))


def build_reference_bleu(config: ReferenceBLEUConfig, **_: Any) -> ReferenceBLEU:
    return ReferenceBLEU(config.bleu_n, config.bleu_smoothing)


REWARDS: dict[str, Component] = {
    "discriminator": Component(DiscriminatorConfig, build_discriminator, CNNDiscriminator),
    "ranker": Component(RankerConfig, build_ranker, Ranker),
    "bleu": Component(BLEUConfig, build_bleu, BLEUReward),
    "constant": Component(ConstantConfig, build_constant, ConstantReward),
    "oracle": Component(OracleRewardConfig, build_oracle_reward, OracleReward),
    "token_discriminator": Component(TokenDiscriminatorConfig, build_token_discriminator,
                                     TokenDiscriminator),
    "answer": Component(AnswerConfig, build_answer, AnswerReward),
    "reference_bleu": Component(ReferenceBLEUConfig, build_reference_bleu, ReferenceBLEU),
}


@dataclass
class UserRewardConfig:
    """A reward from MODULE:ATTRIBUTE (see textrl.rewards.function)."""


def reward_component(name: str) -> Component:
    """The registry entry of a built-in reward, or of a user's ``MODULE:ATTRIBUTE`` (imported
    here, so a missing module or a class that half-conforms fails before any training)."""
    if name in REWARDS:
        return REWARDS[name]
    if ":" not in name:
        raise UserError(f"--reward {name!r}: use one of {', '.join(REWARDS)} or MODULE:FUNCTION")
    target = user_reward_target(name)
    return Component(UserRewardConfig, lambda _config, **_: load_reward(name),
                     reward_class(target))
