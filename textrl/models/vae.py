"""The sentence VAE of Bowman et al. (2016): an LSTM encoder gives a diagonal Gaussian
q(z|x); an LSTM decoder conditioned on a code z is a language model, i.e. a policy whose
context is ``z [B, Z]``.

With ``deterministic`` the same network is a plain autoencoder (LaTextGAN's first stage):
the code is the encoder's mean and no KL is paid.

The decoder starts from a state computed from z (Bowman's model) and, with
``z_every_step``, also reads z beside each input word (texar's). Word dropout (Bowman's
``<unk>`` replacement of the words the decoder conditions on) is the trainer's business: it
passes the dropped-out inputs as ``inputs``, the way scheduled sampling does for MLE.
``dropout`` is ordinary (embedding and output) dropout on the decoder, a separate setting.
Word dropout is a training device: scoring and generation read the real words, except with
``inputless`` (Bowman's k = 0), where the decoder reads ``<unk>`` for every word, always.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from textrl.models.base import Sample
from textrl.models.module import LinearHeadPolicy


class _State(NamedTuple):
    h: torch.Tensor  # [layers, B, H]
    c: torch.Tensor
    z: torch.Tensor  # [B, Z]


@dataclass
class VAEConfig:
    """The size and special ids of a :class:`SentenceVAE` (saved with its weights); the
    ``vae`` recipe's flags set it."""

    vocab_size: int
    emb_dim: int = 256
    hidden_dim: int = 256
    latent_dim: int = 32
    num_layers: int = 1
    z_every_step: bool = False
    dropout: float = 0.0
    deterministic: bool = False  # an autoencoder: the code is the posterior mean, no KL
    start_id: int = 0
    eos_id: int | None = None
    pad_id: int = 0
    inputless: bool = False  # Bowman's inputless decoder: every word it reads is <unk>
    unk_id: int | None = None


class SentenceVAE(LinearHeadPolicy):
    """Encoder -> q(z|x) = N(mu, diag(exp(logvar))) -> decoder (see the module docstring).
    One embedding table serves the encoder and the decoder.

    >>> vae = SentenceVAE(VAEConfig(vocab_size=10, emb_dim=8, hidden_dim=8, latent_dim=2))
    >>> g = torch.Generator().manual_seed(0)
    >>> s = vae.sample(3, 5, generator=g)  # z from the prior
    >>> mu, logvar = vae.encode(s.tokens, s.lengths)
    >>> vae.log_prob(s.tokens, s.lengths, mu).shape, mu.shape
    (torch.Size([3, 5]), torch.Size([3, 2]))
    """

    config_class = VAEConfig
    capabilities = frozenset({"unconditional", "codes", "posterior"})

    def __init__(self, config: VAEConfig):
        super().__init__()
        c = self.config = config
        self.embedding = nn.Embedding(c.vocab_size, c.emb_dim)
        dropout = c.dropout if c.num_layers > 1 else 0.0
        self.encoder = nn.LSTM(c.emb_dim, c.hidden_dim, c.num_layers, batch_first=True,
                               dropout=dropout)
        self.posterior = nn.Linear(c.hidden_dim, 2 * c.latent_dim)
        self.latent_to_state = nn.Linear(c.latent_dim, 2 * c.num_layers * c.hidden_dim)
        width = c.emb_dim + (c.latent_dim if c.z_every_step else 0)
        self.decoder = nn.LSTM(width, c.hidden_dim, c.num_layers, batch_first=True,
                               dropout=dropout)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_dim, c.vocab_size)

    feature_dim = property(lambda self: self.config.hidden_dim)
    latent_dim = property(lambda self: self.config.latent_dim)

    @property
    def code_model(self) -> SentenceVAE:
        """The model whose codes ``textrl reconstruct`` and ``interpolate`` walk: itself."""
        return self

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``tokens [B, T]`` -> ``(mu [B, Z], logvar [B, Z])`` of q(z|x), read from the
        encoder's last state at each sentence's end (padding never read)."""
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(tokens),
                                                   lengths.clamp(min=1).cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, (h, _) = self.encoder(packed)
        mu, logvar = self.posterior(h[-1]).chunk(2, dim=-1)
        return mu, logvar

    def initial_state(self, batch: int, context: torch.Tensor | None = None) -> _State:
        """The decoder's state before the start token, from the code ``context = z [B, Z]``."""
        if context is None:
            raise ValueError("the VAE's decoder needs a code z [B, Z] as its context; "
                             "sample() draws one from the prior")
        if context.shape != (batch, self.latent_dim):
            raise ValueError(f"a code of shape {tuple(context.shape)} for a batch of {batch} "
                             f"and {self.latent_dim} latent dimensions")
        layers, hidden = self.config.num_layers, self.config.hidden_dim
        h, c = torch.tanh(self.latent_to_state(context)).view(batch, 2, layers, hidden).unbind(1)
        return _State(h.transpose(0, 1).contiguous(), c.transpose(0, 1).contiguous(), context)

    def _trunk(self, inputs: torch.Tensor, state: _State) -> tuple[torch.Tensor, _State]:
        """``inputs [B, t]`` ids (or ``[B, t, V]`` distributions) -> ``(features [B, t, H],
        state)``."""
        if self.config.inputless:  # only the start token and the position get through
            ids = inputs.argmax(-1) if inputs.is_floating_point() else inputs
            inputs = torch.where(ids == self.config.start_id, ids, self.config.unk_id)
        embedded = (inputs @ self.embedding.weight if inputs.is_floating_point()
                    else self.embedding(inputs))
        embedded = self.dropout(embedded)
        if self.config.z_every_step:
            z = state.z[:, None].expand(-1, embedded.shape[1], -1)
            embedded = torch.cat([embedded, z], dim=-1)
        out, (h, c) = self.decoder(embedded, (state.h, state.c))
        return self.dropout(out), state._replace(h=h, c=c)

    def forward(self, inputs: torch.Tensor, state: _State | None = None
                ) -> tuple[torch.Tensor, _State]:
        """``inputs [B, t]`` -> ``(logits [B, t, V], state)``."""
        if state is None:
            raise ValueError("SentenceVAE needs the state of initial_state(batch, z)")
        features, state = self._trunk(inputs, state)
        return self.head(features), state

    def step(self, inputs: torch.Tensor, state: _State) -> tuple[torch.Tensor, _State]:
        logits, state = self(inputs[:, None], state)
        return logits[:, 0], state

    @torch.no_grad()
    def sample(self, n: int, max_len: int, temperature: float = 1.0,
               context: torch.Tensor | None = None, prefix: torch.Tensor | None = None,
               generator: torch.Generator | None = None, chunk: int = 512) -> Sample:
        """Sentences decoded from the codes ``context [n, Z]``, or from codes drawn from the
        prior N(0, I) with ``generator`` when none is given (temperature 0: greedy)."""
        if context is None:
            context = self.prior(n, generator)
        return super().sample(n, max_len, temperature, context, prefix, generator, chunk)

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[n, Z]`` codes from N(0, I)."""
        return torch.randn(n, self.latent_dim, generator=generator, device=self.head.bias.device)

    @torch.no_grad()
    def prefix_states(self, tokens: torch.Tensor, context: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, Callable[[torch.Tensor, torch.Tensor], _State]]:
        """Teacher-forced logits ``[B, T, V]`` and ``state_at(t [R], b [R])``, the state after
        reading the start token and ``tokens[b, :t]`` under the code of row b."""
        inputs = self.teacher_inputs(tokens)
        state = self.initial_state(len(tokens), context)
        logits, hs, cs = [], [], []
        for t in range(tokens.shape[1]):
            step_logits, state = self.step(inputs[:, t], state)
            logits.append(step_logits)
            hs.append(state.h)
            cs.append(state.c)
        h_all, c_all, z = torch.stack(hs), torch.stack(cs), state.z

        def state_at(t: torch.Tensor, b: torch.Tensor) -> _State:
            return _State(h_all[t, :, b].transpose(0, 1).contiguous(),
                          c_all[t, :, b].transpose(0, 1).contiguous(), z[b])

        return torch.stack(logits, dim=1), state_at

    def select_state(self, state: _State, rows: slice | torch.Tensor) -> _State:
        return _State(state.h[:, rows], state.c[:, rows], state.z[rows])


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``[B, Z]`` KL(N(mu, exp(logvar)) || N(0, I)) per dimension, in closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
                         ) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension (broadcasting)."""
    return -0.5 * (((z - mu) ** 2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(-1)
