"""RankGAN's ranker: a reward that ranks a sentence among others by its similarity to real
reference sentences (Lin et al. 2017)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from textrl.models.modes import eval_mode
from textrl.optimization import adam
from textrl.rewards.base import Batch, LearnedReward
from textrl.rewards.discriminator import SEQGAN_FILTER_SIZES, SEQGAN_NUM_FILTERS, CNNEncoder

RealSampler = Callable[[int], Batch]  # n -> n real sentences
FORMS = ("authors", "paper")


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``[A, F] x [B, F] -> [A, B]`` cosine similarities."""
    return nn.functional.normalize(a, dim=1) @ nn.functional.normalize(b, dim=1).T


def summed_scores(features: torch.Tensor, references: torch.Tensor,
                  gamma: float = 1.0) -> torch.Tensor:
    """The RankGAN authors' score: ``gamma * sum_u cos(s, u)`` over the references, ``[B]``
    (their ``ranker.py``; the paper's equation averages per-reference softmaxes instead)."""
    return gamma * cosine(features, references).sum(dim=1)


def grouped_softmax(scores: torch.Tensor, group: int) -> torch.Tensor:
    """Softmax within each run of ``group`` consecutive rows of ``scores [N]``: the authors
    rank each generated sentence against the others with the same rollout index and prefix
    length, which the Monte-Carlo layout keeps together."""
    if len(scores) % group:
        raise ValueError(f"{len(scores)} rows do not split into groups of {group}; score "
                         "whole batches (a Monte-Carlo chunk is a multiple of the batch)")
    return scores.view(-1, group).softmax(dim=1).flatten()


def rank_scores(features: torch.Tensor, comparison: torch.Tensor, references: torch.Tensor,
                gamma: float = 1.0) -> torch.Tensor:
    """``R(s | U, C) = mean_u exp(g a(s, u)) / sum_{s' in C + {s}} exp(g a(s', u))`` with
    ``a`` the cosine similarity: each sentence ``features [B, F]`` is ranked against the same
    comparison set ``comparison [C, F]`` (never against the rest of its own batch), averaged
    over ``references [U, F]``. Returns ``[B]``."""
    own = gamma * cosine(features, references)  # [B, U]
    others = torch.logsumexp(gamma * cosine(comparison, references), dim=0)  # [U]
    log_p = own - torch.logaddexp(own, others[None, :])  # log softmax over C + {s}
    return log_p.exp().mean(dim=1)


class Ranker(LearnedReward):
    """``CNNEncoder`` features ranked by cosine similarity to a reference set ``U`` of real
    sentences, in one of two forms.

    - ``form="authors"`` (the RankGAN authors' released code, which produced the paper's
      numbers): score ``gamma * sum_u cos(s, u)``; as a reward, each sentence is ranked by a
      softmax over the ``comparison`` consecutive rows it is scored with (the other
      generated sentences of its batch, or of its rollout index and prefix length), so the
      rewards of a batch sum to 1; trained with ``-(mean log R(real) - mean log R(fake))``
      over one softmax across the mixed batch, which is linear in the scores and never
      saturates; embedding and convolutions initialised from U(-0.1, 0.1).
    - ``form="paper"`` (the paper's equation): ``R(s | U, C) = mean_u softmax over C + {s}``
      of ``gamma * cos``, with ``C`` = ``comparison`` real sentences; trained with
      ``-mean log R(real | C=fake) + mean log R(fake | C=real)``.

    ``real(n) -> (tokens, lengths)`` draws real sentences (a seeded sampler of the training
    data): ``draw_context()`` returns ``(C, U)`` for one scored batch (``C`` is ``None`` in the
    authors' form), and ``update(real, fake)`` draws its own ``U``.

    >>> pool = (torch.randint(20, (50, 5)), torch.full((50,), 5))
    >>> draw = lambda n: (pool[0][:n], pool[1][:n])
    >>> r = Ranker(vocab_size=20, filter_sizes=(1, 2), num_filters=(4, 4), real=draw, comparison=3)
    >>> round(r(torch.randint(20, (3, 5)), torch.full((3,), 5)).sum().item(), 5)
    1.0
    """

    distributable = False  # it ranks each sentence among the others of its batch

    def __init__(self, vocab_size: int, emb_dim: int = 64,
                 filter_sizes: tuple[int, ...] = SEQGAN_FILTER_SIZES,
                 num_filters: tuple[int, ...] = SEQGAN_NUM_FILTERS, dropout: float = 0.25,
                 gamma: float = 1.0, lr: float = 1e-4, real: RealSampler | None = None,
                 comparison: int = 64, references: int = 16, form: str = "authors"):
        super().__init__()
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        self.encoder = CNNEncoder(vocab_size, emb_dim, filter_sizes, num_filters)
        if form == "authors":
            with torch.no_grad():
                self.encoder.embedding.weight.uniform_(-0.1, 0.1)
                for conv in self.encoder.convs:
                    conv.weight.uniform_(-0.1, 0.1)
                    conv.bias.uniform_(-0.1, 0.1)
        self.dropout = nn.Dropout(dropout)
        self.gamma, self.form = gamma, form
        self.optimizer = adam(self.parameters(), lr=lr)
        self.real, self.comparison, self.references = real, comparison, references

    def embed(self, batch: Batch) -> torch.Tensor:
        return self.dropout(self.encoder(*batch))

    def _draw(self, n: int) -> Batch:
        if self.real is None:
            raise ValueError("this Ranker has no real sentences to rank against: build it with "
                             "real=a function n -> (tokens, lengths), or pass a context")
        return self.real(n)

    def draw_context(self) -> tuple[Batch | None, Batch]:
        """``(C, U)``: ``comparison`` real sentences (paper form; ``None`` in the authors'
        form, which compares generated sentences with each other) and ``references`` real
        references."""
        comparison = self._draw(self.comparison) if self.form == "paper" else None
        return comparison, self._draw(self.references)

    @torch.no_grad()
    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor,
                context: tuple[Batch | None, Batch] | None = None) -> torch.Tensor:
        comparison, references = context if context is not None else self.draw_context()
        with eval_mode(self):
            features, ref_features = self.embed((tokens, lengths)), self.embed(references)
            if self.form == "authors":
                return grouped_softmax(summed_scores(features, ref_features, self.gamma),
                                       self.comparison)
            return rank_scores(features, self.embed(comparison), ref_features, self.gamma)

    def update(self, real: Batch, fake: Batch, context: Batch | None = None) -> dict[str, float]:
        """One ranker step against ``U = context`` or ``references`` freshly drawn real
        sentences (see the class docstring for each form's loss)."""
        references = context if context is not None else self._draw(self.references)
        self.train()
        if self.form == "authors":
            n_real = len(real[0])
            mixed = self.embed((torch.cat([real[0], fake[0]]), torch.cat([real[1], fake[1]])))
            log_rank = torch.log_softmax(summed_scores(mixed, self.embed(references), self.gamma), 0)
            real_rank, fake_rank = log_rank[:n_real].exp(), log_rank[n_real:].exp()
            loss = -(log_rank[:n_real].mean() - log_rank[n_real:].mean())
        else:
            real_f, fake_f, ref_f = self.embed(real), self.embed(fake), self.embed(references)
            real_rank = rank_scores(real_f, fake_f, ref_f, self.gamma)
            fake_rank = rank_scores(fake_f, real_f, ref_f, self.gamma)
            loss = -real_rank.log().mean() + fake_rank.log().mean()
        self.optimize(loss, "ranker update")
        return {"loss": loss.item(), "real_rank": real_rank.mean().item(),
                "fake_rank": fake_rank.mean().item()}
