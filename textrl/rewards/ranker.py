"""RankGAN's ranker: a reward that ranks a sentence among others by its similarity to real
reference sentences (Lin et al. 2017)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from textrl.errors import check_finite
from textrl.models.modes import eval_mode
from textrl.rewards.base import Batch
from textrl.rewards.discriminator import SEQGAN_FILTER_SIZES, SEQGAN_NUM_FILTERS, CNNEncoder

RealSampler = Callable[[int], Batch]  # n -> n real sentences


def rank_scores(features: torch.Tensor, comparison: torch.Tensor, references: torch.Tensor,
                gamma: float = 1.0) -> torch.Tensor:
    """``R(s | U, C) = mean_u exp(g a(s, u)) / sum_{s' in C + {s}} exp(g a(s', u))`` with
    ``a`` the cosine similarity: each sentence ``features [B, F]`` is ranked against the same
    comparison set ``comparison [C, F]`` (never against the rest of its own batch), averaged
    over ``references [U, F]``. Returns ``[B]``."""
    def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(a, dim=1) @ nn.functional.normalize(b, dim=1).T

    own = gamma * cosine(features, references)  # [B, U]
    others = torch.logsumexp(gamma * cosine(comparison, references), dim=0)  # [U]
    log_p = own - torch.logaddexp(own, others[None, :])  # log softmax over C + {s}
    return log_p.exp().mean(dim=1)


class Ranker(nn.Module):
    """``CNNEncoder`` features ranked by cosine similarity to a reference set ``U`` of real
    sentences, against a comparison set ``C``.

    ``real(n) -> (tokens, lengths)`` draws real sentences (a seeded sampler of the training
    data). As a reward, ``__call__(tokens, lengths, context)`` ranks generated sentences
    against ``context = (C, U)``: ``comparison`` real sentences and ``references`` real
    references, drawn by ``draw_context()`` once per scored batch. ``update(real, fake)`` is
    one ranker step: real sentences should rank high among generated ones, and generated
    ones low among real ones, relative to ``references`` freshly drawn real sentences.

    >>> pool = (torch.randint(20, (50, 5)), torch.full((50,), 5))
    >>> draw = lambda n: (pool[0][:n], pool[1][:n])
    >>> r = Ranker(vocab_size=20, filter_sizes=(1, 2), num_filters=(4, 4), real=draw)
    >>> r(torch.randint(20, (3, 5)), torch.full((3,), 5)).shape
    torch.Size([3])
    """

    token_level = False
    causal = False

    def __init__(self, vocab_size: int, emb_dim: int = 64,
                 filter_sizes: tuple[int, ...] = SEQGAN_FILTER_SIZES,
                 num_filters: tuple[int, ...] = SEQGAN_NUM_FILTERS, dropout: float = 0.25,
                 gamma: float = 1.0, lr: float = 1e-4, real: RealSampler | None = None,
                 comparison: int = 64, references: int = 16):
        super().__init__()
        self.encoder = CNNEncoder(vocab_size, emb_dim, filter_sizes, num_filters)
        self.dropout = nn.Dropout(dropout)
        self.gamma = gamma
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        self.real, self.comparison, self.references = real, comparison, references

    def embed(self, batch: Batch) -> torch.Tensor:
        return self.dropout(self.encoder(*batch))

    def _draw(self, n: int) -> Batch:
        if self.real is None:
            raise ValueError("this Ranker has no real sentences to rank against: build it with "
                             "real=a function n -> (tokens, lengths), or pass a context")
        return self.real(n)

    def draw_context(self) -> tuple[Batch, Batch]:
        """``(C, U)``: ``comparison`` real sentences and ``references`` real references."""
        return self._draw(self.comparison), self._draw(self.references)

    @torch.no_grad()
    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor,
                context: tuple[Batch, Batch] | None = None) -> torch.Tensor:
        comparison, references = context if context is not None else self.draw_context()
        with eval_mode(self):
            return rank_scores(self.embed((tokens, lengths)), self.embed(comparison),
                               self.embed(references), self.gamma)

    def update(self, real: Batch, fake: Batch, context: Batch | None = None) -> dict[str, float]:
        """One ranker step: ``-mean log R(real | U, C=fake) + mean log R(fake | U, C=real)``,
        with ``U = context`` or ``references`` freshly drawn real sentences."""
        references = context if context is not None else self._draw(self.references)
        self.train()
        real_f, fake_f, ref_f = self.embed(real), self.embed(fake), self.embed(references)
        real_rank = rank_scores(real_f, fake_f, ref_f, self.gamma)
        fake_rank = rank_scores(fake_f, real_f, ref_f, self.gamma)
        loss = -real_rank.log().mean() + fake_rank.log().mean()
        self.optimizer.zero_grad()
        loss.backward()
        check_finite("ranker update", loss=loss.item())
        self.optimizer.step()
        return {"loss": loss.item(), "real_rank": real_rank.mean().item(),
                "fake_rank": fake_rank.mean().item()}
