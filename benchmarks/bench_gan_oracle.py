"""Issue 15's oracle table: the GANs without RL against SeqGAN on the SeqGAN authors' oracle.

Per seed, from the 120-epoch MLE start of that seed (MLE_RUNS/mle-seedS, as the RankGAN
authors'-form rows), the CLI commands a user would run:

- `mle`: the start itself, evaluated;
- `constant` and `seqgan-live` (SeqGAN's `cpu` preset with live rollouts, as the authors'
  code ran them);
- `relgan-bB` / `kusner-bB`: the Gumbel-softmax GAN (`cpu` preset, 300 iterations), the hard
  token fed back (RelGAN) or the relaxed vector (Kusner), exponential inverse temperature
  up to B (RelGAN's sweep: 1, 10, 100, 1000); `relgan-jang`: Jang's schedule squeezed into
  the run (tau falls from 1 to its floor 0.5 by the last iteration); `relgan-b1-long`:
  RelGAN's oracle setting (beta_max 1) for 1,000 iterations; `relgan-paper`: that setting
  in full, the `paper` preset (3,000 iterations; run it where `auto` finds a GPU);
- `autoencoder`, then `latent-gan`: an LSTM autoencoder on the 10,000 oracle samples and
  WGAN-GP on its codes (`cpu` preset).

Each is scored by `textrl evaluate --json --seed 0` (10,000 samples): NLL-oracle, NLL-test
(the model's NLL of the 1,000 held-out oracle sequences; a latent GAN has none) and
self-BLEU-4; the table also gives the lowest NLL-oracle the run logged.

    python benchmarks/bench_gan_oracle.py --variants relgan-b1 relgan-b10 --seeds 0
    python benchmarks/bench_gan_oracle.py --summary
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from cli_runs import append_result, evaluate, mean_sd, read_log, recorded, run_parallel, train
from shared_data import ORACLE

BETAS = (1, 10, 100, 1000)
LONG = 1000
# tau = exp(-rate * t) reaches Jang's floor 0.5 at t = 300: rate = ln 2 / 300.
JANG = ["--temperature-schedule", "jang", "--jang-rate", f"{math.log(2) / 300:.6f}",
        "--jang-every", "10", "--tau-min", "0.5"]
FROM_MLE = {
    "constant": ["constant", "--config", "cpu"],
    "seqgan-live": ["seqgan", "--config", "cpu", "--rollout-policy", "live"],
    **{f"relgan-b{b}": ["gumbel-gan", "--beta-max", str(b)] for b in BETAS},
    **{f"kusner-b{b}": ["gumbel-gan", "--mode", "kusner", "--beta-max", str(b)] for b in BETAS},
    "relgan-jang": ["gumbel-gan", *JANG],
    # RelGAN's own horizon is 3,000-5,000 iterations; a third of the shorter, at beta_max 1
    # (its oracle setting, where the schedule is flat, so these are the first 1,000
    # iterations of a 3,000-iteration run).
    "relgan-b1-long": ["gumbel-gan", "--beta-max", "1", "--iterations", str(LONG)],
    # RelGAN's oracle setting in full (the paper preset: 3,000 iterations, 300 maps per
    # width), sized for a GPU (about an hour per seed on this CPU).
    "relgan-paper": ["gumbel-gan", "--config", "paper"],
}
AUTOENCODER = ["vae", "--oracle", str(ORACLE), "--autoencoder", "--emb-dim", "32", "--hidden-dim",
               "64", "--latent-dim", "64", "--epochs", "30", "--kl-anneal", "none",
               "--dropout", "0"]
VARIANTS = ["mle", *FROM_MLE, "autoencoder", "latent-gan"]
ROWS = [*VARIANTS, "latent-gan-greedy"]


def command(variant: str, seed: int, args: argparse.Namespace) -> list[str]:
    start = Path(args.mle_runs) / f"{args.start}-seed{seed}"
    if variant in FROM_MLE:
        recipe, *flags = FROM_MLE[variant]
        return [recipe, "--oracle", str(ORACLE), "--init", str(start), *flags]
    if variant == "autoencoder":
        return AUTOENCODER
    return ["latent-gan", "--init", str(Path(args.out) / f"autoencoder-seed{seed}")]


def run_one(variant: str, seed: int, args: argparse.Namespace) -> None:
    out = Path(args.out)
    name = f"{variant}-seed{seed}"
    if name in recorded(out / "results.jsonl"):
        return
    if variant == "mle":
        run, cmd, wall = Path(args.mle_runs) / f"{args.start}-seed{seed}", [], 0.0
    else:
        run = out / name
        cmd = ["textrl", "train", *command(variant, seed, args), "--seed", str(seed), "--out",
               str(run), "--quiet"]
        cmd, wall, final = train(cmd, run, args.threads)
    # An autoencoder has no prior to sample from: its record is its last evaluation.
    scores = final if variant == "autoencoder" else evaluate(run, args.threads)
    logged = [r["nll_oracle"] for r in read_log(run) if r.get("iteration", 0) > 0
              and "nll_oracle" in r]
    record = {"variant": variant, "seed": seed, "wall_s": wall, "threads": args.threads,
              "command": " ".join(cmd), "best_logged": min(logged) if logged else None}
    append_result(out / "results.jsonl", {"run": name} | record
                  | {k: v for k, v in scores.items() if k != "settings"})
    if variant == "latent-gan":  # LaTextGAN decodes its generated codes greedily: both ways
        scores = evaluate(run, args.threads, ["--temperature", "0"])
        append_result(out / "results.jsonl", {"run": f"{name}-greedy"} | record
                      | {"variant": "latent-gan-greedy"}
                      | {k: v for k, v in scores.items() if k != "settings"})


def run_job(variant: str, seed: int, args: argparse.Namespace) -> None:
    if variant == "latent-gan":
        run_one("autoencoder", seed, args)
    run_one(variant, seed, args)


def summarise(out: Path) -> None:
    rows = list(recorded(out / "results.jsonl").values())
    print("| model | seeds | NLL-oracle, last | per seed | best logged | NLL-test | self-BLEU-4 "
          "| training, min |")
    print("|---|---|---|---|---|---|---|---|")
    for variant in ROWS:
        mine = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["seed"])
        if not mine or variant == "autoencoder":
            continue

        def cell(key: str, scale: float = 1.0, digits: int = 3, mine=mine) -> str:
            values = [scale * r[key] for r in mine if r.get(key)]  # the MLE start: no wall
            return mean_sd(values, digits)

        per_seed = ", ".join(f"{r['nll_oracle']:.3f}" for r in mine)
        print(f"| {variant} | {len(mine)} | {cell('nll_oracle')} | {per_seed} "
              f"| {cell('best_logged')} | {cell('nll_test')} | {cell('self_bleu4')} "
              f"| {cell('wall_s', 1 / 60, 1)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS,
                        default=[v for v in VARIANTS if v != "relgan-paper"],
                        help="default: all but relgan-paper (a GPU's run)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mle-runs", default="benchmarks/out/tmp",
                        help="the MLE starts: DIR/START-seedS")
    parser.add_argument("--start", default="mle",
                        help="the MLE starts' variant (bench_mle_oracle.py's): mle, transformer")
    parser.add_argument("--out", default="benchmarks/out/gan_oracle")
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.summary:
        # A latent GAN's job trains its autoencoder first, so no two workers train one.
        variants = [v for v in args.variants
                    if v != "autoencoder" or "latent-gan" not in args.variants]
        run_parallel([(v, s) for v in variants for s in args.seeds], args.workers,
                     lambda v, s: run_job(v, s, args))
    summarise(Path(args.out))


if __name__ == "__main__":
    main()
