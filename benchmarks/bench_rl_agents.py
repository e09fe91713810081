"""Comparing RL algorithms on text: textrl's PG, A2C and PPO against stable-baselines3's PPO
and A2C and sb3-contrib's RecurrentPPO, on one env and reward (the seeded random oracle's
log-likelihood, V = 5,000, 20 tokens, 64 sentences at a time), each for the same wall-clock
budget, one after another in one process. SB3 runs on the same 64-sentence
``TextVecEnv`` with textrl's encoder and sampler, and also as its docs run it (``-1env``:
``gymnasium.make("textrl/TextGeneration-v0")``, one sentence at a time, SB3's defaults).

Reported per algorithm: env steps (tokens) per second over the whole budget, updates
included; the mean episode reward at the start and the end (the last 128 episodes); and a
curve of mean episode reward against wall time (PNG).

    python benchmarks/bench_rl_agents.py --seconds 120 --threads 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from provenance import provenance

from textrl.agents import PPO, ActorCritic, PolicyGradient
from textrl.agents.sb3 import policy_kwargs, use_fast_sampler
from textrl.envs import TextVecEnv
from textrl.models import LMConfig, RecurrentLM

NUM_ENVS, VOCAB, LENGTH = 64, 5000, 20
# SB3 on the batched env with the native agents' settings: one rollout is one sentence per
# env, same learning rate, no discount, GAE 0.95, gradient clip 5; PPO with the same epochs
# and mini-batch (16 sentences x 20 tokens). SB3 keeps its optimisers (Adam for PPO,
# RMSprop for A2C).
SB3_LIKE_NATIVE = {"n_steps": LENGTH, "learning_rate": 1e-3, "gamma": 1.0, "gae_lambda": 0.95,
                   "max_grad_norm": 5.0}
PPO_LIKE_NATIVE = {"n_epochs": 4, "batch_size": 16 * LENGTH, "clip_range": 0.2}


def run_native(name: str, seconds: float, seed: int) -> dict:
    torch.manual_seed(seed)
    policy = RecurrentLM(LMConfig(vocab_size=VOCAB, emb_dim=32, hidden_dim=32))
    generator = torch.Generator().manual_seed(seed)
    agent = {"pg": lambda: PolicyGradient(policy, lr=1e-3, baseline="moving_average"),
             "a2c": lambda: ActorCritic(policy, lr=1e-3),
             "ppo": lambda: PPO(policy, lr=1e-3, minibatch=16, generator=generator)}[name]()
    env = TextVecEnv(NUM_ENVS)
    start = time.perf_counter()
    curve = []

    def callback(record: dict) -> bool:
        curve.append((time.perf_counter() - start, record["steps"], record["mean_reward"]))
        return time.perf_counter() - start < seconds

    agent.learn(env, total_steps=10**12, generator=generator, callback=callback)
    last = [r for _, _, r in curve[-2:]]  # 2 x 64 episodes
    return {"curve": curve, "final_reward": sum(last) / len(last)}


def run_sb3(name: str, seconds: float, seed: int) -> dict:
    from stable_baselines3 import A2C
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.common.callbacks import BaseCallback

    env = TextVecEnv(NUM_ENVS)
    if name.endswith("-1env"):  # SB3 as its docs run it: one env, SB3's default settings
        import gymnasium

        import textrl

        algo = SB3PPO if name.startswith("sb3-ppo") else A2C
        model = algo("MlpPolicy", gymnasium.make(textrl.ENV_ID), seed=seed,
                     policy_kwargs=policy_kwargs(VOCAB))
    elif name == "sb3-ppo":
        model = SB3PPO("MlpPolicy", env, seed=seed, policy_kwargs=policy_kwargs(VOCAB),
                       **SB3_LIKE_NATIVE, **PPO_LIKE_NATIVE)
    elif name == "sb3-a2c":
        model = A2C("MlpPolicy", env, seed=seed, policy_kwargs=policy_kwargs(VOCAB),
                    **SB3_LIKE_NATIVE)
    else:
        from sb3_contrib import RecurrentPPO

        model = RecurrentPPO("MlpLstmPolicy", env, seed=seed,
                             policy_kwargs=policy_kwargs(VOCAB, last_token=True),
                             **SB3_LIKE_NATIVE, **PPO_LIKE_NATIVE)
    use_fast_sampler(model, torch.Generator().manual_seed(seed))
    curve = []
    start = time.perf_counter()

    class Budget(BaseCallback):
        def _on_step(self) -> bool:
            return time.perf_counter() - start < seconds

        def _on_rollout_end(self) -> None:
            rewards = [e["r"] for e in list(self.model.ep_info_buffer)[-NUM_ENVS:]]
            if rewards:
                curve.append((time.perf_counter() - start, self.model.num_timesteps,
                              sum(rewards) / len(rewards)))

    model.learn(10**12, callback=Budget())
    last = [e["r"] for e in list(model.ep_info_buffer)[-2 * NUM_ENVS:]]
    return {"curve": curve, "final_reward": sum(last) / len(last)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--agents", nargs="+",
                        default=["pg", "a2c", "ppo", "sb3-ppo", "sb3-a2c", "sb3-recurrent-ppo",
                                 "sb3-ppo-1env", "sb3-a2c-1env"])
    parser.add_argument("--out", default="benchmarks/out/rl_agents")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.agents:
        t0 = time.perf_counter()
        result = (run_sb3 if name.startswith("sb3") else run_native)(name, args.seconds, args.seed)
        wall = time.perf_counter() - t0
        steps = result["curve"][-1][1]
        row = {"agent": name, "seconds": wall, "steps": steps, "steps_per_s": steps / wall,
               "start_reward": result["curve"][0][2], "final_reward": result["final_reward"],
               "curve": result["curve"]}
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
    fastest_sb3 = max(r["steps_per_s"] for r in rows if r["agent"].startswith("sb3"))
    slowest_native = min(r["steps_per_s"] for r in rows if not r["agent"].startswith("sb3"))
    summary = {"date": time.strftime("%Y-%m-%d"), "threads": args.threads, "seconds": args.seconds,
               "seed": args.seed, "native_min_over_sb3_max": slowest_native / fastest_sb3,
               "rows": rows, "provenance": provenance(args.threads)}
    (out / "results.json").write_text(json.dumps(summary, indent=1))
    print("| agent | steps | steps/s | reward at start | final reward (last 128 episodes) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['agent']} | {r['steps']} | {r['steps_per_s']:.0f} | {r['start_reward']:.3f} | "
              f"{r['final_reward']:.3f} |")
    print(f"slowest native / fastest SB3 steps/s: {summary['native_min_over_sb3_max']:.1f}x")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for r in rows:
        t, _, reward = zip(*r["curve"], strict=True)
        ax.plot(t, reward, label=r["agent"], linestyle="-" if r["agent"].startswith("sb3") else "--")
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("mean episode reward (oracle log-likelihood per token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "reward_vs_time.png", dpi=90)


if __name__ == "__main__":
    main()
