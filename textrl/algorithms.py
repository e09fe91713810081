"""Named recipes over the shared parts (reward, agent, adversarial loop): SeqGAN, RankGAN,
PG-BLEU, the constant-reward control, and pg/a2c/ppo against any named reward.

A recipe is a set of settings of ``AdversarialConfig``; ``paper`` and ``cpu`` presets ship as
YAML in ``textrl/configs/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from textrl.agents import PPO, ActorCritic, Agent, PolicyGradient
from textrl.data.corpus import Corpus
from textrl.errors import UserError
from textrl.metrics.bleu import SMOOTHING
from textrl.models.recurrent import RecurrentLM
from textrl.oracle import OracleLSTM
from textrl.rewards import (
    REWARD_FORMS,
    BLEUReward,
    CNNDiscriminator,
    ConstantReward,
    OracleReward,
    Ranker,
    RewardModel,
)
from textrl.rewards.discriminator import SEQGAN_FILTER_SIZES, SEQGAN_NUM_FILTERS
from textrl.settings import check_at_least, check_choices, from_dict

REWARDS = ("discriminator", "ranker", "bleu", "constant", "oracle")
LEARNED_REWARDS = ("discriminator", "ranker")
AGENTS = ("pg", "a2c", "ppo")
# What each recipe fixes; everything else comes from its preset and the command line.
RECIPES = {
    "seqgan": {"reward": "discriminator", "agent": "pg"},
    "rankgan": {"reward": "ranker", "agent": "pg"},
    "pg-bleu": {"reward": "bleu", "agent": "pg"},
    "constant": {"reward": "constant", "agent": "pg"},
    "pg": {"agent": "pg"},
    "a2c": {"agent": "a2c"},
    "ppo": {"agent": "ppo"},
}
CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass
class AdversarialConfig:
    """Every setting of an RL / adversarial run (defaults: SeqGAN as its authors ran it)."""

    recipe: str = "seqgan"
    init: str | None = None  # an MLE run directory; None: pretrain one into OUT/mle
    init_checkpoint: str = "last"  # of the init run: last, or best (lowest validation NLL)
    oracle: str | None = None  # for pretraining; checked against the init run's oracle
    pretrain_epochs: int = 120
    reward: str = "discriminator"
    agent: str = "pg"
    iterations: int = 200
    g_steps: int = 1  # agent updates per iteration
    batch_size: int = 64  # sentences per agent update
    n_rollouts: int = 16  # Monte-Carlo rollouts per prefix; 0: the reward at the last token
    temperature: float = 1.0
    rollout_update_rate: float = 0.8  # beta <- rate * beta + (1 - rate) * theta
    lr: float = 0.01
    grad_clip: float = 5.0
    baseline: str = "none"  # pg: none or moving_average
    gamma: float = 1.0  # without rollouts; with them r_t = Q_t is paid undiscounted (gamma 0)
    gae_lambda: float = 0.95
    value_coef: float = 0.5
    entropy_coef: float = 0.0
    ppo_clip: float = 0.2
    ppo_epochs: int = 4
    ppo_minibatch: int = 16
    reward_form: str = "d"  # discriminator: d, log_d, airl, gail
    constant: float = 1.0
    bleu_n: int = 4
    bleu_smoothing: str = "method1"  # or nltk3.2, the SeqGAN authors' PG-BLEU
    bleu_reference_fraction: float = 1.0  # each training sentence a reference with this chance
    d_emb_dim: int = 64
    d_filter_sizes: list[int] = field(default_factory=lambda: list(SEQGAN_FILTER_SIZES))
    d_num_filters: list[int] = field(default_factory=lambda: list(SEQGAN_NUM_FILTERS))
    d_dropout: float = 0.25
    d_l2: float = 0.2
    d_lr: float = 1e-4
    d_batch_size: int = 64  # half real, half generated
    d_pretrain_steps: int = 50  # each: fresh negatives, d_epochs epochs
    d_steps: int = 5  # per d-phase
    d_epochs: int = 3
    d_every: int = 1  # a d-phase every this many iterations
    d_samples: int = 10_000  # generated (and as many real) sentences per d-step
    real_data: str = "train"  # the reward's real sentences: train split, or oracle (fresh)
    ranker_references: int = 16
    ranker_gamma: float = 1.0
    eval_every: int = 10
    eval_samples: int = 10_000
    checkpoint_every: int = 10
    seed: int = 0

    RESUMABLE = ("iterations", "eval_every", "checkpoint_every")

    def __post_init__(self) -> None:
        check_choices(self, {"recipe": tuple(RECIPES), "reward": REWARDS, "agent": AGENTS,
                             "baseline": ("none", "moving_average"),
                             "init_checkpoint": ("last", "best"),
                             "real_data": ("train", "oracle"),
                             "bleu_smoothing": SMOOTHING,
                             "reward_form": tuple(REWARD_FORMS)})
        check_at_least(self, 1, ("iterations", "g_steps", "batch_size", "d_batch_size", "d_every",
                                 "d_samples", "eval_every", "eval_samples", "checkpoint_every",
                                 "ppo_epochs", "ppo_minibatch", "bleu_n", "ranker_references",
                                 "pretrain_epochs"))
        check_at_least(self, 0, ("n_rollouts", "d_pretrain_steps", "d_steps", "d_epochs"))
        if not 0.0 <= self.rollout_update_rate <= 1.0:
            raise UserError("--rollout-update-rate must be in [0, 1]")
        if not 0.0 < self.bleu_reference_fraction <= 1.0:
            raise UserError("--bleu-reference-fraction must be in (0, 1]")
        if self.lr <= 0 or self.d_lr <= 0 or self.temperature <= 0:
            raise UserError("--lr, --d-lr and --temperature must be > 0")
        if len(self.d_filter_sizes) != len(self.d_num_filters) or not self.d_filter_sizes:
            raise UserError("d_filter_sizes and d_num_filters must be non-empty lists of the "
                            "same length")

    @classmethod
    def from_dict(cls, data: dict) -> AdversarialConfig:
        return from_dict(cls, data)


def preset_path(recipe: str, preset: str) -> Path:
    """``textrl/configs/<recipe>-<preset>.yaml``; pg/a2c/ppo share SeqGAN's presets."""
    base = recipe if recipe in ("seqgan", "rankgan", "pg-bleu", "constant") else "seqgan"
    return CONFIG_DIR / f"{base}-{preset}.yaml"


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the config ({exc}); give a YAML file") from None
    if not isinstance(loaded, dict):
        raise UserError(f"{path}: a config must be a mapping of settings")
    return loaded


def recipe_config(recipe: str, preset: str = "cpu", overrides: dict | None = None
                  ) -> AdversarialConfig:
    """The settings of ``recipe`` under ``preset`` (``paper``, ``cpu`` or a YAML path), then
    ``overrides``; the recipe's defining choices (e.g. SeqGAN's discriminator) win over both."""
    if recipe not in RECIPES:
        raise UserError(f"unknown recipe {recipe!r}; use one of {', '.join(RECIPES)}")
    path = preset_path(recipe, preset) if preset in ("paper", "cpu") else Path(preset)
    if not path.is_file():
        raise UserError(f"--config {preset}: no such file; use paper, cpu or a YAML path")
    settings = read_yaml(path) | (overrides or {}) | RECIPES[recipe] | {"recipe": recipe}
    return AdversarialConfig.from_dict(settings)


def build_reward(config: AdversarialConfig, corpus: Corpus, oracle: OracleLSTM | None
                 ) -> RewardModel:
    vocab_size = len(corpus.vocab)
    if config.reward == "discriminator":
        return CNNDiscriminator(vocab_size, config.d_emb_dim, tuple(config.d_filter_sizes),
                                tuple(config.d_num_filters), config.d_dropout, config.d_l2,
                                config.d_lr, config.reward_form)
    if config.reward == "ranker":
        return Ranker(vocab_size, config.d_emb_dim, tuple(config.d_filter_sizes),
                      tuple(config.d_num_filters), config.d_dropout, config.ranker_gamma,
                      config.d_lr)
    if config.reward == "bleu":
        # The SeqGAN authors kept each training sentence as a reference with chance 0.4.
        chosen = torch.rand(len(corpus.train.tokens), generator=torch.Generator().manual_seed(
            config.seed)) < config.bleu_reference_fraction
        if not chosen.any():
            chosen[0] = True
        references = [corpus.vocab.decode(row[:n]) for row, n in
                      zip(corpus.train.tokens[chosen].tolist(),
                          corpus.train.lengths[chosen].tolist(), strict=True)]
        return BLEUReward(references, corpus.vocab, config.bleu_n, config.bleu_smoothing)
    if config.reward == "constant":
        return ConstantReward(config.constant)
    if oracle is None:
        raise UserError("--reward oracle needs a run trained on an oracle (--oracle)")
    return OracleReward(oracle)


def build_agent(config: AdversarialConfig, policy: RecurrentLM,
                generator: torch.Generator | None = None) -> Agent:
    # Monte-Carlo rewards are paid as r_t = Q_t, whose undiscounted return is Q_t with gamma 0.
    gamma = 0.0 if config.n_rollouts else config.gamma
    if config.agent == "pg":
        return PolicyGradient(policy, config.lr, config.grad_clip, gamma, config.baseline)
    common = (policy, config.lr, config.grad_clip, gamma, config.gae_lambda, config.value_coef,
              config.entropy_coef)
    if config.agent == "a2c":
        return ActorCritic(*common)
    return PPO(*common, clip=config.ppo_clip, epochs=config.ppo_epochs,
               minibatch=config.ppo_minibatch, generator=generator)
