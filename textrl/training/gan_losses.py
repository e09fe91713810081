"""The adversarial losses of the GANs trained without RL, on critic logits of real and
generated batches: ``standard`` (the non-saturating GAN), ``rsgan`` (relativistic standard,
RelGAN's choice), ``wgan-gp`` (Wasserstein with the gradient penalty of Gulrajani et al.;
add :func:`gradient_penalty` to the critic's loss) and ``hinge``."""

from __future__ import annotations

import torch
from torch.nn.functional import logsigmoid, relu

LOSSES = ("standard", "rsgan", "wgan-gp", "hinge")


def critic_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's (critic's) loss on logits ``real [B]`` and ``fake [B]``."""
    if kind == "standard":
        return -(logsigmoid(real).mean() + logsigmoid(-fake).mean())
    if kind == "rsgan":
        return -logsigmoid(real - fake).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    if kind == "hinge":
        return relu(1.0 - real).mean() + relu(1.0 + fake).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")


def generator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss on the same logits (``real`` matters only for ``rsgan``)."""
    if kind == "standard":
        return -logsigmoid(fake).mean()
    if kind == "rsgan":
        return -logsigmoid(fake - real).mean()
    if kind in ("wgan-gp", "hinge"):
        return -fake.mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None, *, extra: tuple = ()
                     ) -> torch.Tensor:
    """Gulrajani et al.'s penalty: mean over the batch of (||grad_x critic(x)|| - 1)^2 at
    x = e real + (1 - e) fake, e ~ U(0, 1) per example; ``real`` and ``fake`` are ``[B, ...]``
    (codes, or relaxed one-hots), ``extra`` further arguments of ``critic``."""
    shape = (len(real),) + (1,) * (real.dim() - 1)
    e = torch.rand(shape, generator=generator, device=real.device)
    mixed = (e * real.detach() + (1 - e) * fake.detach()).requires_grad_(True)
    grad, = torch.autograd.grad(critic(mixed, *extra).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
