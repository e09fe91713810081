"""Do two versions of textrl give the same numbers? Runs a fixed set of seeded CPU jobs and
writes everything they logged (minus wall times) and a digest of the final weights to one
JSON file; ``--compare A B`` lists every difference between two such files.

The jobs (the redesign issue's acceptance set):
  mle      `textrl train mle` on the SeqGAN authors' oracle, 3 epochs, evaluated every epoch
  seqgan   `textrl train seqgan` from it, cpu preset, 5 iterations, evaluated every iteration
  rankgan  the same for `textrl train rankgan`
  ppo      textrl's PPO on TextVecEnv (the default task), 2,000 steps
  sb3_ppo  stable-baselines3's PPO on the registered env, 2,048 steps
  maskmle  `textrl train maskmle` on PTB's validation file (windows of 20), 2 epochs, small
  maskgan  `textrl train maskgan` from it, 4 iterations, evaluated every iteration
  vae      `textrl train vae` on PTB's validation file, 2 epochs, word dropout and free bits
  gumbel   `textrl train gumbel-gan` from the mle job, 4 iterations
  ppo_d    `textrl train ppo --reward discriminator` from the mle job, 3 iterations
  a2c_oracle  `textrl train a2c --reward oracle --n-rollouts 0` from the mle job, 3 iterations
  latent   `textrl train vae --autoencoder` on the embedded grammar, then `latent-gan` on it

    python benchmarks/same_numbers.py --out benchmarks/out/tmp/same --label main
    python benchmarks/same_numbers.py --compare A.json B.json

Run it from the checkout being measured (for an older commit: a worktree of it, with
PYTHONPATH set to that worktree too): `python -m textrl.cli` imports the package of the
working folder before PYTHONPATH's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from provenance import provenance
from shared_data import ORACLE, PTB

WALL_TIMES = {"time_s", "d_pretrain_s"}


def digest(tensors) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def cli(*args: str) -> None:
    env = os.environ | {"OMP_NUM_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-m", "textrl.cli", *args, "--quiet"], env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"textrl {' '.join(args)} failed:\n{proc.stderr[-3000:]}")


def run_log(out: Path) -> dict:
    records = [{k: v for k, v in json.loads(line).items() if k not in WALL_TIMES}
               for line in (out / "metrics.jsonl").read_text().splitlines()]
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    weights = state["model"]["state_dict"]
    return {"metrics": records, "weights": digest(weights[k] for k in sorted(weights))}


def native_ppo() -> dict:
    from textrl import LMConfig, RecurrentLM, TextVecEnv
    from textrl.agents import PPO

    torch.manual_seed(0)
    policy = RecurrentLM(LMConfig(vocab_size=5000))
    agent = PPO(policy, lr=1e-3, generator=torch.Generator().manual_seed(1))
    records = agent.learn(TextVecEnv(64), total_steps=2_000,
                          generator=torch.Generator().manual_seed(0))
    return {"records": [{k: v for k, v in r.items() if k not in WALL_TIMES} for r in records],
            "weights": digest(policy.state_dict()[k] for k in sorted(policy.state_dict()))}


def sb3_ppo() -> dict:
    import gymnasium
    from stable_baselines3 import PPO

    import textrl  # noqa: F401  (registers the env)
    from textrl.agents.sb3 import policy_kwargs, use_fast_sampler

    env = gymnasium.make("textrl/TextGeneration-v0")
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, seed=0,
                policy_kwargs=policy_kwargs(), device="cpu")
    use_fast_sampler(model, torch.Generator().manual_seed(0))
    model.learn(2_048)
    params = model.policy.state_dict()
    return {"episode_returns": [round(e["r"], 6) for e in model.ep_info_buffer],
            "weights": digest(params[k] for k in sorted(params))}


def run_all(out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    cli("train", "mle", "--oracle", str(ORACLE), "--epochs", "3", "--eval-every", "1",
        "--seed", "0", "--out", str(out / "mle"))
    results = {"mle": run_log(out / "mle")}
    for recipe in ("seqgan", "rankgan"):
        cli("train", recipe, "--init", str(out / "mle"), "--config", "cpu", "--iterations", "5",
            "--eval-every", "1", "--checkpoint-every", "5", "--seed", "0",
            "--out", str(out / recipe))
        results[recipe] = run_log(out / recipe)
    results["ppo"] = native_ppo()
    results["sb3_ppo"] = sb3_ppo()
    text = ["--data", str(PTB / "ptb.valid.txt"), "--valid", str(PTB / "ptb.test.txt"),
            "--test", str(PTB / "ptb.test.txt"), "--seed", "0"]
    cli("train", "maskmle", *text, "--epochs", "2", "--emb-dim", "32", "--hidden-dim", "32",
        "--out", str(out / "maskmle"))
    cli("train", "maskgan", "--init", str(out / "maskmle"), "--iterations", "4", "--eval-every",
        "1", "--checkpoint-every", "4", "--d-pretrain-steps", "3", "--d-emb-dim", "32",
        "--d-hidden-dim", "32", "--seed", "0", "--out", str(out / "maskgan"))
    cli("train", "vae", *text, "--epochs", "2", "--emb-dim", "64", "--hidden-dim", "64",
        "--latent-dim", "16", "--word-keep", "0.75", "--free-bits", "0.1", "--out",
        str(out / "vae"))
    from_mle = ["--init", str(out / "mle"), "--seed", "0", "--eval-samples", "1000"]
    cli("train", "gumbel-gan", *from_mle, "--iterations", "4", "--eval-every", "2",
        "--checkpoint-every", "4", "--out", str(out / "gumbel"))
    cli("train", "ppo", *from_mle, "--reward", "discriminator", "--iterations", "3",
        "--eval-every", "1", "--checkpoint-every", "3", "--n-rollouts", "4",
        "--d-pretrain-steps", "2", "--d-samples", "1000", "--out", str(out / "ppo_d"))
    cli("train", "a2c", *from_mle, "--reward", "oracle", "--n-rollouts", "0", "--iterations",
        "3", "--eval-every", "1", "--checkpoint-every", "3", "--out", str(out / "a2c_oracle"))
    cli("train", "vae", "--data", "grammar", "--autoencoder", "--kl-anneal", "none", "--epochs",
        "2", "--emb-dim", "32", "--hidden-dim", "32", "--latent-dim", "8", "--seed", "0",
        "--out", str(out / "autoencoder"))
    cli("train", "latent-gan", "--init", str(out / "autoencoder"), "--iterations", "20",
        "--eval-every", "10", "--checkpoint-every", "20", "--blocks", "2", "--seed", "0",
        "--out", str(out / "latent"))
    for job in ("maskmle", "maskgan", "vae", "gumbel", "ppo_d", "a2c_oracle", "autoencoder",
                "latent"):
        results[job] = run_log(out / job)
    return results


def differences(a, b, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(a.keys() | b.keys())
                for d in (differences(a.get(k), b.get(k), f"{path}.{k}") if k in a and k in b
                          else [f"{path}.{k}: only in {'A' if k in a else 'B'}"])]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} entries vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the runs")
    parser.add_argument("--label", help="results go to OUT/LABEL.json")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    args = parser.parse_args()
    if args.compare:
        # Where and when each side ran is not a number the code gives: left out of the diff.
        a, b = ({k: v for k, v in json.loads(p.read_text()).items() if k != "provenance"}
                for p in args.compare)
        diffs = differences(a, b)
        print("\n".join(diffs) if diffs else "identical: every logged number and every weight digest")
        sys.exit(1 if diffs else 0)
    results = run_all(args.out / args.label) | {"provenance": provenance(2)}  # OMP_NUM_THREADS=2
    path = args.out / f"{args.label}.json"
    path.write_text(json.dumps(results, indent=1))
    print(path)


if __name__ == "__main__":
    main()
