"""The one token-by-token generation loop, and what is built on it: sampling, Monte-Carlo
completion of every prefix, and (in :mod:`textrl.agents.base`) environment episodes.

Anything with ``step(ids, state) -> (logits, state)`` and ``select_state`` can be driven:
a ``Policy``, and the SeqGAN oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from tqdm import tqdm

from textrl.models.base import Policy, Sample, State
from textrl.models.sampling import sample_categorical


@torch.no_grad()
def continue_sequences(
    policy: Any, logits: torch.Tensor, state: State, tokens: torch.Tensor, start: torch.Tensor,
    temperature: float = 1.0, generator: torch.Generator | None = None,
    on_step: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample tokens into ``tokens [n, T]`` in place, row i from position ``start[i]`` on.

    :param policy: what steps the state (a ``Policy``, or the oracle).
    :param logits: ``[n, V]``, the prediction for each row's position ``start[i]``.
    :param state: the state that produced ``logits``.
    :param tokens: ``[n, T]``, the given prefixes; positions from ``start`` on are
        overwritten.
    :param start: ``[n]`` ascending, so the rows still sampling at each step are a leading
        block and the finished block can be dropped from the batch.
    :param temperature: > 0 scales the logits; 0 is greedy.
    :param generator: the random stream (one uniform per live row and step).
    :param on_step: called with the ids drawn at each step (only when all rows share one
        start); returns the rows that ended there (an environment's ``done``). Without
        it, rows end at the policy's EOS.
    :returns: ``(lengths [n], log_probs [n, T])``: a row ends at its first EOS (or
        ``on_step``'s done) and is PAD after it; rows that never end have length T.
        ``log_probs`` are those of the tempered sampling distribution, 0 outside the sampled
        tokens.
    """
    n, max_len = tokens.shape
    pad, eos = policy.pad_id, policy.eos_id
    lengths = torch.full((n,), max_len, dtype=torch.long, device=tokens.device)
    log_probs = torch.zeros(n, max_len, device=tokens.device)
    done = torch.zeros(n, dtype=torch.bool, device=tokens.device)
    if n == 0:
        return lengths, log_probs
    first = int(start[0])
    rows = torch.arange(n, device=tokens.device)
    # One start for all rows (sampling, episodes): column writes, cheaper than scattered ones.
    aligned = bool((start == first).all())
    for k in range(max_len - first):
        m = int((start < max_len - k).sum())
        if m < len(logits):  # rows whose sentence is complete leave the batch
            logits, state = logits[:m], policy.select_state(state, slice(0, m))
        ids, logp = sample_categorical(logits, temperature, generator, reuse_logits=True)
        live = ~done[:m]
        position = start[:m] + k
        at = (slice(0, m), first + k) if aligned else (rows[:m], position)
        tokens[at] = torch.where(live, ids, pad)
        log_probs[at] = logp * live
        if on_step is not None:
            ended = live & on_step(ids)
        elif eos is not None:
            ended = live & (ids == eos)
        else:
            ended = None
        if ended is not None:
            lengths[rows[:m][ended]] = position[ended] + 1
            done[:m] |= ended
            if bool(done.all()):
                break
        if k + 1 < max_len - first:
            logits, state = policy.step(ids, state)
    return lengths, log_probs


@torch.no_grad()
def generate(policy: Policy, n: int, max_len: int, temperature: float = 1.0, context: Any = None,
             prefix: torch.Tensor | None = None, generator: torch.Generator | None = None,
             chunk: int = 512) -> Sample:
    """Draw ``n`` sequences of at most ``max_len`` tokens from ``policy`` (no gradients).

    ``prefix [n, P]`` (P < max_len, no EOS) is kept as given and continued; ``context`` is
    indexed per row by the policy (``select_state``). Rows are drawn ``chunk`` at a time: a
    [chunk, V] softmax that stays in cache is several times faster per row than one over
    all ``n`` rows.
    """
    device = next(iter(policy.parameters())).device if hasattr(policy, "parameters") else None
    if prefix is not None and prefix.shape[1] >= max_len:
        raise ValueError(f"prefix of {prefix.shape[1]} tokens leaves nothing to sample "
                         f"within max_len={max_len}")
    parts = []
    # A bar for long draws (10,000 sentences for an evaluation), shown after 2 seconds.
    for lo in tqdm(range(0, n, chunk), desc="sampling", unit="chunk", leave=False, delay=2.0,
                   disable=n <= chunk):
        rows = min(chunk, n - lo)
        state = policy.initial_state(rows, rows_of(context, slice(lo, lo + rows)))
        inputs = torch.full((rows, 1), policy.start_id, dtype=torch.long, device=device)
        tokens = torch.full((rows, max_len), policy.pad_id, dtype=torch.long, device=device)
        if prefix is not None:
            inputs = torch.cat([inputs, prefix[lo:lo + rows]], dim=1)
            tokens[:, :prefix.shape[1]] = prefix[lo:lo + rows]
        logits, state = policy(inputs, state)
        start = torch.full((rows,), inputs.shape[1] - 1, dtype=torch.long, device=device)
        lengths, log_probs = continue_sequences(policy, logits[:, -1], state, tokens, start,
                                                temperature, generator)
        parts.append(Sample(tokens, lengths, log_probs))
    if not parts:
        empty = torch.empty(0, max_len, dtype=torch.long, device=device)
        return Sample(empty, empty[:, 0], empty.float())
    return Sample(*(torch.cat(p) for p in zip(*parts, strict=True)))


def rows_of(value: Any, index: torch.Tensor | slice) -> Any:
    """Rows ``index`` of a tensor or a list (one entry a row), or of every field of a (named)
    tuple such as a context; anything else (``None``, what every row shares) passes."""
    if isinstance(value, tuple):  # a NamedTuple keeps its type
        parts = [rows_of(v, index) for v in value]
        return type(value)(*parts) if hasattr(value, "_fields") else tuple(parts)
    if isinstance(value, list):
        if isinstance(index, slice):
            picked = range(len(value))[index]
        else:
            picked = (index.nonzero().flatten() if index.dtype == torch.bool else index).tolist()
        return [value[i] for i in picked]
    if isinstance(value, torch.Tensor):
        return value[index]
    if isinstance(value, dict) or hasattr(value, "__array__"):  # per-row data of another kind
        raise TypeError(f"cannot take rows of a {type(value).__name__} context: use tensors, "
                        "lists or tuples of them")
    return value


@torch.no_grad()
def complete_prefixes(policy: Policy, tokens: torch.Tensor, lengths: torch.Tensor,
                      n_rollouts: int, temperature: float = 1.0,
                      generator: torch.Generator | None = None, context: Any = None,
                      chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_rollouts`` completions of every proper prefix of every sequence (SeqGAN's rollouts).

    Returns ``(completions [(T-1) * N * B, T], lengths)`` with rows laid out
    ``((t - 1) * N + n) * B + b``: the n-th completion of ``tokens[b, :t]``. A prefix that
    already holds the whole sentence is its own completion. Every rollout of every prefix
    continues from the policy's cached prefix states, ``chunk`` rows at a time, ordered by
    prefix length so the rows still sampling at each step are a contiguous block (at
    V = 5000, 512 rows were fastest here: 128 cost 1.7x as much per row, 2,048 twice as much).
    """
    batch, length = tokens.shape
    device = tokens.device
    prefix_len = torch.arange(1, length, device=device).repeat_interleave(n_rollouts * batch)
    row_seq = torch.arange(batch, device=device).repeat((length - 1) * n_rollouts)
    completions = tokens[row_seq].clone()
    completion_lengths = lengths[row_seq].clone()
    rows = torch.nonzero(prefix_len < lengths[row_seq]).flatten()
    logits, state_at = policy.prefix_states(tokens, context)
    positions = torch.arange(length, device=device)
    for lo in range(0, len(rows), chunk):
        part = rows[lo:lo + chunk]
        t0, seq = prefix_len[part], row_seq[part]
        buffer = torch.where(positions < t0[:, None], tokens[seq], policy.pad_id)
        part_lengths, _ = continue_sequences(policy, logits[seq, t0], state_at(t0, seq), buffer,
                                             t0, temperature, generator)
        completions[part] = buffer
        completion_lengths[part] = part_lengths
    return completions, completion_lengths
