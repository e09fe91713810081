"""One device's training speed, for the GPU-against-CPU table of issue 12: the user's
commands with ``--device D``, timed by the step times the runs log.

Workloads, each ``python -m textrl train ...`` on the SeqGAN authors' oracle unless named:
- ``mle_oracle_epoch``: an MLE epoch (10,000 oracle samples of 20 tokens, V = 5,000,
  emb/hidden 32, batch 64);
- ``mle_ptb_epoch``: an MLE epoch at a PTB shape (the first 4,000 lines of ptb.train.txt
  as windows of 35, emb/hidden 256, batch 32; the torchrun benchmark's workload);
- ``seqgan_cpu_iteration`` / ``seqgan_paper_iteration``: a SeqGAN iteration of the ``cpu``
  and ``paper`` presets (g-step with 16 rollouts per prefix, then the preset's d-rounds),
  from the first workload's run; ``seqgan_paper_d_round`` is one round of the paper
  preset's discriminator pretraining (10,000 + 10,000 sentences, 3 epochs);
- ``gumbel_paper_iteration``: an iteration of the Gumbel-softmax GAN's ``paper`` preset
  (RelGAN's oracle setting: 5 discriminator steps per generator step);
- ``rankgan_paper_iteration``: a RankGAN iteration of its ``paper`` preset, from the first
  workload's run;
- ``vae_paper_epoch``: an epoch of the sentence VAE's ``paper`` preset (texar's PTB recipe,
  batch 32) on PTB's files.

Each run times the textrl of the tree this script is in. Issue 29's GPU comparison is this
script run twice in one device call, as ``benchmarks/bench_device.py`` and as
``baseline/benchmarks/bench_device.py``, ``baseline/`` exported beforehand (``git archive
BASE | tar -x -C baseline``: the device gets the working tree, not ``.git``), with a subset
of the workloads (a paper-preset SeqGAN workload alone is about 100 s a tree on an H100).
Both need ``../shared/data`` (the oracle file, PTB) beside the repository, where the tree's
own data paths point: for ``baseline/``, a ``shared`` link beside it.

A step's time is the fastest logged ``time_s`` of a step that was not evaluated (a run
evaluates only at its end here); ``mean_step_s`` averages them (the ``cpu`` preset's
d-round comes every second iteration). ``paper_preset_estimate_s`` adds up the paper preset's
parts from these measurements (120 MLE epochs, 50 d-rounds, 200 iterations; evaluations
left out): an estimate, not a timed run.

    python benchmarks/bench_device.py --device cuda --out benchmarks/out/device_cuda.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from bench_ddp_scaling import ptb_workload
from cli_runs import read_log, unevaluated_step_times
from provenance import provenance

TREE = Path(__file__).resolve().parents[1]  # the textrl this script times
ORACLE = TREE.parent / "shared/data/seqgan_oracle/target_params_py3.pkl"
WORKLOADS = ["mle_oracle_epoch", "mle_ptb_epoch", "seqgan_cpu_iteration", "seqgan_paper_iteration",
             "gumbel_paper_iteration", "rankgan_paper_iteration", "vae_paper_epoch"]
PTB = ORACLE.parents[1] / "ptb"
QUIET = ["--eval-every", "1000", "--eval-samples", "1000", "--quiet"]


def step_times(argv: list[str], out: Path, unit: str, device: str, threads: int) -> dict:
    """Run ``textrl ARGV --out OUT --device DEVICE`` with the textrl of this script's tree
    (TREE first on PYTHONPATH, run from OUT's folder: ``python -m`` puts the working folder
    before PYTHONPATH, and a textrl there would be timed instead); its unevaluated step
    times."""
    env = os.environ | {"OMP_NUM_THREADS": str(threads),
                        "PYTHONPATH": os.pathsep.join(filter(None, [str(TREE), os.environ.get(
                            "PYTHONPATH")]))}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "textrl", *argv, "--device", device, "--out", str(out)],
                   env=env, check=True, capture_output=True, text=True, cwd=out.parent)
    steps = unevaluated_step_times(out, unit)
    if not steps:
        raise ValueError(f"{out.name}: every step was evaluated; run more steps")
    pretrain = [r["d_pretrain_s"] for r in read_log(out) if "d_pretrain_s" in r]
    return {"step_s": min(steps), "mean_step_s": sum(steps) / len(steps), "all_steps_s": steps,
            "wall_s": time.perf_counter() - t0,
            **({"d_round_s": pretrain[0]} if pretrain else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="CPU threads of each run (OMP_NUM_THREADS)")
    parser.add_argument("--paper-iterations", type=int, default=3,
                        help="SeqGAN and RankGAN paper-preset iterations to run (the last is "
                             "evaluated, so at least 2)")
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=WORKLOADS)
    parser.add_argument("--init", type=Path,
                        help="the MLE run the adversarial workloads start from (default: the "
                             "mle_oracle_epoch workload's run)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    start = args.init.resolve() if args.init else work / "mle"
    mle = ["train", "mle", "--oracle", str(ORACLE), "--epochs", "3", *QUIET]
    seqgan = ["train", "seqgan", "--init", str(start), "--d-pretrain-steps", "1", *QUIET]
    workloads = {
        "mle_oracle_epoch": (mle, "epoch"),
        "seqgan_cpu_iteration": ([*seqgan, "--config", "cpu", "--iterations", "3"], "iteration"),
        "seqgan_paper_iteration": ([*seqgan, "--config", "paper", "--iterations",
                                    str(args.paper_iterations)], "iteration"),
        "gumbel_paper_iteration": (["train", "gumbel-gan", "--init", str(start), "--config",
                                    "paper", "--iterations", "20", *QUIET], "iteration"),
        "rankgan_paper_iteration": (["train", "rankgan", "--init", str(start),
                                     "--d-pretrain-steps", "1", *QUIET, "--config", "paper",
                                     "--iterations", str(args.paper_iterations)], "iteration"),
        "vae_paper_epoch": (["train", "vae", "--config", "paper",
                             *(f"--{flag}={PTB / f'ptb.{split}.txt'}" for flag, split in
                               (("data", "train"), ("valid", "valid"), ("test", "test"))),
                             "--epochs", "3", "--eval-every", "1000", "--quiet"], "epoch"),
    }
    if "mle_ptb_epoch" in args.workloads:  # PTB is read only when its workload runs
        workloads["mle_ptb_epoch"] = ([*ptb_workload(work)[1], "--epochs", "3", *QUIET], "epoch")
    result = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "device": args.device,
              "textrl_tree": str(TREE),
              "device_name": (torch.cuda.get_device_name() if args.device.startswith("cuda")
                              else f"{platform.machine()}, {os.cpu_count()} cores"),
              "torch": torch.__version__, "threads": args.threads}
    for name in args.workloads:
        argv, unit = workloads[name]
        out = work / "mle" if name == "mle_oracle_epoch" else work / name
        try:
            result[name] = step_times(argv, out, unit, args.device, args.threads)
        except subprocess.CalledProcessError as error:  # say why, and go on to the next
            result[name] = {"failed": error.stderr[-3000:]}
        except ValueError as error:
            result[name] = {"failed": str(error)}
        print(json.dumps({name: result[name]}), flush=True)
    if all("step_s" in result.get(name, {}) for name in ("mle_oracle_epoch",
                                                         "seqgan_paper_iteration")):
        paper = result["seqgan_paper_iteration"]
        result["paper_preset_estimate_s"] = (120 * result["mle_oracle_epoch"]["step_s"]
                                             + 50 * paper["d_round_s"] + 200 * paper["step_s"])
    result["provenance"] = provenance(args.threads)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
