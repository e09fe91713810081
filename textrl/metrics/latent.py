"""A sentence VAE's likelihood and latent-space metrics.

Every NLL here is per sentence, summed over its tokens including EOS, in nats; perplexity
is ``exp(total NLL / total tokens including EOS)`` (texar's convention).

- ``nll_bound``: the negative ELBO, reconstruction from one posterior sample plus the KL in
  closed form (what Bowman and texar report for the VAE).
- ``nll_iw``: the importance-weighted estimate of -log p(x) with ``k`` posterior samples
  (Burda et al.): ``-log mean_i p(x|z_i) p(z_i) / q(z_i|x)``. It is never worse than the
  bound computed from the same samples, and approaches -log p(x) as k grows.
- ``active_units``: latent dimensions whose posterior mean varies across the data by at least
  0.01 (He et al. 2019's ``calc_au``).
- ``mutual_info``: I(x; z) under q, with the aggregate posterior q(z) estimated by the
  mixture of every sentence's posterior in the split (He et al.'s ``calc_mi_q`` over the
  whole split instead of one batch; a Monte-Carlo estimate that can dip below zero, at most
  log N, and biased downwards on a small split, where each code's own posterior weighs 1/N
  in q(z)).
"""

from __future__ import annotations

import math

import torch
from tqdm import tqdm

from textrl.data.corpus import Split
from textrl.models.modes import eval_mode
from textrl.models.vae import SentenceVAE, gaussian_kl, gaussian_log_density


def _batches(split: Split, batch_size: int):
    for lo in range(0, len(split), batch_size):
        lengths = split.lengths[lo:lo + batch_size]
        yield split.tokens[lo:lo + batch_size, :int(lengths.max())], lengths


@torch.no_grad()
def importance_weights(vae: SentenceVAE, tokens: torch.Tensor, lengths: torch.Tensor, k: int,
                       generator: torch.Generator | None, chunk: int = 16
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log_w [k, B], kl [B])``: log p(x|z_i) + log p(z_i) - log q(z_i|x) for ``k`` codes
    drawn from q(z|x), ``chunk`` samples at a time, and the closed-form KL."""
    mu, logvar = vae.encode(tokens, lengths)
    parts = []
    for lo in range(0, k, chunk):
        s = min(chunk, k - lo)
        eps = torch.randn(s, *mu.shape, generator=generator, device=mu.device)
        z = mu + (0.5 * logvar).exp() * eps  # [s, B, Z]
        rec = vae.log_prob(tokens.repeat(s, 1), lengths.repeat(s), z.flatten(0, 1)).sum(-1)
        log_prior = gaussian_log_density(z, torch.zeros_like(mu), torch.zeros_like(logvar))
        parts.append(rec.view(s, -1) + log_prior - gaussian_log_density(z, mu, logvar))
    return torch.cat(parts), gaussian_kl(mu, logvar).sum(-1)


@torch.no_grad()
def vae_likelihood(vae: SentenceVAE, split: Split, k: int = 100,
                   generator: torch.Generator | None = None, batch_size: int = 128
                   ) -> dict[str, float]:
    """``nll_bound``, ``nll_iw`` (``k`` samples; left out with ``k = 0``), ``kl`` and ``rec``
    per sentence, and ``ppl_bound`` / ``ppl_iw`` per token (see the module docstring)."""
    if len(split) == 0:
        raise ValueError("cannot score an empty split")
    totals = {"bound": 0.0, "iw": 0.0, "kl": 0.0, "rec": 0.0}
    batches = tqdm(_batches(split, batch_size), total=-(-len(split) // batch_size),
                   desc="VAE likelihood", unit="batch", leave=False, delay=2.0)
    with eval_mode(vae):
        for tokens, lengths in batches:
            mu, logvar = vae.encode(tokens, lengths)
            eps = torch.randn(mu.shape, generator=generator, device=mu.device)
            z = mu + (0.5 * logvar).exp() * eps
            rec = -vae.log_prob(tokens, lengths, z).sum(-1)
            kl = gaussian_kl(mu, logvar).sum(-1)
            totals["rec"] += float(rec.sum())
            totals["kl"] += float(kl.sum())
            totals["bound"] += float((rec + kl).sum())
            if k:
                log_w, _ = importance_weights(vae, tokens, lengths, k, generator)
                totals["iw"] += float(-(torch.logsumexp(log_w, dim=0) - math.log(k)).sum())
    n, words = len(split), float(split.lengths.sum())
    out = {"nll_bound": totals["bound"] / n, "kl": totals["kl"] / n, "rec": totals["rec"] / n,
           "ppl_bound": math.exp(totals["bound"] / words)}
    if k:
        out |= {"nll_iw": totals["iw"] / n, "ppl_iw": math.exp(totals["iw"] / words)}
    return out


@torch.no_grad()
def posterior_parameters(vae: SentenceVAE, split: Split, batch_size: int = 512
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mu [N, Z], logvar [N, Z])`` of every sentence of ``split``."""
    with eval_mode(vae):
        parts = [vae.encode(tokens, lengths) for tokens, lengths in _batches(split, batch_size)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> int:
    """Dimensions of the posterior means ``mu [N, Z]`` whose variance over the data (unbiased)
    is at least ``threshold``."""
    if len(mu) < 2:
        raise ValueError("active units need the posterior means of at least 2 sentences")
    return int((mu.var(dim=0) >= threshold).sum())


def mutual_information(mu: torch.Tensor, logvar: torch.Tensor,
                       generator: torch.Generator | None = None, chunk: int = 256) -> float:
    """I(x; z) = E_x E_q(z|x) log q(z|x) - E_q(z) log q(z), one code per sentence, q(z) the
    mixture of the ``N`` posteriors ``(mu [N, Z], logvar [N, Z])``."""
    n, dims = mu.shape
    neg_entropy = float((-0.5 * dims * math.log(2 * math.pi) - 0.5 * (1 + logvar).sum(-1)).mean())
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=generator, device=mu.device)
    log_qz = torch.cat([
        torch.logsumexp(gaussian_log_density(z[lo:lo + chunk, None], mu, logvar), dim=1)
        for lo in range(0, n, chunk)]) - math.log(n)
    return neg_entropy - float(log_qz.mean())


@torch.no_grad()
def reconstruction_nll(vae: SentenceVAE, split: Split, batch_size: int = 128) -> float:
    """Mean NLL per sentence of ``split`` decoded from its posterior mean (an autoencoder's
    reconstruction; not a likelihood of the data)."""
    total = 0.0
    with eval_mode(vae):
        for tokens, lengths in _batches(split, batch_size):
            mu, _ = vae.encode(tokens, lengths)
            total -= float(vae.log_prob(tokens, lengths, mu).sum())
    return total / len(split)


def latent_metrics(vae: SentenceVAE, split: Split, k: int = 100,
                   generator: torch.Generator | None = None) -> dict[str, float]:
    """Everything above on one split; for an autoencoder (``deterministic``), which has no
    likelihood, its reconstruction NLL per sentence (``rec``) and per token (``ppl_rec``)."""
    if vae.config.deterministic:
        rec = reconstruction_nll(vae, split)
        return {"rec": rec, "ppl_rec": math.exp(rec * len(split) / float(split.lengths.sum()))}
    mu, logvar = posterior_parameters(vae, split)
    return vae_likelihood(vae, split, k, generator) | {
        "active_units": active_units(mu), "mutual_info": mutual_information(mu, logvar, generator)}
