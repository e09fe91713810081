"""The cost of one optimisation pass (mu = 1) of each agent on one rollout, against what it
cannot do without: one MLE forward-backward-step of the same tokens plus one forward of the
reference policy (issue 27's goal: <= 1.3x). Every agent carries a ReferenceKL (coef 0.1,
its own place), so its KL work is counted.

The shape is the SeqGAN oracle's (V = 5000, T = 20, LSTM 32/32, batch 64 in 8 groups of 8).
Each measurement is the median of --repeats timed calls, the agents and the baseline
interleaved in every round, in a new seeded order each round, so that load on the machine
hits them alike and no call always runs after the same other one; the ratios are taken
within the run.

    python benchmarks/bench_agent_speed.py --threads 1 --out benchmarks/out/agent_speed.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import torch
from provenance import provenance

from textrl.agents import (
    GRPO,
    PPO,
    RLOO,
    ActorCritic,
    BehaviourCloning,
    PolicyGradient,
    ReferenceKL,
    ReinforcePP,
    Rollout,
)
from textrl.models import LMConfig, RecurrentLM


def rollout(vocab: int, batch: int, length: int, group: int) -> Rollout:
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(1, vocab, (batch, length), generator=g)
    lengths = torch.randint(length // 2, length + 1, (batch,), generator=g)
    rewards = torch.zeros(batch, length)
    rewards[torch.arange(batch), lengths - 1] = torch.rand(batch, generator=g)
    return Rollout(tokens, lengths, torch.zeros(batch, length), rewards,
                   group=torch.arange(batch) // group)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--vocab", type=int, default=5000)
    parser.add_argument("--out", default="benchmarks/out/agent_speed.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=args.vocab, emb_dim=32, hidden_dim=32))
    batch = rollout(args.vocab, 64, 20, 8)
    reference = ReferenceKL(policy, 0.1, "reward").reference
    mle = BehaviourCloning(policy, lr=1e-6)

    def baseline() -> None:  # one MLE step on the tokens and one reference forward
        mle.update(batch.tokens, batch.lengths)
        with torch.no_grad():
            reference.log_prob(batch.tokens, batch.lengths)

    def kl(place: str) -> ReferenceKL:
        return ReferenceKL(policy, 0.1, place)

    agents = {
        "reinforce": PolicyGradient(policy, lr=1e-6, baseline="moving_average", kl=kl("reward")),
        "a2c": ActorCritic(policy, lr=1e-6, kl=kl("reward")),
        "ppo (1 epoch, 1 mini-batch)": PPO(policy, lr=1e-6, epochs=1, minibatch=64,
                                           kl=kl("reward")),
        "grpo": GRPO(policy, lr=1e-6, loss_type="grpo", kl=kl("loss")),
        "grpo (dapo)": GRPO(policy, lr=1e-6, kl=kl("loss")),
        "rloo": RLOO(policy, lr=1e-6, kl=kl("reward")),
        "reinforce++": ReinforcePP(policy, lr=1e-6, kl=kl("reward")),
        "reinforce++-baseline": ReinforcePP(policy, lr=1e-6, group_baseline=True,
                                            kl=kl("reward")),
    }
    calls = {"baseline": baseline} | {name: (lambda a=a: a.update(batch))
                                      for name, a in agents.items()}
    for call in calls.values():  # warm up
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    shuffle = random.Random(0).shuffle
    for _ in range(args.repeats):
        order = list(calls)
        shuffle(order)  # no call always follows the same one (caches, the allocator)
        for name in order:
            t0 = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - t0)
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {"threads": args.threads, "repeats": args.repeats, "shape": {
        "vocab": args.vocab, "batch": 64, "length": 20, "group": 8, "emb": 32, "hidden": 32},
        "median_s": medians,
        "over_baseline": {name: medians[name] / medians["baseline"] for name in agents},
        "provenance": provenance(args.threads)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    for name, ratio in result["over_baseline"].items():
        print(f"{name:30s} {medians[name] * 1000:7.1f} ms  {ratio:.2f}x")
    print(f"{'baseline (MLE step + ref fwd)':30s} {medians['baseline'] * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
