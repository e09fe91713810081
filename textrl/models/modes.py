"""Running a module in evaluation mode without losing its training flag."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Dropout off inside the block; the module's previous mode is restored, even on error.

    >>> layer = nn.Dropout(0.5).train()
    >>> with eval_mode(layer):
    ...     layer.training
    False
    >>> layer.training
    True
    """
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
