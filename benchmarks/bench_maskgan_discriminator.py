"""MaskGAN's discriminator trained alone (issue 28): is its 0.52-0.56 accuracy in the `cpu`
runs a budget or a defect?

From a trained MaskMLE run, the generator is frozen and only the discriminator trains, on the
`cpu` preset's d-steps (64 real windows and their 64 fills from the same contiguous
templates a step, the loss on the blanks only), for ROUNDS steps. Every EVERY steps its
accuracy is measured on a fixed held-out set (1,024 validation windows and their fills, drawn
once with seed 1234), real and fake blanks apart. An arm is WIDTH and INIT:

- random-128: the `cpu` preset as it runs (a fresh 1 x 128 discriminator);
- generator-128: started from the MaskMLE generator's weights, as the authors' code starts it
  (`--d-init generator`);
- random-256: twice the width, fresh (the issue's "twice the width").

    python benchmarks/bench_maskgan_discriminator.py --runs benchmarks/out/maskgan_gaps \
        --seeds 0 1 --arms random-128 generator-128 --rounds 650

650 steps is what a `cpu` MaskGAN run gives its discriminator (50 pretraining steps, 2 per
iteration for 300 iterations). Each arm appends its curve to RUNS/discriminator.jsonl.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from cli_runs import append_result, recorded

from textrl.models.modes import eval_mode
from textrl.recipes import build_trainer, recipe_config
from textrl.rewards.token_discriminator import missing
from textrl.training.adversarial import RealSentences


def held_out(trainer, n: int = 1024) -> tuple:
    """``n`` validation windows, their templates and the frozen generator's fills."""
    g = torch.Generator().manual_seed(1234)
    valid = RealSentences(trainer.corpus.valid, None, g)

    def fill(k, context):
        with eval_mode(trainer.policy):
            sample = trainer.task.generate(trainer.policy, k, trainer.max_len, context, 1.0, g)
        return sample.tokens, sample.lengths

    return trainer.task.pairs(n, valid, fill, g)


@torch.no_grad()
def accuracy(reward, real, fake, context) -> dict[str, float]:
    """Accuracy on the blanks of the real and of the fake rows, and their mean."""
    out = {}
    with eval_mode(reward):
        for name, (tokens, lengths), label in (("real", real, 1.0), ("fake", fake, 0.0)):
            z = reward.logits(tokens, lengths, context)
            blanks = missing(lengths, context)
            out[f"acc_{name}"] = (((z > 0).float() == label) & blanks).sum().item() / blanks.sum().item()
    return out | {"acc": (out["acc_real"] + out["acc_fake"]) / 2}


def run_arm(maskmle: Path, seed: int, arm: str, rounds: int, every: int, tmp: Path) -> dict:
    init, width = arm.split("-")
    config = recipe_config("maskgan", "cpu", {"init": str(maskmle), "seed": seed,
                                              "d_emb_dim": int(width), "d_hidden_dim": int(width),
                                              "d_init": init})
    trainer = build_trainer(config, tmp, progress=False)
    real, fake, context = held_out(trainer)
    curve = [{"step": 0} | accuracy(trainer.reward, real, fake, context)]
    start = time.perf_counter()
    for step in range(1, rounds + 1):
        stats = trainer.d_phase(1, 1)
        if step % every == 0 or step == rounds:
            curve.append({"step": step, "train_acc": stats["d_accuracy"],
                          "train_loss": stats["d_loss"]}
                         | accuracy(trainer.reward, real, fake, context))
    return {"curve": curve, "wall_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="benchmarks/out/maskgan_gaps",
                        help="a bench_maskgan.py folder with maskmle-seedS runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=["random-128", "generator-128"])
    parser.add_argument("--rounds", type=int, default=650)
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.runs) / "discriminator.jsonl"
    for seed in args.seeds:
        for arm in args.arms:
            name = f"{arm}-seed{seed}-{args.rounds}"
            if name in recorded(out):
                continue
            with tempfile.TemporaryDirectory() as tmp:  # the trainer's folder; nothing kept
                result = run_arm(Path(args.runs) / f"maskmle-seed{seed}", seed, arm,
                                 args.rounds, args.every, Path(tmp))
            last = result["curve"][-1]
            append_result(out, {"run": name, "seed": seed, "arm": arm, "rounds": args.rounds,
                                "threads": 1, "acc_last": last["acc"], "command":
                                "python benchmarks/bench_maskgan_discriminator.py "
                                f"--runs {args.runs} --seeds {seed} --arms {arm} "
                                f"--rounds {args.rounds} --every {args.every}"} | result)


if __name__ == "__main__":
    main()
