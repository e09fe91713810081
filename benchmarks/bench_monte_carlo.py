"""Monte-Carlo rollout rewards: batched (all prefixes x all rollouts from cached states)
against the loop over rollouts and prefixes that public SeqGAN code uses. Same estimator,
same sampler, same reward, measured in one run. SeqGAN's shape: B=64, T=20, V=5000, N=16.

    python benchmarks/bench_monte_carlo.py
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from textrl.models import LMConfig, RecurrentLM
from textrl.oracle import OracleLSTM
from textrl.rewards import ConstantReward, MonteCarloReward, OracleReward, reference_q_values


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rollouts", type=int, default=16)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    oracle = OracleLSTM.random(seed=0)
    policy = RecurrentLM(LMConfig(vocab_size=5000, init_std=0.1)).eval()
    tokens = oracle.sample(args.batch, generator=torch.Generator().manual_seed(0))
    lengths = torch.full((args.batch,), oracle.seq_len)
    rows = []
    for name, reward in [("constant", ConstantReward(1.0)), ("oracle", OracleReward(oracle))]:
        batched = MonteCarloReward(reward, policy, args.rollouts)
        batched(tokens, lengths, torch.Generator().manual_seed(1))  # warm-up
        t_batched, q_batched = timed(lambda r=batched: r(tokens, lengths,
                                                        torch.Generator().manual_seed(1)))
        t_loop, q_loop = timed(lambda r=reward: reference_q_values(
            r, policy, tokens, lengths, args.rollouts, generator=torch.Generator().manual_seed(1)))
        rows.append({"reward": name, "batched_s": t_batched, "loop_s": t_loop,
                     "speedup": t_loop / t_batched,
                     "mean_abs_q_difference": float((q_batched - q_loop).abs().mean())})
    print(json.dumps({"batch": args.batch, "rollouts": args.rollouts, "seq_len": oracle.seq_len,
                      "vocab": 5000, "threads": args.threads, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
