"""The log-probability of chosen tokens under a linear output layer, in one pass over the
``[N, V]`` logits: the one loss path of maximum likelihood, the RL losses'
log-probabilities and likelihood evaluation.

``log p(y | h) = z_y - logsumexp(z)`` with ``z = (h W^T + b) / tau``. The plain route
(logits, ``log_softmax``, its backward) makes four to six passes over a tensor much larger
than the cache: ~40% of an MLE step at SeqGAN's shape. Here rows go through in blocks of
128: each block's logits are exponentiated while they are in cache and written once, and
the backward turns them into the gradient in place (read once). The bias rides in the
matmul as a column of the weights (no broadcast copy), and the temperature in the weights. Without
gradients nothing of size ``[N, V]`` is kept. benchmarks/bench_speed.py measures it against
the matmul FLOP floor.

:func:`token_log_probs_and_entropy` adds each row's entropy (the actor-critic agents' bonus
and log) in the same pass, so those agents need no ``[N, V]`` log-softmax either.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

BLOCK_ROWS = 128  # rows of logits per block: fastest of 32-1280 at V = 5,000 and 10,000


def _padded_zeros(rows: int, cols: int, like: torch.Tensor) -> torch.Tensor:
    """``[rows, cols]`` zeros whose rows start 64-byte aligned: a matmul writing a
    ``[10000, 257]`` result with an odd row stride is 1.7x slower than with an aligned one."""
    return like.new_zeros(rows, -(-cols // 16) * 16)[:, :cols]


def _augmented(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
               temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``[N, H+1]`` features with a column of ones and ``[V, H+1]`` weights with the bias as
    a column, over ``temperature``: the logits are then one matmul, with no pass to add the
    bias, and the bias gradient comes with the weight gradient's matmul."""
    hidden = features.shape[1]
    inputs = _padded_zeros(len(features), hidden + 1, features)
    inputs[:, :hidden] = features
    inputs[:, hidden] = 1.0
    weights = _padded_zeros(len(weight), hidden + 1, weight)
    weights[:, :hidden] = weight
    if bias is not None:
        weights[:, hidden] = bias
    return inputs, weights.div_(temperature) if temperature != 1.0 else weights


def _log_probs(inputs: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor,
               keep: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """``(log p [N], exp(z - max z) [N, V] or None, its row sums [N])`` from augmented
    inputs and weights, block by block so each block's logits are exponentiated in cache."""
    n, vocab = len(inputs), weights.shape[0]
    shifted = inputs.new_empty(n, vocab) if keep else None
    scratch = None if keep else inputs.new_empty(min(n, BLOCK_ROWS), vocab)
    out, totals = inputs.new_empty(n), inputs.new_empty(n, 1)
    for lo in range(0, n, BLOCK_ROWS):
        rows = slice(lo, lo + BLOCK_ROWS)
        h = inputs[rows]
        block = shifted[rows] if keep else scratch[:len(h)]
        torch.mm(h, weights.T, out=block)
        top = block.amax(1, keepdim=True)
        chosen = block.gather(1, targets[rows, None])
        torch.sum(block.sub_(top).exp_(), 1, keepdim=True, out=totals[rows])
        out[rows] = (chosen - top - totals[rows].log()).squeeze(1)
    return out, shifted, totals


class _TokenLogProbs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features, weight, bias, targets, temperature):
        inputs, weights = _augmented(features, weight, bias, temperature)
        out, shifted, totals = _log_probs(inputs, weights, targets, keep=True)
        ctx.save_for_backward(inputs, weight, targets, shifted, totals)
        ctx.temperature, ctx.has_bias, ctx.used = temperature, bias is not None, False
        return out

    @staticmethod
    def backward(ctx, grad_out):
        _claim(ctx, "token_log_probs")  # before the saved tensors, which it turned in place
        inputs, weight, targets, shifted, totals = ctx.saved_tensors
        # d log p_y / dz = onehot(y) - exp(z - max) / total, and dz / dlogits = 1 / tau.
        scale = grad_out[:, None] / ctx.temperature

        def grad_logits(rows: slice) -> torch.Tensor:
            g = scale[rows]
            return shifted[rows].mul_(-g / totals[rows]).scatter_add_(1, targets[rows, None], g)

        return _through_head(ctx, inputs, weight, grad_logits)


def _claim(ctx, what: str) -> None:
    """Refuse a second backward: the first turns the saved ``[N, V]`` buffer into the
    gradient in place."""
    if ctx.used:
        raise RuntimeError(f"{what} cannot be backpropagated twice "
                           "(retain_graph=True is not supported)")
    ctx.used = True


def _through_head(ctx, inputs: torch.Tensor, weight: torch.Tensor,
                  grad_logits: Callable[[slice], torch.Tensor]) -> tuple:
    """A backward's return: the gradients of features, weight and bias (the ones column's)
    from each block's logit gradient ``grad_logits(rows) -> [rows, V]``."""
    need_features, need_weight, need_bias = ctx.needs_input_grad[:3]
    hidden = weight.shape[1]
    grad_features = inputs.new_empty(len(inputs), hidden) if need_features else None
    grad_weights = _padded_zeros(weight.shape[0], hidden + 1, weight)
    for lo in range(0, len(inputs), BLOCK_ROWS):
        rows = slice(lo, lo + BLOCK_ROWS)
        block = grad_logits(rows)
        if need_features:
            torch.mm(block, weight, out=grad_features[rows])
        if need_weight or need_bias:
            grad_weights.addmm_(block.T, inputs[rows])
    grad_weight = grad_weights[:, :hidden] if need_weight else None
    grad_bias = grad_weights[:, hidden] if need_bias and ctx.has_bias else None
    return grad_features, grad_weight, grad_bias, None, None


def _prepared(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
              targets: torch.Tensor, temperature: float) -> tuple[torch.Tensor, float, bool]:
    """``(features, temperature, tracked)`` checked for scoring: contiguous features, a
    float temperature, and whether any input needs a gradient."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 to score tokens, got {temperature}")
    if features.dim() != 2 or targets.shape != features.shape[:1]:
        raise ValueError(f"features must be [N, H] and targets [N], got {tuple(features.shape)} "
                         f"and {tuple(targets.shape)}")
    tracked = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (features, weight, bias))
    return features.contiguous(), float(temperature), tracked


def token_log_probs(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                    targets: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``[N]`` log-probabilities of ``targets [N]`` under ``softmax((features [N, H] @
    weight[V, H]^T + bias [V]) / temperature)``, differentiable in features, weight and
    bias. With gradients it keeps one ``[N, V]`` buffer (the probabilities), without none.

    >>> h, w = torch.randn(3, 4), torch.randn(6, 4)
    >>> y = torch.tensor([0, 5, 2])
    >>> ref = torch.log_softmax(h @ w.T, 1).gather(1, y[:, None]).squeeze(1)
    >>> bool(torch.allclose(token_log_probs(h, w, None, y), ref, atol=1e-6))
    True
    """
    features, temperature, tracked = _prepared(features, weight, bias, targets, temperature)
    if not tracked:
        return _log_probs(*_augmented(features, weight, bias, temperature), targets, False)[0]
    if len(features) == 0:  # keeps the graph connected, so backward still runs
        return features.new_zeros(0) + 0.0 * weight.sum()
    return _TokenLogProbs.apply(features, weight, bias, targets, temperature)


def _log_probs_entropy(inputs: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor,
                       keep: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None,
                                            torch.Tensor]:
    """``(log p [N], entropy [N], z - max z [N, V] or None, log of the row sums of
    exp(z - max z) [N])``, block by block. The logits are finite (features times weights),
    so ``exp(s) * s`` has no ``0 * inf``."""
    n, vocab = len(inputs), weights.shape[0]
    kept = inputs.new_empty(n, vocab) if keep else None
    # the block's exponentials (and, with nothing kept, its shifted logits) stay in cache
    scratch = inputs.new_empty(1 if keep else 2, min(n, BLOCK_ROWS), vocab)
    out, entropy, log_totals = inputs.new_empty(n), inputs.new_empty(n), inputs.new_empty(n)
    for lo in range(0, n, BLOCK_ROWS):
        rows = slice(lo, lo + BLOCK_ROWS)
        h = inputs[rows]
        shifted = kept[rows] if keep else scratch[1, :len(h)]
        torch.mm(h, weights.T, out=shifted)
        shifted.sub_(shifted.amax(1, keepdim=True))  # s = z - max z
        e = torch.exp(shifted, out=scratch[0, :len(h)])
        total = e.sum(1)
        log_total = log_totals[rows] = total.log()
        # H = -sum p log p = log S - sum(e s) / S, with p = e / S and log p = s - log S
        entropy[rows] = log_total - e.mul_(shifted).sum(1).div_(total)
        out[rows] = shifted.gather(1, targets[rows, None]).squeeze(1) - log_total
    return out, entropy, kept, log_totals


class _TokenLogProbsEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features, weight, bias, targets, temperature):
        inputs, weights = _augmented(features, weight, bias, temperature)
        out, entropy, shifted, log_totals = _log_probs_entropy(inputs, weights, targets, True)
        ctx.save_for_backward(inputs, weight, targets, shifted, log_totals, entropy)
        ctx.temperature, ctx.has_bias, ctx.used = temperature, bias is not None, False
        ctx.set_materialize_grads(False)  # an output the loss does not read has no gradient
        return out, entropy

    @staticmethod
    def backward(ctx, grad_out, grad_entropy):
        _claim(ctx, "token_log_probs_and_entropy")
        inputs, weight, targets, shifted, log_totals, entropy = ctx.saved_tensors
        # d log p_y / dz = onehot(y) - p and dH / dz = -p (log p + H), so with upstream g and
        # h: dz = g onehot(y) - p (g + h (log p + H)); and dz / dlogits = 1 / tau. Without an
        # entropy gradient (no bonus) that is g onehot(y) - p g, the same numbers as h = 0.
        g = (grad_out if grad_out is not None else log_totals.new_zeros(len(log_totals)))
        g = g[:, None] / ctx.temperature
        h = None if grad_entropy is None else grad_entropy[:, None] / ctx.temperature
        if h is not None:
            offset = g + h * (entropy[:, None] - log_totals[:, None])  # g + h (H - log S)

        def grad_logits(rows: slice) -> torch.Tensor:
            s = shifted[rows]
            if h is None:
                block = s.sub_(log_totals[rows, None]).exp_().mul_(-g[rows])
            else:  # log p = s - log S
                p = torch.exp(s - log_totals[rows, None])
                block = s.mul_(h[rows]).add_(offset[rows]).mul_(p).neg_()
            return block.scatter_add_(1, targets[rows, None], g[rows])

        return _through_head(ctx, inputs, weight, grad_logits)


def token_log_probs_and_entropy(features: torch.Tensor, weight: torch.Tensor,
                                bias: torch.Tensor | None, targets: torch.Tensor,
                                temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log p [N], entropy [N])``: :func:`token_log_probs` and each row's entropy
    ``-sum_v p_v log p_v`` of the same distribution, both differentiable, in one blocked pass
    (with gradients it keeps one ``[N, V]`` buffer, the shifted logits).

    >>> h, w = torch.randn(3, 4), torch.randn(6, 4)
    >>> y = torch.tensor([0, 5, 2])
    >>> log_p, entropy = token_log_probs_and_entropy(h, w, None, y)
    >>> full = torch.log_softmax(h @ w.T, 1)
    >>> bool(torch.allclose(entropy, -(full.exp() * full).sum(1), atol=1e-5))
    True
    """
    features, temperature, tracked = _prepared(features, weight, bias, targets, temperature)
    if not tracked:
        out, entropy, _, _ = _log_probs_entropy(*_augmented(features, weight, bias, temperature),
                                                targets, False)
        return out, entropy
    if len(features) == 0:  # keeps the graph connected, so backward still runs
        empty = features.new_zeros(0) + 0.0 * weight.sum()
        return empty, empty.clone()
    return _TokenLogProbsEntropy.apply(features, weight, bias, targets, temperature)
