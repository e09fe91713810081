"""Monte-Carlo rollout rewards: batched (all prefixes x all rollouts from cached states)
against the loop over rollouts and prefixes that public SeqGAN code uses, measured in one
run. SeqGAN's shape: B=64, T=20, V=5000, N=16. Two loops: ``loop`` is textrl's reference
(same sampler as the batched version, so only the batching differs); ``public_loop`` is
the loop as public code writes it, sampling with ``torch.multinomial`` on softmax
probabilities (the same distribution, a different sampler).

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


@torch.no_grad()
def public_loop_q_values(reward, policy: RecurrentLM, tokens: torch.Tensor, lengths: torch.Tensor,
                         n_rollouts: int, generator: torch.Generator) -> torch.Tensor:
    """SeqGAN's rollout as its public ports write it: for every rollout and every prefix
    length, re-read the prefix, then sample the rest with ``torch.multinomial``."""
    batch, length = tokens.shape
    q = torch.zeros(batch, length)
    for _ in range(n_rollouts):
        for t in range(1, length):
            logits, state = policy(policy.teacher_inputs(tokens)[:, :t + 1])
            logits, completion = logits[:, -1], tokens.clone()
            for k in range(t, length):
                ids = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0]
                completion[:, k] = ids
                logits, state = policy.step(ids, state)
            q[:, t - 1] += reward(completion, lengths).float() / n_rollouts
    q[:, -1] = reward(tokens, lengths).float()
    return q


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
        t_public, q_public = timed(lambda r=reward: public_loop_q_values(
            r, policy, tokens, lengths, args.rollouts, torch.Generator().manual_seed(1)))
        rows.append({"reward": name, "batched_s": t_batched, "loop_s": t_loop,
                     "public_loop_s": t_public, "speedup": t_loop / t_batched,
                     "speedup_vs_public_loop": t_public / t_batched,
                     "mean_abs_q_difference": float((q_batched - q_loop).abs().mean()),
                     "mean_abs_q_difference_public": float((q_batched - q_public).abs().mean())})
    print(json.dumps({"batch": args.batch, "rollouts": args.rollouts, "seq_len": oracle.seq_len,
                      "vocab": 5000, "threads": args.threads, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
