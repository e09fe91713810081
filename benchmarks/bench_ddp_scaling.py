"""Scaling with torchrun on this machine: training throughput of 2 processes x 1 thread
against 1 process x 1 thread, for the same runs (same global batch), in one script.

Workloads: an MLE epoch on a random oracle at SeqGAN's shape (10,000 sentences of 20
tokens, V = 5,000, emb/hidden 32, batch 64); an MLE epoch at a PTB shape (the first 4,000
lines of PTB's training file as one stream cut into windows of 35, its vocabulary from those
lines, emb/hidden 256, batch 32); and a SeqGAN iteration of the
``cpu`` preset (g-step with 16 Monte-Carlo rollouts per prefix, one d-round of 5,000 +
5,000 sentences) from the first MLE run.
Each is the user's command (``python -m textrl train ...`` or ``torchrun --standalone
--nproc_per_node=2 -m textrl train ...``); the step times are the ``time_s`` the run logs
for steps that were not evaluated (evaluation runs on process 0 alone and is excluded), the
fastest of them. The configurations alternate over ``--rounds`` so drifting load hits both.

The ceiling of each MLE row: two independent single processes with half the batch each,
side by side (the work of one DDP process, without the all-reduce or the wait for the
other). An epoch of DDP can at best take half of such a process's epoch (it has half the
steps), so ``2 x (1 process's epoch) / (half-batch epoch side by side)`` bounds the speedup
any data-parallel scheme could reach here, whatever its communication costs.

The ceiling with communication: the median time of one gloo all-reduce of the model's
whole gradient (one flat tensor of its parameter count, between two one-thread processes
doing nothing else) added to each of the DDP epoch's steps, ``(1 process's epoch) /
(half-batch epoch / 2 + steps x all-reduce)``. DDP sends at least that much per step (in one
or two buckets); the bound assumes none of it overlaps the backward pass, which DDP allows
bucket by bucket but which has little room here, every core being busy with a process.

    python benchmarks/bench_ddp_scaling.py --out benchmarks/out/ddp_scaling.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from cli_runs import unevaluated_step_times
from provenance import provenance
from shared_data import PTB

ONE_THREAD = os.environ | {"OMP_NUM_THREADS": "1"}

MLE = ["train", "mle", "--oracle", "random", "--n-valid", "100", "--n-test", "100",
       "--eval-samples", "100", "--eval-every", "1000", "--device", "cpu", "--quiet"]
SEQGAN = ["--config", "cpu", "--eval-samples", "100", "--eval-every", "1000",
          "--d-pretrain-steps", "1", "--device", "cpu", "--quiet"]


def launch(processes: int) -> list[str]:
    if processes == 1:
        return [sys.executable, "-m", "textrl"]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={processes}", "-m", "textrl"]


def ptb_workload(work: Path) -> tuple[Path, list[str]]:
    """The PTB-shape MLE workload: ``(the first 4,000 lines of ptb.train.txt, written to
    WORK, and the `textrl train mle` arguments that train on them as one stream in windows of
    35 at emb/hidden 256, batch 32)``."""
    ptb = work / "ptb4000.txt"
    ptb.write_text("".join((PTB / "ptb.train.txt").read_text().splitlines(keepends=True)[:4000]))
    return ptb, ["train", "mle", "--data", str(ptb), "--valid", str(ptb), "--test", str(ptb),
                 "--windows", "35", "--emb-dim", "256", "--hidden-dim", "256", "--batch-size",
                 "32"]


def step_time(argv: list[str], processes: int, out: Path, unit: str) -> float:
    """The fastest logged time of a step that was not evaluated."""
    subprocess.run([*launch(processes), *argv, "--out", str(out)], env=ONE_THREAD, check=True,
                   capture_output=True, text=True)
    return min(unevaluated_step_times(out, unit))


def side_by_side_step_time(argv: list[str], out: Path, unit: str) -> float:
    """Two single processes of ``argv`` at once (1 thread each, directories OUT-a, OUT-b): the
    mean of their fastest logged unevaluated steps."""
    runs = [Path(f"{out}-{name}") for name in "ab"]
    procs = [subprocess.Popen([*launch(1), *argv, "--out", str(run)], env=ONE_THREAD,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for run in runs]
    for proc in procs:
        _, stderr = proc.communicate()  # not wait(): a full stderr pipe would block the run
        if proc.returncode:
            raise RuntimeError(stderr.decode()[-2000:])
    return sum(min(unevaluated_step_times(run, unit)) for run in runs) / 2


def _allreduce_worker(rank: int, numel: int, repeats: int, store: str, result: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    grads = torch.ones(numel)
    times = []
    for index in range(repeats + 10):  # the first 10 warm up
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(grads)
        if index >= 10:
            times.append(time.perf_counter() - t0)
    if rank == 0:
        Path(result).write_text(json.dumps(statistics.median(times)))
    dist.destroy_process_group()


def allreduce_seconds(numel: int, work: Path, repeats: int = 200) -> float:
    """Median seconds of one gloo all-reduce of ``numel`` floats between 2 processes."""
    store, result = work / f"store{numel}", work / f"allreduce{numel}.json"
    mp.spawn(_allreduce_worker, args=(numel, repeats, str(store), str(result)), nprocs=2)
    return json.loads(result.read_text())


def parameters(run: Path) -> int:
    state = torch.load(run / "checkpoint.pt", weights_only=True)["model"]["state_dict"]
    return sum(t.numel() for t in state.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="MLE epochs per run")
    parser.add_argument("--iterations", type=int, default=3, help="SeqGAN iterations per run")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    start = work / "start"
    subprocess.run([*launch(1), *MLE, "--epochs", "1", "--out", str(start)], check=True,
                   env=ONE_THREAD, capture_output=True)
    ptb, ptb_mle = ptb_workload(work)
    ptb_mle = [*ptb_mle, "--eval-every", "1000", "--device", "cpu", "--quiet"]
    times: dict[str, dict[int, list[float]]] = {"mle_epoch": {1: [], 2: []},
                                                 "ptb_mle_epoch": {1: [], 2: []},
                                                 "seqgan_iteration": {1: [], 2: []}}
    half_epochs: dict[str, list[float]] = {"mle_epoch": [], "ptb_mle_epoch": []}
    for round_ in range(args.rounds):
        for processes in (1, 2):
            tag = f"{round_}-{processes}"
            times["mle_epoch"][processes].append(step_time(
                [*MLE, "--epochs", str(args.epochs)], processes, work / f"mle{tag}", "epoch"))
            times["ptb_mle_epoch"][processes].append(step_time(
                [*ptb_mle, "--epochs", "2"], processes, work / f"ptb{tag}", "epoch"))
            times["seqgan_iteration"][processes].append(step_time(
                ["train", "seqgan", "--init", str(start), "--iterations", str(args.iterations),
                 *SEQGAN], processes, work / f"seqgan{tag}", "iteration"))
            print(json.dumps({k: v for k, v in times.items()}), flush=True)
        half_epochs["mle_epoch"].append(side_by_side_step_time(
            [*MLE, "--epochs", str(args.epochs), "--batch-size", "32"], work / f"mlehalf{round_}",
            "epoch"))
        half_epochs["ptb_mle_epoch"].append(side_by_side_step_time(
            [*ptb_mle, "--epochs", "2", "--batch-size", "16"], work / f"ptbhalf{round_}", "epoch"))
        print(json.dumps({"half_batch_side_by_side": half_epochs}), flush=True)
    ptb_tokens = sum(len(line.split()) + 1 for line in ptb.read_text().splitlines())
    tokens = {"mle_epoch": 10_000 * 20, "ptb_mle_epoch": ptb_tokens // 35 * 35,
              "seqgan_iteration": None}
    steps = {"mle_epoch": -(-10_000 // 64), "ptb_mle_epoch": -(-(ptb_tokens // 35) // 32)}
    gradients = {"mle_epoch": parameters(work / "mle0-1"), "ptb_mle_epoch": parameters(
        work / "ptb0-1")}
    result = {"date": subprocess.run(["date", "-u", "+%F"], capture_output=True,
                                     text=True).stdout.strip(),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "torch": torch.__version__, "threads_per_process": 1, "rounds": args.rounds}
    for name, by_processes in times.items():
        one, two = min(by_processes[1]), min(by_processes[2])
        row = {"1_process_s": one, "2_processes_s": two, "speedup": one / two,
               "all_s": by_processes}
        if tokens[name]:
            row |= {"1_process_tokens_per_s": tokens[name] / one,
                    "2_processes_tokens_per_s": tokens[name] / two}
        if name in half_epochs:
            half = min(half_epochs[name])
            allreduce = allreduce_seconds(gradients[name], work)
            row |= {"half_batch_side_by_side_s": half, "ceiling": 2 * one / half,
                    "half_batch_all_s": half_epochs[name], "gradient_floats": gradients[name],
                    "steps": steps[name], "allreduce_s": allreduce,
                    "ceiling_with_allreduce": one / (half / 2 + steps[name] * allreduce)}
        result[name] = row
    result["provenance"] = provenance(1)  # every process ran one thread
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
