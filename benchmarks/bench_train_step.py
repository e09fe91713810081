"""The teacher-forced training step against its matmul FLOP floor, before and after a change,
at SeqGAN's shape (the authors' oracle: V = 5,000, embedding and hidden 32, batch 64,
length 20) and a PTB shape (V = 10,000, embedding and hidden 256, batch 32, length 35).

One MLE epoch of ``BehaviourCloning`` (Adam, gradient clip 5) per shape and checkout, on
seeded random tokens (the step's cost does not depend on which tokens), timed interleaved
(before, after, before, ...; best of ``--repeats``) with the machine's matmul rate measured
in the same process. The floor is the epoch's matmul FLOPs (forward, plus twice that for
the backward: LSTM gates and output head) at that rate. The older checkout is imported
under another name, so both run in one process.

    git worktree add /tmp/base <commit>
    python benchmarks/bench_train_step.py --before /tmp/base --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch
from bench_generation_speed import import_renamed
from bench_speed import best_time, epoch_flops, matmul_flops
from provenance import provenance

import textrl

SHAPES = {"seqgan": dict(vocab=5000, dim=32, batch=64, length=20, sentences=10_000),
          "ptb": dict(vocab=10_000, dim=256, batch=32, length=35, sentences=3_200)}


def epoch_runner(package, shape: dict):
    """A function running one MLE epoch with ``package`` (a textrl) at ``shape``."""
    torch.manual_seed(0)
    lm = package.models.LMConfig(vocab_size=shape["vocab"], emb_dim=shape["dim"],
                                 hidden_dim=shape["dim"], init_std=0.1)
    policy = package.models.RecurrentLM(lm)
    agent = package.agents.BehaviourCloning(policy, lr=0.01, grad_clip=5.0,
                                            batch_size=shape["batch"])
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(shape["vocab"], (shape["sentences"], shape["length"]), generator=g)
    lengths = torch.full((shape["sentences"],), shape["length"])
    data = package.data.corpus.Split(tokens, lengths)
    return lambda: agent.train_epoch(data, g)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, help="an older textrl checkout to compare with")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the JSON result here too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    packages = {"after": textrl}
    if args.before:
        packages = {"before": import_renamed(args.before)} | packages
    result = {"machine": platform.processor() or platform.machine(), "threads": args.threads,
              "torch": torch.__version__, "before": str(args.before) if args.before else None}
    for name, shape in SHAPES.items():
        runners = {which: epoch_runner(package, shape) for which, package in packages.items()}
        times = {which: [] for which in runners}
        for _ in range(args.repeats):  # interleaved, so drifting load hits both alike
            for which, run in runners.items():
                times[which].append(best_time(run, 1, warmup=0 if times[which] else 1))
        flops = epoch_flops(shape["sentences"] * shape["length"], shape["vocab"], shape["dim"],
                            shape["dim"])
        peak = matmul_flops(1024, 1024, 1024, 10)
        head = matmul_flops(shape["batch"] * shape["length"], shape["dim"], shape["vocab"], 20)
        row = {"shape": shape, "epoch_matmul_flop": flops, "sgemm_flop_per_s": peak,
               "head_shape_flop_per_s": head, "floor_s": flops / peak}
        for which, seconds in times.items():
            epoch = min(seconds)
            row[which] = {"epoch_s": epoch, "over_floor": epoch / (flops / peak),
                          "over_head_shape_floor": epoch / (flops / head)}
        if "before" in row:
            row["after_over_before"] = row["after"]["epoch_s"] / row["before"]["epoch_s"]
        result[name] = row
        print(json.dumps({name: row}), flush=True)
    result["provenance"] = provenance(args.threads)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
