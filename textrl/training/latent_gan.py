"""The latent-space GAN's second stage (LaTextGAN) as a trainer of the one run loop: the
autoencoder of an ``--autoencoder`` vae run is frozen, its encoder's codes of the training
sentences are the real data, and a residual-MLP generator learns them against a
residual-MLP critic with WGAN-GP (``critic_steps`` critic updates per generator update).
Evaluation compares generated codes with the validation sentences' codes: the Fréchet
distance of two Gaussians fitted to them, and the critic's Wasserstein estimate."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from textrl.data.corpus import Corpus
from textrl.datasets import DataConfig
from textrl.errors import UserError
from textrl.metrics.latent import posterior_parameters
from textrl.models.latent_gan import LatentGAN, LatentGANConfig, ResidualMLP
from textrl.models.vae import SentenceVAE
from textrl.optimization import adam, optimizer_step
from textrl.settings import check_at_least
from textrl.training.base import Trainer
from textrl.training.gan_losses import critic_loss, gradient_penalty


@dataclass
class LatentGANModelConfig:
    """The code generator and its critic (LaTextGAN: 40 residual blocks of 100 units each)."""

    noise_dim: int = 100
    """size of the generator's Gaussian noise"""
    width: int = 100
    """units per layer of the generator and the critic"""
    blocks: int = 40
    """residual blocks of the generator and of the critic"""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("noise_dim", "width"))
        check_at_least(self, 0, ("blocks",))


@dataclass
class LatentGANScheduleConfig:
    """WGAN-GP on the codes (Gulrajani et al.'s optimiser, as the LaTextGAN reports)."""

    iterations: int = 10_000
    """generator updates"""
    batch_size: int = 64
    """codes per update"""
    critic_steps: int = 10
    """critic updates per generator update"""
    gp_lambda: float = 10.0
    """weight of the gradient penalty"""
    lr: float = 1e-4
    """Adam learning rate of both networks"""
    beta1: float = 0.5
    """Adam beta1"""
    beta2: float = 0.9
    """Adam beta2"""
    eval_every: int = 500
    """evaluate every N iterations"""
    eval_samples: int = 2000
    """generated codes per evaluation"""
    checkpoint_every: int = 500
    """checkpoint every N iterations"""
    seed: int = 0
    """seed of initialisation, noise and batches"""

    RESUMABLE = ("iterations", "eval_every", "checkpoint_every")

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("iterations", "batch_size", "critic_steps", "eval_every",
                                 "checkpoint_every"))
        check_at_least(self, 2, ("eval_samples",))  # a covariance needs two codes
        if self.lr <= 0 or self.gp_lambda < 0 or not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise UserError("--lr must be > 0, --gp-lambda >= 0, --beta1 and --beta2 in [0, 1)")


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to ``a [N, Z]`` and ``b [M, Z]``:
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)."""
    a, b = a.double(), b.double()

    def sqrt_psd(m: torch.Tensor) -> torch.Tensor:
        values, vectors = torch.linalg.eigh(m)
        return vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T

    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    root = sqrt_psd(cov_a)
    cross = sqrt_psd(root @ cov_b @ root)
    return float((a.mean(0) - b.mean(0)).square().sum() + torch.trace(cov_a + cov_b - 2 * cross))


class LatentGANTrainer(Trainer):
    """Owns the :class:`LatentGAN` (frozen autoencoder + code generator) and the critic."""

    kind = "latent_gan"
    unit = "iteration"
    plotted = ["code_fd", "wasserstein", "critic_loss", "g_loss"]

    def __init__(self, autoencoder: SentenceVAE, corpus: Corpus, data: DataConfig,
                 model: LatentGANModelConfig, schedule: LatentGANScheduleConfig,
                 generator: torch.Generator):
        if not autoencoder.config.deterministic:
            raise UserError("the latent-space GAN learns an autoencoder's codes: start from a "
                            "`textrl train vae --autoencoder` run")
        policy = LatentGAN(LatentGANConfig(model.noise_dim, model.width, model.blocks),
                           autoencoder).to(generator.device)
        super().__init__(policy, corpus, data, schedule.iterations, schedule.eval_every,
                         schedule.checkpoint_every, generator)
        self.schedule = schedule
        self.critic = ResidualMLP(autoencoder.latent_dim, 1, model.width, model.blocks)
        self.critic.to(generator.device)
        betas = (schedule.beta1, schedule.beta2)
        self.g_optimizer = adam(self.policy.generator.parameters(), schedule.lr, betas=betas)
        self.c_optimizer = adam(self.critic.parameters(), schedule.lr, betas=betas)
        self._codes: dict[str, torch.Tensor] = {}

    def codes(self, split: str) -> torch.Tensor:
        """The frozen encoder's codes (its means) of the ``split`` sentences, computed at first
        use: after a resume has loaded the checkpoint's autoencoder, not before."""
        if split not in self._codes:
            self._codes[split] = posterior_parameters(self.policy.autoencoder,
                                                      getattr(self.corpus, split))[0]
        return self._codes[split]

    def _critic(self, codes: torch.Tensor) -> torch.Tensor:
        return self.critic(codes)[:, 0]

    def train_step(self, step: int) -> dict:
        s, g = self.schedule, self.generator
        for _ in range(s.critic_steps):
            real_codes = self.codes("train")
            rows = torch.randint(len(real_codes), (s.batch_size,), generator=g, device=g.device)
            real = real_codes[rows]
            with torch.no_grad():
                fake = self.policy.codes(s.batch_size, g)
            loss = (critic_loss("wgan-gp", self._critic(real), self._critic(fake))
                    + s.gp_lambda * gradient_penalty(self._critic, real, fake, g))
            optimizer_step(self.c_optimizer, loss, "latent GAN critic update")
        g_loss = -self._critic(self.policy.codes(s.batch_size, g)).mean()
        optimizer_step(self.g_optimizer, g_loss, "latent GAN generator update")
        self.critic.zero_grad(set_to_none=True)  # the generator's pass left gradients there
        return {"critic_loss": loss.item(), "g_loss": g_loss.item()}

    @torch.no_grad()
    def evaluate(self, step: int) -> dict[str, float]:
        g = torch.Generator(device=self.generator.device).manual_seed(self.schedule.seed + step)
        fake = self.policy.codes(self.schedule.eval_samples, g)
        valid = self.codes("valid")
        return {"code_fd": frechet_distance(fake, valid),
                "wasserstein": float(self._critic(valid).mean() - self._critic(fake).mean())}

    def begin(self) -> dict:
        return self.evaluate(0)

    def state_dict(self) -> dict:
        return {"critic": self.critic.state_dict(), "g_optimizer": self.g_optimizer.state_dict(),
                "c_optimizer": self.c_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.critic.load_state_dict(state["critic"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.c_optimizer.load_state_dict(state["c_optimizer"])
