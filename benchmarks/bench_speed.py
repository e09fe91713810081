"""Speed: the policy's sampler against torch.multinomial, and an MLE epoch on the oracle
against the FLOP floor of that epoch on this machine, all measured in one run.

    python benchmarks/bench_speed.py
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from provenance import provenance

from textrl.agents import BehaviourCloning
from textrl.models import LMConfig, RecurrentLM, sample_categorical
from textrl.oracle import OracleLSTM


def best_time(fn, repeat: int, warmup: int = 2) -> float:
    """Fastest of ``repeat`` calls, in seconds (the least disturbed by other load)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def sampler_throughput(vocab: int, batch: int, repeat: int) -> dict:
    logits = torch.randn(batch, vocab, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    ours = best_time(lambda: sample_categorical(logits, generator=g), repeat)
    multinomial = best_time(
        lambda: torch.multinomial(torch.softmax(logits, -1), 1, generator=g), repeat)
    gumbel = best_time(lambda: (torch.log_softmax(logits, -1) - torch.empty_like(logits)
                                .exponential_(generator=g).log()).argmax(-1), repeat)
    return {"batch": batch, "vocab": vocab,
            "inverse_cdf_tokens_per_s": batch / ours, "multinomial_tokens_per_s": batch / multinomial,
            "gumbel_max_tokens_per_s": batch / gumbel, "speedup_vs_multinomial": multinomial / ours}


def matmul_flops(m: int, k: int, n: int, repeat: int) -> float:
    a, b = torch.randn(m, k), torch.randn(k, n)
    return 2 * m * k * n / best_time(lambda: a @ b, repeat)


def epoch_flops(n_tokens: int, vocab: int, emb: int, hidden: int) -> float:
    """Matmul FLOPs of one teacher-forced epoch: forward, plus 2x forward for backward."""
    per_token = 2 * (emb + hidden) * 4 * hidden + 2 * hidden * vocab  # LSTM gates + output head
    return 3 * per_token * n_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {"machine": platform.processor() or platform.machine(), "threads": args.threads,
              "torch": torch.__version__}
    result["sampling"] = [sampler_throughput(5000, b, 200 if b == 64 else 30) for b in (64, 1024)]

    oracle = OracleLSTM.random(seed=0)
    corpus = oracle.corpus(n_train=10_000, n_valid=1, n_test=1, seed=0)
    policy = RecurrentLM(LMConfig(vocab_size=5000, init_std=0.1))
    agent = BehaviourCloning(policy, lr=0.01, grad_clip=5.0, batch_size=64)
    g = torch.Generator().manual_seed(0)
    epoch_s = best_time(lambda: agent.train_epoch(corpus.train, g), args.epochs, warmup=1)
    flops = epoch_flops(corpus.train.tokens.numel(), 5000, 32, 32)
    peak = matmul_flops(1024, 1024, 1024, 10)
    head = matmul_flops(64 * 20, 32, 5000, 30)  # the epoch's dominant shape: [B*T, H] @ [H, V]
    result["mle_epoch"] = {
        "epoch_s": epoch_s, "epoch_matmul_flop": flops,
        "machine_sgemm_flop_per_s_1024": peak, "machine_flop_per_s_head_shape": head,
        "floor_s_at_sgemm_peak": flops / peak, "floor_s_at_head_shape_rate": flops / head,
        "ratio_to_sgemm_floor": epoch_s / (flops / peak),
        "ratio_to_head_shape_floor": epoch_s / (flops / head)}
    result["provenance"] = provenance(args.threads)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
