"""Does SeqGAN's discriminator learn anything about the oracle, or only its training set?

From the 120-epoch MLE run of one seed (benchmarks/out/mle_oracle), train the recipe's
discriminator round by round exactly as the adversarial loop pretrains it (fresh generated
sentences against as many sentences of the 10,000-sentence training split), and after each
round score HELD-OUT data the discriminator never saw: 4,000 fresh generated sentences
against the 1,000-sentence validation split of the oracle. Reported per round:

* training accuracy (the d_accuracy the loop logs) and held-out accuracy (0.5 = chance);
* the Spearman correlation, over the generated sentences, between the discriminator's
  logit and the oracle's log-likelihood: does its reward rank samples as the oracle does?

`--run DIR` scores instead the discriminator at the end of a finished SeqGAN run, on
samples of that run's own generator.

    python benchmarks/bench_discriminator.py --config cpu --rounds 10
    python benchmarks/bench_discriminator.py --config paper --rounds 4
    python benchmarks/bench_discriminator.py --run benchmarks/out/adversarial/seqgan-seed0
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from cli_runs import append_result

from textrl.recipes import build_trainer, recipe_config
from textrl.training import AdversarialTrainer, RunDir

ROOT = Path(__file__).resolve().parents[1]


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    ranks = torch.stack([a.argsort().argsort(), b.argsort().argsort()]).double()
    return torch.corrcoef(ranks)[0, 1].item()


def held_out_scores(trainer: AdversarialTrainer, seed: int) -> dict[str, float]:
    """Accuracy on 4,000 fresh samples of the trainer's policy against the validation split,
    and the Spearman correlation of the logit with the oracle's log-likelihood."""
    held_out = trainer.policy.sample(4000, trainer.max_len,
                                     generator=torch.Generator().manual_seed(10_000 + seed))
    oracle_ll = trainer.oracle.log_prob(held_out.tokens).sum(1)
    real = trainer.corpus.valid
    with torch.no_grad():
        trainer.reward.eval()
        fake_logits = trainer.reward.logits(held_out.tokens, held_out.lengths)
        real_logits = trainer.reward.logits(real.tokens, real.lengths)
    return {"heldout_accuracy": ((fake_logits < 0).double().mean()
                                 + (real_logits > 0).double().mean()).item() / 2,
            "mean_d_generated": torch.sigmoid(fake_logits).mean().item(),
            "mean_d_real_heldout": torch.sigmoid(real_logits).mean().item(),
            "spearman_d_oracle": spearman(fake_logits, oracle_ll)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="cpu", help="preset whose discriminator is trained")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of fresh negatives")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", help="score the discriminator of this finished SeqGAN run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/discriminator.jsonl")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    if args.run:
        state = RunDir(args.run).load_checkpoint()
        config = recipe_config("seqgan", None, saved=state["config"])
        trainer = build_trainer(config, args.run)
        trainer.policy.load_state_dict(state["model"]["state_dict"])
        trainer.load_state_dict(state["trainer"])
        append_result(out, {"run": args.run, "iteration": state["step"]}
                      | held_out_scores(trainer, config.seed))
        return
    init = ROOT / f"benchmarks/out/mle_oracle/mle-seed{args.seed}"
    config = recipe_config("seqgan", args.config, {"init": str(init), "seed": args.seed})
    trainer = build_trainer(config, out.parent)
    t0 = time.perf_counter()
    for round_ in range(1, args.rounds + 1):
        stats = trainer.d_phase(1)
        append_result(out, {"config": args.config, "seed": args.seed, "round": round_,
                            "d_samples": config.d_samples, "d_epochs": config.d_epochs,
                            "filters": sum(config.d_num_filters),
                            "train_accuracy": stats["d_accuracy"]}
                      | held_out_scores(trainer, args.seed) | {"elapsed_s": time.perf_counter() - t0})


if __name__ == "__main__":
    main()
