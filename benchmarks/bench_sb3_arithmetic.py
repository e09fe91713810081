"""stable-baselines3's PPO on the arithmetic task, beside textrl's agents (bench_arithmetic.py):
the same MLE start, the same budget of sampled completions, the same greedy accuracy.

SB3 trains on ``PromptedVecEnv`` (a prompt drawn from the training problems, one digit an
action, ``AnswerReward`` at the end) through textrl's adapter: the features extractor is the
``--init`` run's policy (``PolicyEncoder``) and SB3's action head *is* that policy's output
layer, so PPO starts from the MLE policy's own next-token distribution (``ortho_init`` off:
SB3's orthogonal init would overwrite the pretrained weights) and the policy it trains is a
textrl policy that ``ArithmeticTask.accuracy`` scores directly. The value head is SB3's
(``vf: [64]`` on the shared features).

One iteration is one SB3 rollout (``--num-envs`` x ``--n-steps`` tokens) and its update;
``completions`` counts the episodes those rollouts finished, so the run stops at the first
iteration that reaches ``--completions`` (it may pass it by less than one rollout).
Greedy accuracy on the 500 held-out test problems (``accuracy``) and on the validation
problems (``accuracy_valid``) is measured at the start, whenever another ``--eval-every``
completions have been sampled, and at the end.

    python benchmarks/bench_sb3_arithmetic.py --init benchmarks/out/arithmetic/mle-recurrent-seed0 \
        --seed 0 --completions 19200 --eval-every 1600 --out benchmarks/out/sb3_arithmetic

writes OUT/RUN/config.yaml (these settings) and OUT/RUN/metrics.jsonl (one record an
iteration: ``iteration``, ``completions``, ``reward`` (the mean return of the episodes it
finished), ``time_s``, and ``accuracy``/``accuracy_valid`` where evaluated), so
``textrl compare OUT/RUN ... --curves accuracy reward`` draws it beside textrl's runs, and
appends one JSON line (with provenance) to OUT/results.jsonl. RUN defaults to
``sb3-ppo-<init folder's name>-seed<seed>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from cli_runs import append_result
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from textrl.agents.sb3 import policy_kwargs, use_fast_sampler
from textrl.envs import PromptedVecEnv
from textrl.models import family_of
from textrl.models.base import Policy
from textrl.rewards.answer import AnswerReward
from textrl.tasks.arithmetic import ArithmeticConfig, ArithmeticTask
from textrl.training import load_run


class Episodes(BaseCallback):
    """Collects the return of every episode SB3's rollouts finish (``returns``)."""

    def __init__(self) -> None:
        super().__init__()
        self.returns: list[float] = []

    def _on_step(self) -> bool:
        self.returns += [info["episode"]["r"] for info in self.locals["infos"] if "episode" in info]
        return True


def accuracies(task: ArithmeticTask, policy: Policy) -> dict[str, float]:
    """Greedy accuracy on the held-out test problems and on the validation problems."""
    return {"accuracy": task.accuracy(policy, task.held_out),
            "accuracy_valid": task.accuracy(policy, task.valid)}


def build_model(args: argparse.Namespace, task: ArithmeticTask, policy: Policy) -> PPO:
    """SB3's PPO whose features extractor and action head are ``policy``'s own layers."""
    if not isinstance(getattr(policy, "head", None), torch.nn.Linear):
        raise SystemExit(f"--init {args.init}: a {type(policy).__name__} has no linear output "
                         "layer `head` for SB3's action head (use a recurrent or transformer run)")
    env = PromptedVecEnv(args.num_envs, task, AnswerReward(), seed=args.seed)
    kwargs = policy_kwargs(policy=policy)  # ortho_init off: the MLE weights are kept
    model = PPO("MlpPolicy", env, n_steps=args.n_steps, batch_size=args.batch_size,
                n_epochs=args.n_epochs, learning_rate=args.lr, gamma=args.gamma,
                gae_lambda=args.gae_lambda, clip_range=args.clip_range, ent_coef=args.ent_coef,
                vf_coef=args.vf_coef, max_grad_norm=args.max_grad_norm, seed=args.seed,
                device=args.device, policy_kwargs=kwargs)
    sb3 = model.policy
    sb3.action_net = policy.head  # logits = the MLE policy's own: PPO starts from it
    sb3.optimizer = sb3.optimizer_class(sb3.parameters(), lr=model.lr_schedule(1.0),
                                        **sb3.optimizer_kwargs)
    return use_fast_sampler(model, torch.Generator(device=model.device).manual_seed(args.seed))


def train(args: argparse.Namespace, run: Path) -> dict[str, Any]:
    """Train and log into ``run``; returns the results line."""
    loaded = load_run(args.init, best=args.init_checkpoint == "best", device=args.device)
    if loaded.kind != "mle":
        raise SystemExit(f"--init {args.init}: a {loaded.kind} run; give an MLE run of the "
                         "arithmetic task (`textrl train mle --task arithmetic --data arithmetic`)")
    task = ArithmeticTask(ArithmeticConfig(group_size=1), loaded.corpus, loaded.data)
    torch.manual_seed(args.seed)
    model = build_model(args, task, loaded.model)
    episodes = Episodes()
    log = (run / "metrics.jsonl").open("w")
    records = []

    def write(record: dict[str, Any]) -> None:
        records.append(record)
        log.write(json.dumps(record) + "\n")
        log.flush()

    start = time.perf_counter()
    write({"iteration": 0, "completions": 0} | accuracies(task, loaded.model))
    rollout = args.num_envs * args.n_steps
    iteration, completions, next_eval = 0, 0, args.eval_every
    while completions < args.completions:
        t0, seen = time.perf_counter(), len(episodes.returns)
        model.learn(rollout, callback=episodes, reset_num_timesteps=False)
        iteration += 1
        new = episodes.returns[seen:]
        completions += len(new)
        record: dict[str, Any] = {"iteration": iteration, "completions": completions,
                                  "time_s": time.perf_counter() - t0}
        if new:
            record["reward"] = statistics.mean(new)
        if completions >= next_eval or completions >= args.completions:
            record |= accuracies(task, loaded.model)
            while next_eval <= completions:
                next_eval += args.eval_every
        write(record)
    log.close()
    evaluated = [r for r in records if "accuracy" in r]
    steps = [r for r in records if r["iteration"] > 0 and "reward" in r]
    tail = steps[-max(len(steps) // 10, 1):]
    return {"run": run.name, "kind": "sb3", "agent": "sb3-ppo", "policy": _family(loaded.model),
            "seed": args.seed, "lr": args.lr, "init": str(Path(args.init).resolve()),
            "iterations": iteration, "completions": completions,
            "wall_s": time.perf_counter() - start, "threads": args.threads,
            "start_accuracy": evaluated[0]["accuracy"],
            "start_accuracy_valid": evaluated[0]["accuracy_valid"],
            "accuracy": evaluated[-1]["accuracy"], "accuracy_valid": evaluated[-1]["accuracy_valid"],
            "accuracy_valid_last3": statistics.mean(r["accuracy_valid"] for r in evaluated[-3:]),
            "reward_last10pct": statistics.mean(r["reward"] for r in tail) if tail else None,
            "update_s": statistics.mean(r["time_s"] for r in steps) if steps else None}


def _family(policy: Policy) -> str:
    return family_of(policy) or type(policy).__name__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--init", required=True, help="the MLE run folder PPO starts from")
    parser.add_argument("--init-checkpoint", default="last", choices=["last", "best"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--completions", type=int, default=19_200,
                        help="the budget: episodes sampled for updates (bench_arithmetic.py: "
                             "300 iterations x 64)")
    parser.add_argument("--eval-every", type=int, default=1_600,
                        help="completions between evaluations (bench_arithmetic.py: 25 x 64)")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--n-steps", type=int, default=4,
                        help="tokens per env per rollout (a completion is 2-4 tokens + EOS)")
    parser.add_argument("--batch-size", type=int, default=64, help="PPO minibatch, in tokens")
    parser.add_argument("--n-epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--gae-lambda", type=float, default=0.95)
    parser.add_argument("--clip-range", type=float, default=0.2)
    parser.add_argument("--ent-coef", type=float, default=0.0)
    parser.add_argument("--vf-coef", type=float, default=0.5)
    parser.add_argument("--max-grad-norm", type=float, default=0.5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/sb3_arithmetic")
    parser.add_argument("--run", help="the run folder's name under --out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    run = out / (args.run or f"sb3-ppo-{Path(args.init).resolve().name}-seed{args.seed}")
    run.mkdir(parents=True, exist_ok=True)
    settings = {"algorithm": "sb3-ppo", "task": "arithmetic", "reward": "answer"} | {
        k: v for k, v in vars(args).items() if k not in ("out", "run")}
    settings["init"] = str(Path(args.init).resolve())  # compare groups seeds by its settings
    (run / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    record = train(args, run)
    append_result(out / "results.jsonl", record | {"settings": settings})


if __name__ == "__main__":
    main()
