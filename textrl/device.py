"""Where tensors live: ``--device auto|cpu|cuda|cuda:N|mps``.

A run's model, oracle, reward model, data and random streams all sit on one device;
checkpoints are read onto the CPU first (``torch.load(map_location="cpu")``), so a run
written on one device loads on any other.
"""

from __future__ import annotations

import torch

from textrl.errors import UserError

DEVICE_HELP = ("where to run: auto (a GPU when there is one), cpu, cuda, cuda:N or mps")
DEVICES = "auto, cpu, cuda, cuda:N or mps"


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """The device ``spec`` names; ``auto`` (or ``None``) takes a GPU when there is one.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(spec, torch.device):
        return spec
    if spec in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        raise UserError(f"--device {spec!r} is not a device; use {DEVICES}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"--device {spec}: this machine has no CUDA GPU visible to torch "
                            f"{torch.__version__}; use --device cpu (or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"--device {spec}: there are {torch.cuda.device_count()} CUDA "
                            "devices (cuda:0 ...); pick one of them")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise UserError(f"--device {spec}: MPS is not available here; use --device cpu")
    elif device.type != "cpu":
        raise UserError(f"--device {spec}: textrl runs on {DEVICES}")
    return device


def device_of(model: object) -> torch.device:
    """The device of ``model``'s parameters (the CPU for a model without any)."""
    parameters = getattr(model, "parameters", None)
    return next((p.device for p in parameters()), torch.device("cpu")) if parameters else (
        torch.device("cpu"))


def seeded_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A random stream on ``device`` seeded with ``seed`` (on the CPU: ``torch.Generator()``)."""
    return torch.Generator(device=device).manual_seed(seed)
