"""The chunked output-layer log-probability against log_softmax: values and gradients."""

import pytest
import torch

from textrl.models import token_log_probs as module
from textrl.models.token_log_probs import token_log_probs


def reference(h, w, b, y, temperature=1.0):
    logits = h @ w.T + (0 if b is None else b)
    return torch.log_softmax(logits / temperature, 1).gather(1, y[:, None]).squeeze(1)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("n", [1, 5, 300])  # 300 spans three blocks, the last one partial
def test_values_and_gradients_match_log_softmax(n, with_bias, temperature):
    g = torch.Generator().manual_seed(n)
    h = torch.randn(n, 8, generator=g, dtype=torch.float64)
    w = torch.randn(50, 8, generator=g, dtype=torch.float64)
    b = torch.randn(50, generator=g, dtype=torch.float64) if with_bias else None
    y = torch.randint(50, (n,), generator=g)
    upstream = torch.randn(n, generator=g, dtype=torch.float64)  # any weights: RL advantages
    leaves = [t.clone().requires_grad_() for t in (h, w) + ((b,) if with_bias else ())]
    ours = token_log_probs(*leaves[:2], leaves[2] if with_bias else None, y, temperature)
    mine = torch.autograd.grad((ours * upstream).sum(), leaves)
    leaves_ref = [t.clone().requires_grad_() for t in leaves]
    ref = reference(*leaves_ref[:2], leaves_ref[2] if with_bias else None, y, temperature)
    theirs = torch.autograd.grad((ref * upstream).sum(), leaves_ref)
    torch.testing.assert_close(ours, ref)
    for a, e in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, e)


def test_without_gradients_keeps_no_vocabulary_sized_buffer(monkeypatch):
    kept = []
    original = module._log_probs

    def recording(*args):
        kept.append(args[-1])
        return original(*args)

    monkeypatch.setattr(module, "_log_probs", recording)
    h, w, y = torch.randn(4, 3), torch.randn(7, 3), torch.randint(7, (4,))
    with torch.no_grad():
        out = token_log_probs(h, w.requires_grad_(), None, y)
    torch.testing.assert_close(out, reference(h, w.detach(), None, y))
    assert kept == [False]


def test_empty_input_gives_empty_output_and_zero_gradient():
    w = torch.randn(6, 3, requires_grad=True)
    out = token_log_probs(torch.zeros(0, 3), w, None, torch.zeros(0, dtype=torch.long))
    assert out.shape == (0,)
    out.sum().backward()
    assert torch.equal(w.grad, torch.zeros_like(w))


def test_bad_shapes_and_temperature_are_refused():
    w = torch.randn(6, 3)
    with pytest.raises(ValueError, match="features must be"):
        token_log_probs(torch.randn(4, 3), w, None, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="temperature"):
        token_log_probs(torch.randn(4, 3), w, None, torch.zeros(4, dtype=torch.long), 0.0)


def test_a_second_backward_is_refused_not_wrong():
    h = torch.randn(4, 3, requires_grad=True)
    out = token_log_probs(h, torch.randn(6, 3), None, torch.tensor([0, 1, 2, 3])).sum()
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="twice"):
        out.backward()


def reference_entropy(h, w, b, temperature=1.0):
    log_p = torch.log_softmax((h @ w.T + (0 if b is None else b)) / temperature, 1)
    return -(log_p.exp() * log_p).sum(1)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("n", [1, 5, 300])
def test_entropy_values_and_gradients_match_the_full_distribution(n, with_bias, temperature):
    g = torch.Generator().manual_seed(n + 7)
    h = torch.randn(n, 8, generator=g, dtype=torch.float64)
    w = torch.randn(50, 8, generator=g, dtype=torch.float64)
    b = torch.randn(50, generator=g, dtype=torch.float64) if with_bias else None
    y = torch.randint(50, (n,), generator=g)
    # upstream weights of each output (an advantage, an entropy bonus): both paths must count
    up_lp, up_h = torch.randn(n, generator=g, dtype=torch.float64), torch.randn(n, generator=g,
                                                                                dtype=torch.float64)

    def run(fn):
        leaves = [t.clone().requires_grad_() for t in (h, w) + ((b,) if with_bias else ())]
        log_p, entropy = fn(leaves[0], leaves[1], leaves[2] if with_bias else None)
        grads = torch.autograd.grad((log_p * up_lp + entropy * up_h).sum(), leaves)
        return log_p, entropy, grads

    ours = run(lambda h_, w_, b_: module.token_log_probs_and_entropy(h_, w_, b_, y, temperature))
    theirs = run(lambda h_, w_, b_: (reference(h_, w_, b_, y, temperature),
                                     reference_entropy(h_, w_, b_, temperature)))
    torch.testing.assert_close(ours[0], theirs[0])
    torch.testing.assert_close(ours[1], theirs[1])
    for a, e in zip(ours[2], theirs[2], strict=True):
        torch.testing.assert_close(a, e)
    with torch.no_grad():  # the path that keeps no [N, V] buffer gives the same values
        plain = module.token_log_probs_and_entropy(h, w, b, y, temperature)
    torch.testing.assert_close(plain[0], theirs[0])
    torch.testing.assert_close(plain[1], theirs[1])


def test_entropy_of_empty_input_is_empty_with_a_zero_gradient():
    w = torch.randn(6, 3, requires_grad=True)
    log_p, entropy = module.token_log_probs_and_entropy(torch.zeros(0, 3), w, None,
                                                        torch.zeros(0, dtype=torch.long))
    assert log_p.shape == entropy.shape == (0,)
    (log_p.sum() + entropy.sum()).backward()
    assert torch.equal(w.grad, torch.zeros_like(w))


def test_entropy_route_refuses_a_second_backward():
    h, w = torch.randn(3, 4, requires_grad=True), torch.randn(6, 4)
    log_p, entropy = module.token_log_probs_and_entropy(h, w, None, torch.tensor([0, 5, 2]))
    loss = (log_p + entropy).sum()
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="backpropagated twice"):
        loss.backward()


def test_a_loss_without_the_entropy_gets_the_gradient_of_a_zero_entropy_weight():
    # the route without an entropy gradient (no bonus) must equal the full one at weight 0
    g = torch.Generator().manual_seed(5)
    h, w, b = torch.randn(300, 8, generator=g), torch.randn(50, 8, generator=g), torch.randn(50)
    y, up = torch.randint(50, (300,), generator=g), torch.randn(300, generator=g)
    grads = []
    for entropy_weight in (None, 0.0):
        leaves = [t.clone().requires_grad_() for t in (h, w, b)]
        log_p, entropy = module.token_log_probs_and_entropy(*leaves, y, 0.8)
        loss = (log_p * up).sum() + (0 if entropy_weight is None else entropy_weight * entropy.sum())
        grads.append(torch.autograd.grad(loss, leaves))
    for a, e in zip(*grads, strict=True):
        assert torch.equal(a, e)
