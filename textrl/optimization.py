"""The one optimiser step of every agent and learned reward: backward, the gradients averaged
over the processes of a torchrun run, gradient-norm clipping, a finiteness check, the step.
An agent or a reward that steps through here is correct under torchrun without naming
anything (:mod:`textrl.distributed`)."""

from __future__ import annotations

import torch
from torch import nn

from textrl import distributed
from textrl.errors import check_finite


def adam(params, lr: float, **kwargs) -> torch.optim.Adam:
    """``torch.optim.Adam(params, lr, **kwargs)``, in its multi-tensor (``foreach``) form unless
    ``foreach`` is given. On CPU PyTorch defaults to the per-tensor loop; the multi-tensor
    form gives bit-identical weights (tests/test_optimization.py) in less time (SeqGAN's
    ``paper`` discriminator step, where Adam was a fifth: benchmarks/RESULTS.md), for
    intermediates the size of the parameters. On CUDA it is already the default. A run
    resumed from a checkpoint written before keeps that checkpoint's setting (same numbers)."""
    kwargs.setdefault("foreach", True)
    return torch.optim.Adam(params, lr=lr, **kwargs)


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, what: str,
                   grad_clip: float | None = None) -> float | None:
    """Minimise ``loss`` by one step of ``optimizer``; ``grad_clip`` clips the norm of the
    gradient of every parameter it steps. Returns that norm before clipping (``None``
    without a clip). A non-finite loss or norm raises a ``DivergenceError`` naming ``what``
    before the step, so the weights stay finite."""
    optimizer.zero_grad()
    loss.backward()
    distributed.average_gradients(optimizer)
    values = {"loss": loss.item()}
    grad_norm = None
    if grad_clip is not None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grad_norm = nn.utils.clip_grad_norm_(params, grad_clip).item()
        values["grad_norm"] = grad_norm
    check_finite(what, **values)
    optimizer.step()
    return grad_norm
