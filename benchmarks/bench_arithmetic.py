"""RL algorithms on the verifiable arithmetic task (issue 27): every agent from the same MLE
start, the same budget of sampled completions, 3 seeds, the LSTM and the native Transformer.

1. The starts: `textrl train mle --task arithmetic --data arithmetic --n-train 2000` per seed
   and policy (greedy accuracy on the 500 held-out problems 10-40%): the LSTM 40 epochs, the
   Transformer until its validation accuracy first reaches 15% (`start_run`).
2. Each agent: `textrl train AGENT --task arithmetic --init START --iterations I
   --batch-size 64 ...`: I x 64 completions sampled for updates, whatever the agent does
   with them (PPO's epochs reuse them).
3. `--tune`: each agent's learning rate from LRS on seed 0 (LSTM), picked by the mean
   `accuracy_valid` of its last three evaluations (the validation problems, never the test
   ones); written to OUT/tuned.json and read by the main runs.

    python benchmarks/bench_arithmetic.py --tune --out benchmarks/out/arithmetic
    python benchmarks/bench_arithmetic.py --seeds 0 1 2 --policies recurrent transformer \
        --out benchmarks/out/arithmetic
    python benchmarks/bench_arithmetic.py --summary --out benchmarks/out/arithmetic

Every finished run appends one JSON line to OUT/results.jsonl (with provenance); a finished
run is not rerun; an interrupted one resumes.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from cli_runs import append_result, mean_sd, read_log, recorded, run_parallel, train

COMMON = ["--task", "arithmetic", "--batch-size", "64", "--eval-every", "25",
          "--checkpoint-every", "50"]
# agent -> (recipe, its flags): the rows of the table
AGENTS = {
    "reinforce": ("pg", ["--n-rollouts", "0", "--baseline", "moving_average"]),
    "a2c": ("a2c", ["--n-rollouts", "0"]),
    "ppo": ("ppo", ["--n-rollouts", "0"]),
    "grpo": ("grpo", ["--loss-type", "grpo"]),
    "grpo-dapo": ("grpo", ["--loss-type", "dapo"]),
    "dr-grpo": ("grpo", ["--loss-type", "dr_grpo", "--scale-rewards", "none"]),
    "rloo": ("rloo", []),
    "reinforce++": ("reinforce-pp", []),
    "reinforce++-baseline": ("reinforce-pp", ["--group-baseline"]),
}
LRS = ["3e-5", "1e-4", "3e-4", "1e-3", "3e-3"]
START = ["--data", "arithmetic", "--n-train", "2000", "--eval-every", "1"]
# 0.10 (the first rule) left two of three seeds' test accuracy under 10% (0.072, 0.084, from
# validation 0.108 and 0.102): the two held-out sets of 500 differ by a few points, so the
# stop sits higher in the 10-40% band.
TRANSFORMER_STOP = 0.15


def start_run(out: Path, policy: str, seed: int, threads: int) -> Path:
    """The MLE start: the LSTM 40 epochs; the Transformer, whose validation accuracy climbs
    at a seed-dependent pace (0.046 to 0.182 in one epoch for seed 1, 0.050 to 0.108 over
    four for seed 0), one epoch at a time until its validation accuracy first reaches
    TRANSFORMER_STOP (no run reads the test problems to decide; the threshold itself was
    raised from 0.10 after the first rule's starts scored under 10% on them)."""
    name = f"mle-{policy}-seed{seed}"
    if name in recorded(out / "results.jsonl"):
        return out / name
    base = ["textrl", "train", "mle", "--task", "arithmetic", "--policy", policy, *START,
            "--seed", str(seed), "--out", str(out / name), "--quiet"]
    wall = 0.0
    for epochs in ([40] if policy == "recurrent" else range(1, 41)):
        cmd, seconds, final = train([*base, "--epochs", str(epochs)], out / name, threads)
        wall += seconds
        if policy != "recurrent" and final["accuracy_valid"] >= TRANSFORMER_STOP:
            break
    append_result(out / "results.jsonl", {"run": name, "kind": "start", "policy": policy,
                                          "seed": seed, "epochs": final["epoch"], "wall_s": wall,
                                          "threads": threads, "command": " ".join(cmd),
                                          "accuracy": final["accuracy"],
                                          "accuracy_valid": final["accuracy_valid"]})
    return out / name


def rl_run(out: Path, agent: str, policy: str, seed: int, lr: str, iterations: int,
           threads: int, kind: str = "run") -> None:
    name = f"{agent}-{policy}-seed{seed}" + (f"-lr{lr}" if kind == "tune" else "")
    if name in recorded(out / "results.jsonl"):
        return
    recipe, flags = AGENTS[agent]
    cmd = ["textrl", "train", recipe, *COMMON, *flags, "--init",
           str(out / f"mle-{policy}-seed{seed}"), "--iterations", str(iterations), "--lr", lr,
           "--seed", str(seed), "--out", str(out / name), "--quiet"]
    cmd, wall, final = train(cmd, out / name, threads)
    log = read_log(out / name)
    evaluated = [r for r in log if "accuracy" in r]
    steps = [r for r in log if r["iteration"] > 0]
    tail = steps[-max(len(steps) // 10, 1):]
    append_result(out / "results.jsonl", {
        "run": name, "kind": kind, "agent": agent, "policy": policy, "seed": seed, "lr": lr,
        "iterations": iterations, "completions": steps[-1]["completions"], "wall_s": wall,
        "threads": threads, "command": " ".join(cmd),
        "start_accuracy": evaluated[0]["accuracy"], "accuracy": final["accuracy"],
        "accuracy_valid": final["accuracy_valid"],
        "accuracy_valid_last3": statistics.mean(r["accuracy_valid"] for r in evaluated[-3:]),
        "reward_last10pct": statistics.mean(r["reward"] for r in tail),
        "kl": final.get("kl"), "update_s": statistics.mean(r["time_s"] for r in steps
                                                           if "accuracy" not in r)})


def tune(out: Path, args: argparse.Namespace) -> None:
    start_run(out, "recurrent", 0, args.threads)
    jobs = [(out, agent, "recurrent", 0, lr, args.iterations, args.threads, "tune")
            for agent in args.agents for lr in LRS]
    run_parallel(jobs, args.workers, rl_run)
    records = [r for r in recorded(out / "results.jsonl").values() if r.get("kind") == "tune"]
    best = {}
    for agent in args.agents:
        scored = [(r["accuracy_valid_last3"], r["lr"]) for r in records if r["agent"] == agent]
        best[agent] = max(scored)[1]
    (out / "tuned.json").write_text(json.dumps(best, indent=1) + "\n")
    print(json.dumps(best))


def summarise(out: Path) -> None:
    records = [r for r in recorded(out / "results.jsonl").values() if r.get("kind") == "run"]
    starts = {(r["policy"], r["seed"]): r for r in recorded(out / "results.jsonl").values()
              if r.get("kind") == "start"}
    print("| agent | policy | lr | runs | accuracy (test, greedy) | start | accuracy_valid | "
          "reward (last 10%) | KL to start | completions | min per run |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for policy in ("recurrent", "transformer"):
        for agent in AGENTS:
            rows = sorted((r for r in records if r["agent"] == agent and r["policy"] == policy),
                          key=lambda r: r["seed"])
            if not rows:
                continue
            start = [starts[(policy, r["seed"])]["accuracy"] for r in rows]
            print(f"| {agent} | {policy} | {rows[0]['lr']} | {len(rows)} "
                  f"| {mean_sd([r['accuracy'] for r in rows])} | {mean_sd(start)} "
                  f"| {mean_sd([r['accuracy_valid'] for r in rows])} "
                  f"| {mean_sd([r['reward_last10pct'] for r in rows])} "
                  f"| {mean_sd([r['kl'] for r in rows if r['kl'] is not None], 2)} "
                  f"| {rows[0]['completions']} "
                  f"| {mean_sd([r['wall_s'] / 60 for r in rows], 1)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=list(AGENTS))
    parser.add_argument("--policies", nargs="+", default=["recurrent"],
                        choices=["recurrent", "transformer"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=300,
                        help="updates per run; x 64 completions is the budget")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/arithmetic")
    parser.add_argument("--tune", action="store_true", help="pick each agent's lr on seed 0")
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.summary:
        summarise(out)
        return
    if args.tune:
        tune(out, args)
        return
    tuned = json.loads((out / "tuned.json").read_text())
    run_parallel([(out, policy, seed, args.threads) for policy in args.policies
                  for seed in args.seeds], args.workers, start_run)
    jobs = [(out, agent, policy, seed, tuned[agent], args.iterations, args.threads)
            for policy in args.policies for agent in args.agents for seed in args.seeds]
    run_parallel(jobs, args.workers, rl_run)
    summarise(out)


if __name__ == "__main__":
    main()
