"""Is the generation loop slower than an older textrl's? Times both in one process,
interleaved, at SeqGAN's shape: Monte-Carlo Q values (batch 64, 16 rollouts, length 20,
V = 5,000, oracle reward) and sampling 10,000 sentences; best of ``--repeats`` each, and the
ratio after / before. The older checkout is imported under another name (a copy with its
imports renamed), so both run on the same weights and the same machine state; their Q
values are checked to be identical first.

    git worktree add /tmp/base COMMIT
    python benchmarks/bench_generation_speed.py --before /tmp/base --repeats 8
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from provenance import provenance

import textrl


def import_renamed(checkout: Path, name: str = "textrl_before"):
    """The ``textrl`` package of ``checkout``, copied and imported as ``name``."""
    target = Path(tempfile.mkdtemp()) / name
    shutil.copytree(checkout / "textrl", target)
    for path in target.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\btextrl(?=[.\s])", name, text))
    sys.path.insert(0, str(target.parent))
    return importlib.import_module(name)


def timings(repeats: int, *jobs) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name, _ in jobs}
    for _ in range(repeats):
        for name, job in jobs:
            t0 = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - t0)
    return {name: min(values) for name, values in times.items()}


def build(package, generator_in_constructor: bool, generator: torch.Generator):
    torch.manual_seed(0)
    oracle = package.oracle.OracleLSTM.random(seed=0)
    policy = package.models.RecurrentLM(package.models.LMConfig(vocab_size=5000, init_std=0.1)).eval()
    reward = package.rewards.OracleReward(oracle)
    tokens = oracle.sample(64, generator=torch.Generator().manual_seed(0))
    lengths = torch.full((64,), oracle.seq_len)
    if generator_in_constructor:
        mc = package.rewards.MonteCarloReward(reward, policy, 16, generator=generator)
        q_values = lambda: mc(tokens, lengths)  # noqa: E731
    else:
        mc = package.rewards.MonteCarloReward(reward, policy, 16)
        q_values = lambda: mc(tokens, lengths, generator)  # noqa: E731
    return q_values, lambda: policy.sample(10_000, 20, generator=generator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="an older textrl checkout")
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    before = import_renamed(args.before)
    old_api = "generator" not in before.rewards.MonteCarloReward.__init__.__code__.co_varnames
    q_before, sample_before = build(before, not old_api, torch.Generator().manual_seed(1))
    q_after, sample_after = build(textrl, True, torch.Generator().manual_seed(1))
    if not torch.equal(q_before(), q_after()):
        raise SystemExit("the two versions' Q values differ; compare like with like")
    best = timings(args.repeats, ("mc_before_s", q_before), ("mc_after_s", q_after),
                   ("sample_before_s", sample_before), ("sample_after_s", sample_after))
    print(json.dumps({"before": str(args.before), "threads": args.threads,
                      "repeats": args.repeats} | {k: round(v, 3) for k, v in best.items()} | {
        "mc_after_over_before": round(best["mc_after_s"] / best["mc_before_s"], 3),
        "sample_after_over_before": round(best["sample_after_s"] / best["sample_before_s"], 3),
        "provenance": provenance(args.threads)}))


if __name__ == "__main__":
    main()
