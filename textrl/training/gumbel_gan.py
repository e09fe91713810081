"""The Gumbel-softmax GAN (Kusner & Hernández-Lobato 2016; RelGAN's relaxation, Nie et al.
2019) as a trainer of the one run loop: no rewards, no rollouts; the discriminator's
gradient reaches the generator through the relaxed one-hots.

One iteration: ``d_steps`` critic updates on a real batch against a relaxed generated batch
(no generator gradient), then one generator update through a fresh relaxed batch. The
inverse temperature follows its schedule over the run's iterations (RelGAN's exponential
one reaches beta_max at the last iteration)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from textrl.data.corpus import Corpus
from textrl.datasets import DataConfig
from textrl.errors import UserError
from textrl.metrics.nll import perplexity
from textrl.models.base import Policy
from textrl.models.gumbel import MODES, SCHEDULES, inverse_temperature, relaxed_sample
from textrl.models.modes import eval_mode
from textrl.optimization import adam, optimizer_step
from textrl.oracle import OracleLSTM
from textrl.rewards.discriminator import CNNDiscriminator
from textrl.settings import check_at_least, check_choices
from textrl.tasks.unconditional import Unconditional
from textrl.training.adversarial import RealSentences
from textrl.training.base import Trainer
from textrl.training.gan_losses import LOSSES, critic_loss, generator_loss, gradient_penalty


@dataclass
class GumbelGANConfig:
    """The Gumbel-softmax GAN's relaxation, losses and schedule (defaults: RelGAN's)."""

    iterations: int = 3000
    """adversarial iterations (d-steps, then one generator step)"""
    batch_size: int = 64
    """sentences per step, real and generated alike"""
    mode: str = "relgan"
    """relgan (the hard token is fed back; the discriminator reads the relaxed vector) or
    kusner (the relaxed vector is fed back in training; sampling and evaluation feed back
    hard tokens, which the relaxed path approaches as the temperature falls)"""
    straight_through: bool = False
    """emit the hard one-hot forward, the relaxed gradient backward"""
    temperature_schedule: str = "exponential"
    """inverse temperature beta: constant (beta_max), exponential (beta_max ** (n / N), N
    this run's iterations: RelGAN), jang (1 / max(tau_min, exp(-rate * t)))"""
    beta_max: float = 100.0
    """the largest inverse temperature (RelGAN: 1 on the oracle of length 20, 100 or 1000 on
    text)"""
    jang_rate: float = 1e-4
    """jang: the decay rate r"""
    jang_every: int = 500
    """jang: iterations between temperature updates"""
    tau_min: float = 0.5
    """jang: the lowest temperature"""
    loss: str = "rsgan"
    """standard, rsgan (RelGAN), wgan-gp or hinge"""
    gp_lambda: float = 10.0
    """weight of the gradient penalty (wgan-gp)"""
    d_steps: int = 5
    """discriminator updates per generator update"""
    lr: float = 1e-4
    """generator's Adam learning rate"""
    d_lr: float = 1e-4
    """discriminator's Adam learning rate"""
    grad_clip: float = 5.0
    """gradient norm clip of both networks"""
    eval_every: int = 100
    """evaluate every N iterations"""
    eval_samples: int = 10_000
    """samples for NLL-oracle"""
    checkpoint_every: int = 100
    """checkpoint every N iterations"""
    seed: int = 0
    """seed of the discriminator's init, sampling and batches"""

    RESUMABLE = ("eval_every", "checkpoint_every")  # not iterations: the schedule spans them

    def __post_init__(self) -> None:
        check_choices(self, {"mode": MODES, "temperature_schedule": SCHEDULES, "loss": LOSSES})
        check_at_least(self, 1, ("iterations", "batch_size", "d_steps", "eval_every",
                                 "eval_samples", "checkpoint_every", "jang_every"))
        if min(self.beta_max, self.lr, self.d_lr, self.grad_clip, self.tau_min) <= 0:
            raise UserError("--beta-max, --lr, --d-lr, --grad-clip and --tau-min must be > 0")
        if self.gp_lambda < 0:
            raise UserError(f"--gp-lambda must be >= 0, got {self.gp_lambda}")
        if self.temperature_schedule == "exponential" and self.beta_max < 1:
            raise UserError(f"--beta-max {self.beta_max} < 1 would make the exponential "
                            "schedule heat up from tau = 1; give --beta-max >= 1")


@dataclass
class GANDiscriminatorConfig:
    """The CNN discriminator reading (relaxed) one-hots; RelGAN's widths 3, 4, 5 with 300
    maps each (RelGAN also averages 64 embedded representations: textrl reads one)."""

    d_emb_dim: int = 64
    """discriminator embedding size"""
    d_filter_sizes: list[int] = field(default_factory=lambda: [3, 4, 5])
    """CNN filter widths"""
    d_num_filters: list[int] = field(default_factory=lambda: [300, 300, 300])
    """CNN filters per width"""
    d_dropout: float = 0.25
    """dropout before the output layer"""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("d_emb_dim",))
        if len(self.d_filter_sizes) != len(self.d_num_filters) or not self.d_filter_sizes:
            raise UserError("--d-filter-sizes and --d-num-filters must be non-empty lists of "
                            "the same length")
        if not 0.0 <= self.d_dropout < 1.0:
            raise UserError(f"--d-dropout must be in [0, 1), got {self.d_dropout}")

    def build(self, vocab_size: int, lr: float) -> CNNDiscriminator:
        return CNNDiscriminator(vocab_size, self.d_emb_dim, tuple(self.d_filter_sizes),
                                tuple(self.d_num_filters), self.d_dropout, l2=0.0, lr=lr)


class GumbelGANTrainer(Trainer):
    """Owns the generator (a textrl policy), its discriminator and their optimisers; the task
    is unconditional generation."""

    kind = "gumbel_gan"
    unit = "iteration"
    plotted = ["nll_oracle", "nll_valid", "d_loss", "d_gap", "g_loss", "tau"]

    def __init__(self, policy: Policy, discriminator: CNNDiscriminator, corpus: Corpus,
                 oracle: OracleLSTM | None, data: DataConfig, config: GumbelGANConfig,
                 generator: torch.Generator):
        super().__init__(policy, corpus, data, config.iterations, config.eval_every,
                         config.checkpoint_every, generator)
        self.d, self.oracle, self.config, self.task = discriminator, oracle, config, Unconditional()
        self.real = RealSentences(corpus.train, None, generator)
        self.g_optimizer = adam(policy.parameters(), lr=config.lr)
        self.d_optimizer = discriminator.optimizer

    def tau(self, step: int) -> float:
        c = self.config
        return 1.0 / inverse_temperature(c.temperature_schedule, step, c.iterations, c.beta_max,
                                         c.jang_rate, c.jang_every, c.tau_min)

    def _relaxed(self, tau: float):
        c = self.config
        return relaxed_sample(self.policy, c.batch_size, self.max_len, tau, c.mode,
                              c.straight_through, self.generator)

    def _real(self) -> tuple[torch.Tensor, torch.Tensor]:
        tokens, lengths = self.real(self.config.batch_size)
        return nn.functional.one_hot(tokens, self.vocab_size).float(), lengths

    @property
    def vocab_size(self) -> int:
        return self.policy.vocab_size

    def d_step(self, tau: float) -> dict[str, float]:
        """One critic update: real one-hots against relaxed samples (no generator gradient)."""
        c = self.config
        with torch.no_grad():
            fake = self._relaxed(tau)
        real, real_lengths = self._real()
        self.d.train()
        real_logits = self.d.logits(real, real_lengths)
        fake_logits = self.d.logits(fake.soft, fake.lengths)
        loss = critic_loss(c.loss, real_logits, fake_logits)
        if c.loss == "wgan-gp" and c.gp_lambda > 0:
            lengths = torch.maximum(real_lengths, fake.lengths)  # the longer of each pair
            with eval_mode(self.d):  # the penalty is on the critic's function, not its dropout
                penalty = gradient_penalty(self.d.logits, real, fake.soft, self.generator,
                                           extra=(lengths,))
            loss = loss + c.gp_lambda * penalty
        optimizer_step(self.d_optimizer, loss, "discriminator update", c.grad_clip)
        # The logit gap, not an accuracy: RSGAN's critic is only defined up to a shift.
        gap = (real_logits.mean() - fake_logits.mean()).item()
        return {"d_loss": loss.item(), "d_gap": gap}

    def g_step(self, tau: float) -> dict[str, float]:
        """One generator update through a fresh relaxed batch."""
        c = self.config
        self.policy.train()
        fake = self._relaxed(tau)
        self.d.eval()  # no dropout noise in the signal the generator follows
        with torch.no_grad():
            real_logits = self.d.logits(*self._real())
        loss = generator_loss(c.loss, real_logits, self.d.logits(fake.soft, fake.lengths))
        grad_norm = optimizer_step(self.g_optimizer, loss, "generator update", c.grad_clip)
        self.d.zero_grad(set_to_none=True)  # the generator's pass left gradients in D
        return {"g_loss": loss.item(), "g_grad_norm": grad_norm,
                "length_mean": fake.lengths.float().mean().item()}

    def begin(self) -> dict:
        return self.evaluate(0)

    def train_step(self, step: int) -> dict:
        tau = self.tau(step)
        self.policy.train()  # every step's samples in one mode, resumed or not
        totals: dict[str, float] = {}
        for _ in range(self.config.d_steps):
            for key, value in self.d_step(tau).items():
                totals[key] = totals.get(key, 0.0) + value / self.config.d_steps
        return {"tau": tau} | totals | self.g_step(tau)

    def evaluate(self, step: int) -> dict[str, float]:
        record = self.task.validate(self.policy, self.corpus.valid, self.oracle,
                                    self.config.eval_samples,
                                    seed=self.config.seed + 1_000_003 * (step + 1))
        return record | {"ppl_valid": perplexity(record["nll_valid"])}

    def state_dict(self) -> dict:
        return {"discriminator": self.d.state_dict(), "g_optimizer": self.g_optimizer.state_dict(),
                "d_optimizer": self.d_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.d.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
