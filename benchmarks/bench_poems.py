"""MLE on the SeqGAN Chinese quatrains (Table 2 data): NLL-test, perplexity, samples.

Character tokens, a seeded 80/10/10 split of ../shared/data/poems/shi.txt (data seed 0).

    python benchmarks/bench_poems.py --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

POEMS = Path(__file__).resolve().parents[2] / "shared/data/poems/shi.txt"
MODEL = ["--emb-dim", "64", "--hidden-dim", "128", "--dropout", "0.25", "--max-len", "26"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/poems")
    args = parser.parse_args()
    if not POEMS.exists():
        sys.exit(f"needs the quatrains at {POEMS}")
    out_root = Path(args.out)
    out_root.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"OMP_NUM_THREADS": str(args.threads)}
    for seed in args.seeds:
        out = out_root / f"mle-seed{seed}"
        cmd = ["textrl", "train", "mle", "--data", str(POEMS), "--tokenizer", "char", *MODEL,
               "--epochs", str(args.epochs), "--eval-every", "1", "--seed", str(seed),
               "--out", str(out), "--quiet"]
        if (out / "checkpoint.pt").exists():
            cmd.append("--resume")
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        # The weights with the best validation NLL; the test split is scored once, here.
        evaluation = json.loads(subprocess.run(
            ["textrl", "evaluate", str(out), "--json", "--checkpoint", "best", "--samples", "2000"],
            env=env, check=True, capture_output=True, text=True).stdout)
        samples = subprocess.run(["textrl", "sample", str(out), "-n", "5", "--seed", "0",
                                  "--checkpoint", "best"], env=env, check=True,
                                 capture_output=True, text=True).stdout.splitlines()
        best = json.loads(subprocess.run(
            ["python", "-c", "import torch,sys,json; s=torch.load(sys.argv[1], weights_only=True);"
             "print(json.dumps({'epoch': s['epoch'], 'nll_valid': s['nll_valid']}))",
             str(out / "best.pt")], env=env, check=True, capture_output=True, text=True).stdout)
        record = {"seed": seed, "wall_s": wall, "command": " ".join(cmd), "best": best,
                  "nll_test": evaluation["nll_test"], "ppl_test": evaluation["ppl_test"],
                  "bleu2": evaluation["bleu2"], "self_bleu4": evaluation["self_bleu4"],
                  "samples": samples}
        with open(out_root / "results.jsonl", "a") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(json.dumps(record, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
