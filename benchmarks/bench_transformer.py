"""The native Transformer's speed (issue 26), every number measured in this one process:

- sampling 10,000 sentences of length 20 and 51 in batches of 1,000 with the KV cache
  (``step`` reads one position) against recomputing the whole prefix at every step (the
  same model and sampling loop, its state the prefix itself);
- an MLE epoch (batch 64, length 20, V = 5,000: the SeqGAN oracle's shape) against its matmul
  FLOP floor: the step's matmul FLOPs (projections, feed-forward, attention scores and
  values, output head; backward twice forward) over the sgemm rate measured here, at the
  same thread count;
- Monte-Carlo rollouts at SeqGAN's shape (batch 64, 16 rollouts, length 20): the rows of
  one chunk share a prefix length when batch x rollouts fills chunks exactly, so the
  left-padded cache pads nothing; with 15 rollouts chunks straddle two prefix lengths.

The model is the oracle row's: width 32, 2 layers, 4 heads, untied (about the parameters of
SeqGAN's LSTM generator).

    python benchmarks/bench_transformer.py --threads 2 --out benchmarks/out/transformer/speed.json
    python benchmarks/bench_transformer.py --only-mle --out benchmarks/out/transformer/mle_epoch.json

The second line measures only the MLE epoch, with the head-shape floor (every matmul FLOP at
the rate of the output head's own [batch x length, 32] x [32, 5,000] product, which at K = 32
moves more bytes than it computes) and the output head's share of the epoch (the head alone,
forward and backward, timed apart) and a lower bound: the step's matmuls and its one exp per
logit and Adam's update, each timed alone at its own shape (``own_shapes_s``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from bench_speed import best_time, matmul_flops
from provenance import provenance

from textrl.agents import BehaviourCloning
from textrl.data.corpus import Split
from textrl.models import TransformerConfig, TransformerLM
from textrl.models.generation import complete_prefixes, generate
from textrl.models.token_log_probs import BLOCK_ROWS, token_log_probs
from textrl.optimization import adam

VOCAB, DIM, LAYERS, HEADS = 5000, 32, 2, 4


class Recomputing:
    """The same Transformer with no cache: its state is the prefix read so far, and every
    step runs the whole prefix again (what nanoGPT's ``generate`` does)."""

    def __init__(self, lm: TransformerLM):
        self.lm = lm
        self.start_id, self.eos_id, self.pad_id = lm.start_id, lm.eos_id, lm.pad_id

    def parameters(self):
        return self.lm.parameters()

    def initial_state(self, batch: int, context=None) -> torch.Tensor:
        return torch.empty(batch, 0, dtype=torch.long)

    def __call__(self, inputs: torch.Tensor, prefix: torch.Tensor):
        prefix = torch.cat([prefix, inputs], dim=1)
        return self.lm(prefix)[0][:, -inputs.shape[1]:], prefix

    def step(self, inputs: torch.Tensor, prefix: torch.Tensor):
        logits, prefix = self(inputs[:, None], prefix)
        return logits[:, 0], prefix

    def select_state(self, prefix: torch.Tensor, rows):
        return prefix[rows]


def model(max_len: int) -> TransformerLM:
    torch.manual_seed(0)
    return TransformerLM(TransformerConfig(VOCAB, DIM, LAYERS, HEADS, max_positions=max_len + 1,
                                           tied=False)).eval()


def sampling(lengths: list[int], n: int, batch: int, repeats: int) -> list[dict]:
    rows = []
    for length in lengths:
        lm = model(length)
        times = {}
        for name, policy in (("cache", lm), ("recompute", Recomputing(lm))):
            once = name == "recompute"  # minutes a run at length 51: timed once, no warm-up
            times[name] = best_time(lambda p=policy, length=length: generate(
                p, n, length, generator=torch.Generator().manual_seed(0), chunk=batch),
                1 if once else repeats, warmup=0 if once else 1)
        same = torch.equal(*(generate(p, 200, length, generator=torch.Generator().manual_seed(0),
                                      chunk=batch).tokens for p in (lm, Recomputing(lm))))
        rows.append({"length": length, "sentences": n, "batch": batch, "cache_s": times["cache"],
                     "recompute_s": times["recompute"],
                     "speedup": times["recompute"] / times["cache"], "same_samples": same})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def step_flops(tokens: int, length: int) -> float:
    """Matmul FLOPs of a teacher-forced forward and backward over ``tokens`` tokens in
    sentences of ``length``: per layer the q/k/v and output projections (4 D^2), the
    feed-forward (8 D^2), scores and values over the causal half of the sentence."""
    per_token = LAYERS * (2 * 12 * DIM * DIM + 2 * 2 * DIM * (length + 1) / 2) + 2 * DIM * VOCAB
    return 3 * per_token * tokens


def mle_epoch(sentences: int, length: int, batch: int, repeats: int) -> dict:
    lm = model(length)
    agent = BehaviourCloning(lm, lr=1e-3, grad_clip=5.0, batch_size=batch)
    g = torch.Generator().manual_seed(0)
    data = Split(torch.randint(VOCAB, (sentences, length), generator=g),
                 torch.full((sentences,), length))
    epoch = best_time(lambda: agent.train_epoch(data, g), repeats, warmup=1)
    flops = step_flops(sentences * length, length)
    rate = matmul_flops(1024, 1024, 1024, 10)
    head_rate = matmul_flops(batch * length, DIM, VOCAB, 20)  # K = 32: memory-bound
    batches = -(-sentences // batch)
    head = head_seconds(batch * length, repeats) * batches
    alone = own_shapes_seconds(batch * length, repeats)
    row = {"sentences": sentences, "length": length, "batch": batch, "epoch_s": epoch,
           "matmul_flop": flops, "sgemm_flop_per_s": rate, "floor_s": flops / rate,
           "over_floor": epoch / (flops / rate), "head_shape_flop_per_s": head_rate,
           "over_head_shape_floor": epoch / (flops / head_rate),
           "output_head_s": head, "output_head_share": head / epoch,
           "own_shapes_s": {k: v * batches for k, v in alone.items()},
           "own_shapes_over_floor": sum(alone.values()) * batches / (flops / rate),
           "parameters": sum(p.numel() for p in lm.parameters())}
    print(json.dumps(row), flush=True)
    return row


def head_seconds(tokens: int, repeats: int) -> float:
    """One batch's output head alone, forward and backward: ``tokens`` features through the
    [V, D] layer to the chosen tokens' log-probabilities (what the policy's loss runs)."""
    g = torch.Generator().manual_seed(0)
    features = torch.randn(tokens, DIM, generator=g, requires_grad=True)
    weight = torch.randn(VOCAB, DIM, generator=g, requires_grad=True)
    bias = torch.zeros(VOCAB, requires_grad=True)
    targets = torch.randint(VOCAB, (tokens,), generator=g)
    return best_time(lambda: token_log_probs(features, weight, bias, targets, 1.0).sum().backward(),
                     5 * repeats, warmup=2)


def own_shapes_seconds(tokens: int, repeats: int) -> dict[str, float]:
    """A lower bound on one batch's step at its shapes, each part timed alone at its own
    shape: the feed-forward, projection and output-head matmuls, forward and backward
    (``[N, in] x [in, out]``, ``[N, out] x [out, in]``, ``[out, N] x [N, in]``), the one
    ``exp`` per logit that any softmax over ``[N, V]`` needs, and Adam's update of every
    parameter (textrl's multi-tensor Adam, as the step runs it). Every product writes into a
    buffer allocated once, and the head's parts take the faster of the whole ``[N, V]`` and
    blocks of 128 rows (the exp in cache), so no part is timed slower than the step could run
    it. The attention's small matmuls (under 2% of the FLOPs) are left out."""
    ff = 4 * DIM
    layers = [(DIM, 3 * DIM), (DIM, DIM), (DIM, ff), (ff, DIM)]  # q/k/v, output, feed-forward

    def timed(fn) -> float:
        return best_time(fn, 10 * repeats, warmup=2)

    def linear(n_in: int, n_out: int, rows: int) -> float:
        """The three products of a linear layer over ``tokens`` rows, done ``rows`` at a time."""
        x, w, dy = torch.randn(tokens, n_in), torch.randn(n_in, n_out), torch.randn(tokens, n_out)
        y, dx, dw = torch.empty(tokens, n_out), torch.empty(tokens, n_in), torch.empty(n_out, n_in)
        blocks = [slice(lo, lo + rows) for lo in range(0, tokens, rows)]

        def backward_weight() -> None:
            dw.zero_()
            for b in blocks:
                dw.addmm_(dy[b].T, x[b])

        return sum(timed(fn) for fn in (
            lambda: [torch.mm(x[b], w, out=y[b]) for b in blocks],
            lambda: [torch.mm(dy[b], w.T, out=dx[b]) for b in blocks],
            backward_weight))

    def exp(rows: int) -> float:
        z, out = torch.randn(rows, VOCAB), torch.empty(rows, VOCAB)
        return timed(lambda: [torch.exp(z, out=out) for _ in range(-(-tokens // rows))])

    parameters = list(model(20).parameters())
    for p in parameters:
        p.grad = torch.randn_like(p)
    optimizer = adam(parameters, lr=1e-3)
    return {"blocks_matmuls": LAYERS * sum(linear(*shape, tokens) for shape in layers),
            # + 1: the bias rides as a column
            "head_matmuls": min(linear(DIM + 1, VOCAB, rows) for rows in (tokens, BLOCK_ROWS)),
            "head_exp": min(exp(rows) for rows in (tokens, BLOCK_ROWS)),
            "adam_step": timed(optimizer.step)}


def rollouts(batch: int, length: int, repeats: int) -> list[dict]:
    lm = model(length)
    tokens = generate(lm, batch, length, generator=torch.Generator().manual_seed(0)).tokens
    lengths = torch.full((batch,), length)
    rows = []
    for n_rollouts in (16, 15):
        seconds = best_time(lambda n=n_rollouts: complete_prefixes(
            lm, tokens, lengths, n, generator=torch.Generator().manual_seed(1)), repeats,
            warmup=1)
        rows.append({"batch": batch, "rollouts": n_rollouts, "length": length,
                     "one_prefix_length_per_chunk": batch * n_rollouts % 512 == 0,
                     "seconds": seconds, "per_completion_us": 1e6 * seconds
                     / (batch * n_rollouts * (length - 1))})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only-mle", action="store_true",
                        help="only the MLE epoch against its floors (seconds, not minutes)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {"threads": args.threads}
    if not args.only_mle:
        with torch.no_grad():
            result |= {"sampling": sampling([20, 51], 10_000, 1_000, args.repeats),
                       "rollouts": rollouts(64, 20, args.repeats)}
    result["mle_epoch"] = mle_epoch(10_000, 20, 64, args.repeats)
    result["provenance"] = provenance(args.threads)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
