"""textrl's Adam: the multi-tensor form, whose weights must equal PyTorch's default CPU loop
bit for bit (it is a speed change only, so every recorded run keeps its numbers)."""

import torch
from torch import nn

from textrl.optimization import adam


def _weights_after(make, steps: int = 4) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(50, 8), nn.Conv1d(8, 6, 3), nn.Linear(4, 3))
    optimizer = make(model.parameters())
    grads = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for p in model.parameters():
            p.grad = torch.randn(p.shape, generator=grads) * 10
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


def test_adam_is_the_multi_tensor_form_with_identical_weights():
    ours = _weights_after(lambda ps: adam(ps, lr=1e-2, betas=(0.5, 0.9)))
    loop = _weights_after(lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.5, 0.9),
                                                      foreach=False))
    assert all(torch.equal(a, b) for a, b in zip(ours, loop, strict=True))
    assert adam([nn.Parameter(torch.zeros(2))], lr=0.1).defaults["foreach"] is True


def test_adam_takes_parameter_groups():
    first, second = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(3))
    optimizer = adam([{"params": [first]}, {"params": [second], "lr": 0.5}], lr=0.1)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.5]
