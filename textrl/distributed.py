"""Several processes through torchrun: ``torchrun --standalone --nproc_per_node=N -m textrl
train RECIPE ...``.

Each process holds the whole model and computes its share of every global batch (its rows
of the MLE batch, its share of the sampled sentences and rollouts, its share of the reward's
real and generated batches). After every backward pass the one optimisation step of the
agents (:meth:`textrl.agents.Agent.optimize`) and of the learned rewards
(:meth:`textrl.rewards.LearnedReward.optimize`) averages the gradients over the processes
(:func:`average_gradients`: one all-reduce of the whole gradient), so an agent or a reward
is correct under torchrun without naming anything; each loss is scaled so that the average
is the gradient of the global batch's loss: a mean over tokens divides by the global token
count, a sum is multiplied by the number of processes.
Process 0 alone writes the run directory, evaluates and shows progress; the others receive
its evaluation, so every process takes the same decisions.

Outside torchrun (one process) every function here is the identity, at no cost.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import distributed as dist

from textrl.errors import UserError


def launched() -> bool:
    """Whether this process was started by torchrun (or another launcher) with several peers."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def start(device: torch.device) -> torch.device:
    """Join the process group torchrun set up (``nccl`` on CUDA, ``gloo`` otherwise); returns
    the device this process uses (``cuda:LOCAL_RANK`` when ``device`` is a GPU)."""
    if not launched() or active():
        return device
    if not dist.is_available():
        raise UserError("this torch build has no torch.distributed; run in one process")
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise UserError(f"several processes run on cuda or cpu, not {device.type}; "
                        "pass --device cpu or cuda")
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def barrier() -> None:
    if active():
        dist.barrier()


def stop() -> None:
    """Leave the process group."""
    if active():
        dist.destroy_process_group()


def stream_seed(seed: int) -> int:
    """The seed of this process's sampling stream: the run's seed on process 0 (so one
    process draws what a run without torchrun draws), ``seed + 1_000_003 * rank`` after."""
    return seed + 1_000_003 * rank()


def share(n: int) -> slice:
    """This process's rows of a global batch of ``n`` rows: contiguous, sizes differing by
    at most one."""
    per, extra = divmod(n, world())
    lo = rank() * per + min(rank(), extra)
    return slice(lo, lo + per + (rank() < extra))


def share_count(n: int) -> int:
    part = share(n)
    return part.stop - part.start


def global_sum(value: torch.Tensor) -> torch.Tensor:
    """``value`` summed over the processes, in float64 (``value`` itself in one process)."""
    if not active():
        return value
    device = "cpu" if dist.get_backend() == "gloo" else torch.cuda.current_device()
    total = value.detach().to(device=device, dtype=torch.float64).clone()
    dist.all_reduce(total)
    return total.to(value.device)


def mean_denominator(count: torch.Tensor) -> torch.Tensor:
    """What a per-process mean over ``count`` local items divides by so that the average of
    the processes' gradients is the gradient of the mean over the global batch: the global
    count over the number of processes (``count`` itself in one process)."""
    if not active():
        return count
    return (global_sum(count) / world()).float()


def average_gradients(optimizer: torch.optim.Optimizer) -> None:
    """Average the gradients of every parameter ``optimizer`` steps over the processes, in one
    all-reduce of the whole gradient (nothing in one process). A parameter without a gradient
    in one process counts as a zero gradient there; one that no process has a gradient for
    keeps none, so the optimiser skips it as a run in one process would."""
    if not active():
        return
    params = [p for group in optimizer.param_groups for p in group["params"]]
    had = [p.grad is not None for p in params]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([*(g.reshape(-1) for g in grads),
                      torch.tensor(had, dtype=grads[0].dtype, device=grads[0].device)])
    device = flat.device
    if dist.get_backend() == "gloo" and device.type != "cpu":
        flat = flat.cpu()
    dist.all_reduce(flat)
    flat = flat.to(device)
    anyone = flat[len(flat) - len(params):] > 0
    offset = 0
    for p, stepped in zip(params, anyone.tolist(), strict=True):
        n = p.numel()
        p.grad = (flat[offset:offset + n] / world()).view_as(p).clone() if stepped else None
        offset += n


def mean_stats(stats: dict[str, float]) -> dict[str, float]:
    """Per-process statistics averaged over the processes (identity in one process)."""
    if not active() or not stats:
        return stats
    keys = sorted(stats)
    values = global_sum(torch.tensor([float(stats[k]) for k in keys], dtype=torch.float64))
    return dict(zip(keys, (values / world()).tolist(), strict=True))


def from_main(value: Any) -> Any:
    """Process 0's ``value``, on every process. (torch pickles it over the process group:
    only values of this run's own processes pass here, never data read from outside.)"""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(value: Any) -> list[Any]:
    """Every process's ``value``, in rank order (``[value]`` in one process)."""
    if not active():
        return [value]
    out: list[Any] = [None] * world()
    dist.all_gather_object(out, value)
    return out
