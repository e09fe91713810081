"""The latent-space GAN's model (LaTextGAN, Donahue & Rumshisky 2018): a generator of codes,
a residual MLP from Gaussian noise, in front of a trained autoencoder's decoder, which turns
each generated code into a sentence. The autoencoder (a deterministic
:class:`~textrl.models.vae.SentenceVAE`) is kept whole, so sentences can still be encoded
(``textrl interpolate`` between two sentences' codes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from textrl.models.base import Sample
from textrl.models.vae import SentenceVAE, VAEConfig


class ResidualMLP(nn.Module):
    """``[B, in]`` -> ``[B, out]``: a linear layer to ``width``, ``blocks`` residual blocks
    x + Linear(ReLU(Linear(ReLU(x)))), and a linear output (LaTextGAN's generator and
    critic)."""

    def __init__(self, in_dim: int, out_dim: int, width: int, blocks: int):
        super().__init__()
        self.inp = nn.Linear(in_dim, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
            for _ in range(blocks))
        self.out = nn.Linear(width, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


@dataclass
class LatentGANConfig:
    noise_dim: int = 100
    width: int = 100
    blocks: int = 40


class LatentGAN(nn.Module):
    """``sample(n, ...)``: noise -> generated codes -> the autoencoder's decoder (temperature
    0: greedy, LaTextGAN's argmax decoding). It has no likelihood (no ``log_prob``).

    >>> from textrl.models.vae import VAEConfig
    >>> ae = SentenceVAE(VAEConfig(vocab_size=10, emb_dim=8, hidden_dim=8, latent_dim=4,
    ...                            deterministic=True, start_id=1, eos_id=2))
    >>> gan = LatentGAN(LatentGANConfig(noise_dim=3, width=8, blocks=2), ae)
    >>> gan.sample(5, 7, temperature=0.0, generator=torch.Generator().manual_seed(0)).tokens.shape
    torch.Size([5, 7])
    """

    def __init__(self, config: LatentGANConfig, autoencoder: SentenceVAE):
        super().__init__()
        self.config, self.autoencoder = config, autoencoder.requires_grad_(False)
        self.generator = ResidualMLP(config.noise_dim, autoencoder.latent_dim, config.width,
                                     config.blocks)

    capabilities = frozenset({"unconditional", "codes"})
    vocab_size = property(lambda self: self.autoencoder.vocab_size)
    code_model = property(lambda self: self.autoencoder)  # the code space is its autoencoder's
    start_id = property(lambda self: self.autoencoder.start_id)
    eos_id = property(lambda self: self.autoencoder.eos_id)
    pad_id = property(lambda self: self.autoencoder.pad_id)

    def codes(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[n, Z]`` generated codes."""
        noise = torch.randn(n, self.config.noise_dim, generator=generator,
                            device=self.generator.out.bias.device)
        return self.generator(noise)

    @torch.no_grad()
    def sample(self, n: int, max_len: int, temperature: float = 1.0, context: Any = None,
               prefix: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> Sample:
        """Sentences decoded from ``context`` codes ``[n, Z]``, or from generated ones."""
        codes = self.codes(n, generator) if context is None else context
        return self.autoencoder.sample(n, max_len, temperature, codes, prefix, generator)

    def to_dict(self) -> dict:
        """Class, configs and weights (the autoencoder's too), ``weights_only``-loadable."""
        return {"class": "LatentGAN", "config": asdict(self.config),
                "autoencoder_config": asdict(self.autoencoder.config),
                "state_dict": self.state_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> LatentGAN:
        autoencoder = SentenceVAE(VAEConfig(**data["autoencoder_config"]))
        model = cls(LatentGANConfig(**data["config"]), autoencoder)
        model.load_state_dict(data["state_dict"])
        return model
