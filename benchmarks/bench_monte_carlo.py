"""Monte-Carlo rollout rewards: batched (all prefixes x all rollouts from cached states)
against loops over rollouts and prefixes, measured in one run. SeqGAN's shape: B=64, T=20,
V=5000, N=16. Three loops compute the same estimator:

- ``loop``: textrl's reference (``reference_q_values``), same sampler as the batched
  version, so only the batching differs;
- ``ported_loop``: the loop of the PyTorch SeqGAN port that public code derives from
  (ZiJianZhao/SeqGAN-PyTorch, ``rollout.py`` and ``Generator.sample``): each prefix re-read
  one step at a time with a softmax over V at every step, ``torch.multinomial`` draws, one
  extra step after the last token, and the full sequence scored again in every rollout;
- ``lean_loop``: that loop without its waste (the prefix read in one teacher-forced pass,
  no softmax on prefix steps, no extra step, the full sequence scored once), still sampling
  with ``torch.multinomial``.

    python benchmarks/bench_monte_carlo.py
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from provenance import provenance

from textrl.models import LMConfig, RecurrentLM
from textrl.oracle import OracleLSTM
from textrl.recipes import recipe_config
from textrl.rewards import (
    CNNDiscriminator,
    ConstantReward,
    MonteCarloReward,
    OracleReward,
    reference_q_values,
)


@torch.no_grad()
def ported_loop_q_values(reward, policy: RecurrentLM, tokens: torch.Tensor, lengths: torch.Tensor,
                         n_rollouts: int, generator: torch.Generator) -> torch.Tensor:
    """SeqGAN's Q the way the public PyTorch port computes it (see the module docstring)."""
    batch, length = tokens.shape
    inputs = policy.teacher_inputs(tokens)
    q = torch.zeros(batch, length)
    for _ in range(n_rollouts):
        for t in range(1, length):
            state, completion = policy.initial_state(batch), tokens.clone()
            for k in range(t + 1):  # the start token and the prefix, one step each
                logits, state = policy.step(inputs[:, k], state)
                probs = torch.softmax(logits, -1)
            for k in range(t, length):  # the port steps once more after the last token
                completion[:, k] = torch.multinomial(probs, 1, generator=generator)[:, 0]
                logits, state = policy.step(completion[:, k], state)
                probs = torch.softmax(logits, -1)
            q[:, t - 1] += reward(completion, lengths).float() / n_rollouts
        q[:, -1] += reward(tokens, lengths).float() / n_rollouts
    return q


@torch.no_grad()
def lean_loop_q_values(reward, policy: RecurrentLM, tokens: torch.Tensor, lengths: torch.Tensor,
                       n_rollouts: int, generator: torch.Generator) -> torch.Tensor:
    """The ported loop without its waste, still sampling with ``torch.multinomial``."""
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


def timed(fn) -> tuple[float, torch.Tensor]:
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
    torch.manual_seed(0)  # the discriminator's initial weights
    oracle = OracleLSTM.random(seed=0)
    policy = RecurrentLM(LMConfig(vocab_size=5000, init_std=0.1)).eval()
    tokens = oracle.sample(args.batch, generator=torch.Generator().manual_seed(0))
    lengths = torch.full((args.batch,), oracle.seq_len)
    c = recipe_config("seqgan", "cpu")
    discriminator = CNNDiscriminator(5000, emb_dim=c.d_emb_dim, filter_sizes=tuple(c.d_filter_sizes),
                                     num_filters=tuple(c.d_num_filters), dropout=c.d_dropout,
                                     l2=c.d_l2).eval()
    rewards = [("constant", ConstantReward(1.0)), ("oracle", OracleReward(oracle)),
               ("discriminator (seqgan cpu preset)", discriminator)]
    loops = [("loop", lambda r, g: reference_q_values(r, policy, tokens, lengths, args.rollouts,
                                                      generator=g)),
             ("ported_loop", lambda r, g: ported_loop_q_values(r, policy, tokens, lengths,
                                                               args.rollouts, g)),
             ("lean_loop", lambda r, g: lean_loop_q_values(r, policy, tokens, lengths,
                                                           args.rollouts, g))]
    rows = []
    for name, reward in rewards:
        batched = MonteCarloReward(reward, policy, args.rollouts,
                                   generator=torch.Generator().manual_seed(1))
        batched(tokens, lengths)  # warm-up
        batched.generator.manual_seed(1)
        t_batched, q_batched = timed(lambda r=batched: r(tokens, lengths))
        row = {"reward": name, "batched_s": t_batched}
        for loop_name, loop in loops:
            seconds, q = timed(lambda fn=loop, r=reward: fn(r, torch.Generator().manual_seed(1)))
            row |= {f"{loop_name}_s": seconds, f"speedup_vs_{loop_name}": seconds / t_batched,
                    f"mean_abs_q_difference_{loop_name}": float((q_batched - q).abs().mean())}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"batch": args.batch, "rollouts": args.rollouts, "seq_len": oracle.seq_len,
                      "vocab": 5000, "threads": args.threads, "rows": rows,
                      "provenance": provenance(args.threads)}, indent=2))


if __name__ == "__main__":
    main()
