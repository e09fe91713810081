"""The Gumbel-softmax relaxation of a policy's sampling, for GANs trained without RL.

At each step the policy's logits o and Gumbel noise g give a hard token argmax(o + g) (an
exact sample of softmax(o)) and a relaxed one-hot softmax((o + g) / tau) that gradients
flow through. Two ways to unroll a sentence:

- ``kusner`` (Kusner & Hernández-Lobato 2016): the relaxed vector is the next input, read
  through the policy's soft-input path (``step`` on a ``[B, V]`` distribution);
- ``relgan`` (Nie et al. 2019): the hard token is the next input; only the discriminator
  sees the relaxed vectors.

With ``straight_through`` the emitted vector is the hard one-hot in the forward pass and the
relaxed vector's gradient in the backward pass. Temperature schedules are in inverse
temperature beta = 1 / tau, as RelGAN states them.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch

from textrl.models.base import Policy

MODES = ("kusner", "relgan")
SCHEDULES = ("constant", "exponential", "jang")


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator | None,
                 device: torch.device | str | None = None) -> torch.Tensor:
    """Standard Gumbel noise -log(-log U), U uniform in (0, 1)."""
    u = torch.rand(shape, generator=generator, device=device)
    tiny = torch.finfo(u.dtype).tiny
    return -torch.log(-torch.log(u.clamp(min=tiny, max=1.0 - 1e-7)))


def gumbel_softmax(logits: torch.Tensor, tau: float, generator: torch.Generator | None = None,
                   straight_through: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(y [..., V], ids [...])``: the relaxed one-hot softmax((logits + g) / tau) (or, with
    ``straight_through``, the hard one-hot carrying its gradient) and the hard token."""
    if tau <= 0:
        raise ValueError(f"the Gumbel-softmax temperature must be > 0, got {tau}")
    perturbed = logits + gumbel_noise(logits.shape, generator, logits.device)
    soft = torch.softmax(perturbed / tau, dim=-1)
    ids = perturbed.argmax(dim=-1)
    if not straight_through:
        return soft, ids
    hard = torch.nn.functional.one_hot(ids, logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft, ids


class RelaxedSample(NamedTuple):
    """``soft [B, T, V]`` relaxed one-hots (a one-hot of PAD after EOS, no gradient there),
    ``tokens [B, T]`` the hard tokens (PAD after EOS), ``lengths [B]``."""

    soft: torch.Tensor
    tokens: torch.Tensor
    lengths: torch.Tensor


def relaxed_sample(policy: Policy, n: int, max_len: int, tau: float, mode: str = "relgan",
                   straight_through: bool = False, generator: torch.Generator | None = None,
                   context: Any = None) -> RelaxedSample:
    """Unroll ``policy`` for ``n`` sentences with gradients through the relaxation (see the
    module docstring for ``mode``). A row ends at its first hard EOS."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    device = next(iter(policy.parameters())).device
    vocab, pad, eos = policy.vocab_size, policy.pad_id, policy.eos_id
    state = policy.initial_state(n, context)
    inputs: torch.Tensor = torch.full((n,), policy.start_id, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    lengths = torch.full((n,), max_len, dtype=torch.long, device=device)
    pad_row = torch.nn.functional.one_hot(torch.tensor(pad, device=device), vocab).float()
    soft_steps, token_steps = [], []
    any_done = False
    for t in range(max_len):
        logits, state = policy.step(inputs, state)
        soft, ids = gumbel_softmax(logits, tau, generator, straight_through)
        if any_done:  # a pass over [n, V]: skipped until a row has ended (always, without EOS)
            soft = torch.where(done[:, None], pad_row, soft)
            ids = ids.masked_fill(done, pad)
        soft_steps.append(soft)
        token_steps.append(ids)
        if eos is not None:
            ended = ~done & (ids == eos)
            lengths[ended] = t + 1
            done = done | ended  # not in place: torch.where saved the old mask for backward
            finished = int(done.sum())  # one host sync a step, as before
            if finished == n:
                break
            any_done = finished > 0
        inputs = soft if mode == "kusner" else ids
    soft_all, tokens = torch.stack(soft_steps, dim=1), torch.stack(token_steps, dim=1)
    if tokens.shape[1] < max_len:  # every row ended early: pad to the full length
        missing = max_len - tokens.shape[1]
        tokens = torch.cat([tokens, tokens.new_full((n, missing), pad)], dim=1)
        soft_all = torch.cat([soft_all, pad_row.expand(n, missing, vocab)], dim=1)
    return RelaxedSample(soft_all, tokens, lengths)


def inverse_temperature(schedule: str, iteration: int, total: int, beta_max: float,
                        jang_rate: float = 1e-4, jang_every: int = 500,
                        tau_min: float = 0.5) -> float:
    """beta = 1 / tau at ``iteration`` (0 to ``total``) of the run:

    - ``constant``: beta_max;
    - ``exponential`` (RelGAN): beta_max ** (iteration / total), with ``total`` the run's
      own number of iterations, so the last iteration reaches beta_max (RelGAN's code
      hard-codes 5,000 while running 2,000-3,000 and never gets there);
    - ``jang`` (Jang et al. 2017): tau = max(tau_min, exp(-rate * t)), t the iteration
      rounded down to a multiple of ``jang_every``.
    """
    if schedule == "constant":
        return beta_max
    if schedule == "exponential":
        return beta_max ** (iteration / max(total, 1))
    if schedule == "jang":
        step = (iteration // jang_every) * jang_every
        return 1.0 / max(tau_min, math.exp(-jang_rate * step))
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
