"""Running a module in evaluation mode without losing its training flag."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch
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


def backward_in_eval_mode(module: nn.Module) -> AbstractContextManager:
    """Around a forward pass in evaluation mode whose outputs will be differentiated: on a
    GPU, cuDNN's RNN backward refuses evaluation mode, so its kernels are off inside the
    block (PyTorch's own RNN kernels run instead); elsewhere nothing changes.

    >>> with backward_in_eval_mode(nn.LSTM(2, 3).eval()):
    ...     pass
    """
    on_gpu = any(parameter.is_cuda for parameter in module.parameters())
    return torch.backends.cudnn.flags(enabled=False) if on_gpu else nullcontext()
