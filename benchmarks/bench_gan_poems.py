"""Issue 15's text table: MLE, SeqGAN and the two GANs without RL on the Chinese quatrains,
scored by BLEU-2..5, self-BLEU, forward and reverse perplexity.

The data, tokens and MLE are SeqGAN Table 2's (benchmarks/bench_poems.py: characters, the
seeded 80/10/10 split, 64/128 with dropout 0.25, 12 epochs, best validation weights). Per
seed, the CLI commands a user would run:

- `mle`, then from its best weights `seqgan` (the `cpu` preset, 50 iterations, as Table 2)
  and the Gumbel-softmax GAN (`cpu` preset, beta_max 100 as RelGAN on text) with the hard
  token fed back (`gumbel-relgan`) or the relaxed vector (`gumbel-kusner`);
- `autoencoder` (`vae --autoencoder`, the MLE's size, a 64-dimensional code), then
  `latent-gan` (WGAN-GP on its codes, `cpu` preset);

plus one `scorer` MLE of seed 1000 that scores every model's samples (forward perplexity).
Each model: `textrl evaluate --json --seed 0 --samples N --reverse-ppl N --scorer SCORER`
(MLE at its best checkpoint).

    python benchmarks/bench_gan_poems.py --seeds 0 1 2 --workers 2
    python benchmarks/bench_gan_poems.py --summary
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli_runs import append_result, evaluate, mean_sd, recorded, run_parallel, train_stage
from shared_data import POEMS

DATA = ["--data", str(POEMS), "--tokenizer", "char", "--max-len", "26"]
MLE = ["mle", *DATA, "--emb-dim", "64", "--hidden-dim", "128", "--dropout", "0.25",
       "--epochs", "12", "--eval-every", "1"]
FROM_MLE = {"seqgan": ["seqgan", "--config", "cpu", "--iterations", "50"],
            "gumbel-relgan": ["gumbel-gan", "--beta-max", "100"],
            "gumbel-kusner": ["gumbel-gan", "--beta-max", "100", "--mode", "kusner"]}
AUTOENCODER = ["vae", *DATA, "--autoencoder", "--emb-dim", "64", "--hidden-dim", "128",
               "--latent-dim", "64", "--dropout", "0", "--kl-anneal", "none", "--epochs", "12"]
MODELS = ["mle", *FROM_MLE, "latent-gan"]
REPORTED = ("bleu2", "bleu3", "bleu4", "bleu5", "self_bleu4", "scorer_ppl", "reverse_ppl")


def pipeline(seed: int, args: argparse.Namespace) -> None:
    out = Path(args.out)
    seeded = ["--seed", str(seed)]
    train_stage(out, f"mle-seed{seed}", ["textrl", "train", *MLE, *seeded], args.threads)
    start = ["--init", str(out / f"mle-seed{seed}"), "--init-checkpoint", "best"]
    for model, flags in FROM_MLE.items():
        train_stage(out, f"{model}-seed{seed}", ["textrl", "train", *flags, *start, *seeded],
                    args.threads)
    train_stage(out, f"autoencoder-seed{seed}", ["textrl", "train", *AUTOENCODER, *seeded],
                args.threads)
    train_stage(out, f"latent-gan-seed{seed}", [
        "textrl", "train", "latent-gan", "--init", str(out / f"autoencoder-seed{seed}"),
        *seeded], args.threads)
    scoring = ["--samples", str(args.samples), "--reverse-ppl", str(args.samples), "--scorer",
               str(out / "scorer")]
    for model in MODELS:
        name = f"{model}-seed{seed}-scores"
        if name in recorded(out / "results.jsonl"):
            continue
        best = ["--checkpoint", "best"] if model == "mle" else []
        scores = evaluate(out / f"{model}-seed{seed}", args.threads, [*scoring, *best])
        append_result(out / "results.jsonl", {"run": name, "model": model, "seed": seed,
                                              "threads": args.threads}
                      | {k: v for k, v in scores.items() if k != "settings"})


def summarise(out: Path) -> None:
    records = recorded(out / "results.jsonl")
    print("| model | seeds | " + " | ".join(REPORTED) + " | training, min (per seed) |")
    print("|---|---|" + "---|" * len(REPORTED) + "---|")
    for model in MODELS:
        rows = sorted((r for r in records.values() if r.get("model") == model
                       and "bleu2" in r), key=lambda r: r["seed"])
        if not rows:
            continue
        cells = [mean_sd([r[key] for r in rows]) for key in REPORTED]
        stages = [model] if model != "latent-gan" else ["autoencoder", model]
        minutes = [sum(records[f"{s}-seed{r['seed']}"]["wall_s"] for s in stages) / 60
                   for r in rows]
        print(f"| {model} | {len(rows)} | {' | '.join(cells)} | "
              f"{', '.join(f'{m:.1f}' for m in minutes)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samples", type=int, default=2000,
                        help="samples scored per model, and the reverse LM's training set")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/gan_poems")
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    out = Path(args.out)
    if not args.summary:
        if not POEMS.exists():
            sys.exit(f"needs the quatrains at {POEMS}")
        out.mkdir(parents=True, exist_ok=True)
        train_stage(out, "scorer", ["textrl", "train", *MLE, "--seed", "1000"], args.threads)
        run_parallel([(s,) for s in args.seeds], args.workers, lambda s: pipeline(s, args))
    summarise(out)


if __name__ == "__main__":
    main()
