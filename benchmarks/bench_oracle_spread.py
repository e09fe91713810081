"""How much the SeqGAN oracle's own difficulty moves from one N(0, 1) oracle to another
(issue 28, the scheduled-sampling gap).

The authors' scheduled-sampling script scored against a fresh random oracle, not the pickle
textrl uses, so its 8.985 and textrl's 9.066 were measured on different oracles. No training
here: each oracle's NLL on 10,000 of its own samples (its entropy per token, the "real data"
row of the SeqGAN papers) for the authors' pickle and for ``random:K``, K = 0..ORACLES-1
(every parameter N(0, 1), as the paper and the authors' ``TARGET_LSTM`` draw them). The spread
of that number across oracles is how much an oracle's difficulty alone moves a row; it is not
an MLE model's NLL-oracle, which would need a training run per oracle.

    python benchmarks/bench_oracle_spread.py --out benchmarks/out/oracle_spread.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
from provenance import provenance
from shared_data import ORACLE

from textrl.oracle import OracleLSTM


def own_nll(oracle: OracleLSTM, n: int) -> float:
    """The oracle's mean NLL per token on ``n`` of its own samples (sampling seed 0)."""
    return oracle.nll(oracle.sample(n, generator=torch.Generator().manual_seed(0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oracles", type=int, default=10, help="random oracles random:0..N-1")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = {"pickle": own_nll(OracleLSTM.from_spec(str(ORACLE)), args.samples)}
    rows |= {f"random:{k}": own_nll(OracleLSTM.from_spec(f"random:{k}"), args.samples)
             for k in range(args.oracles)}
    randoms = [v for k, v in rows.items() if k.startswith("random:")]
    result = {"samples": args.samples, "own_nll": rows,
              "random_mean": statistics.mean(randoms), "random_sd": statistics.stdev(randoms),
              "random_range": [min(randoms), max(randoms)],
              "command": "python benchmarks/bench_oracle_spread.py "
                         f"--oracles {args.oracles} --samples {args.samples}",
              "provenance": provenance(args.threads)}
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
