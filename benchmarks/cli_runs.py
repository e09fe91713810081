"""What the benchmark scripts share: run a `textrl train` command the way a user would
(continuing it with --resume when its directory already holds a checkpoint), evaluate the
result with `textrl evaluate --json --seed 0`, append one JSON line per finished run, and
run jobs a few at a time."""

from __future__ import annotations

import fcntl
import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from leaderboard import load
from provenance import provenance


def train(cmd: list[str], out: Path, threads: int) -> tuple[list[str], float, dict]:
    """``(the command run, wall seconds, its final JSON line)``; a run whose directory holds a
    checkpoint is continued with --resume. A run another process is training (the same
    benchmark started twice) is refused: two writers of one checkpoint lose both."""
    cmd = [*cmd, "--threads", str(threads)]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"{out} is being trained by another process; wait for it, or "
                               "stop it first") from None
        if (out / "checkpoint.pt").exists():
            cmd = [*cmd, "--resume"]
        env = os.environ | {"OMP_NUM_THREADS": str(threads)}
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return cmd, wall, json.loads(proc.stdout.strip().splitlines()[-1])


def textrl(args: Sequence[str], threads: int) -> str:
    """What `textrl ARGS... --threads THREADS` prints (a failure raises)."""
    env = os.environ | {"OMP_NUM_THREADS": str(threads)}
    return subprocess.run(["textrl", *args, "--threads", str(threads)], env=env,
                          capture_output=True, text=True, check=True).stdout


def evaluate(out: Path, threads: int, evaluate_args: Sequence[str] = ()) -> dict:
    """`textrl evaluate OUT --json --seed 0 EVALUATE_ARGS...`"""
    return json.loads(textrl(["evaluate", str(out), "--json", "--seed", "0", *evaluate_args],
                             threads))


def train_and_evaluate(cmd: list[str], out: Path, threads: int, evaluate_args: Sequence[str] = ()
                       ) -> tuple[list[str], float, dict, dict]:
    """``(the command run, wall seconds, its final JSON line, the evaluation)``."""
    cmd, wall, final = train(cmd, out, threads)
    return cmd, wall, final, evaluate(out, threads, evaluate_args)


def read_log(run: Path) -> list[dict]:
    """A run's ``metrics.jsonl`` (or, in a kept run, ``metrics.jsonl.xz`` or ``.gz``), one dict
    per line."""
    return load(run / "metrics.jsonl")


def unevaluated_step_times(run: Path, unit: str) -> list[float]:
    """The logged ``time_s`` of a run's steps of ``unit`` (epoch, iteration) that did not
    evaluate: evaluation is not training speed."""
    return [r["time_s"] for r in read_log(run) if r.get(unit, 0) > 0 and "nll_valid" not in r
            and "nll_oracle" not in r]


def recorded(path: Path) -> dict[str, dict]:
    """The records of a results file, by their ``run`` name (empty before the first)."""
    lines = path.read_text().splitlines() if path.exists() else []
    return {r["run"]: r for r in map(json.loads, lines) if r}


def train_stage(out: Path, name: str, cmd: list[str], threads: int,
                scored: Callable[[Path], dict] | None = None, **record) -> None:
    """Train ``cmd`` into ``OUT/name`` and append its record (command, wall time, threads,
    final line, ``record``, and what ``scored(OUT/name)`` returns) to OUT/results.jsonl,
    unless a record of ``name`` is there."""
    if name in recorded(out / "results.jsonl"):
        return
    cmd, wall, final = train([*cmd, "--out", str(out / name), "--quiet"], out / name, threads)
    scores = scored(out / name) if scored is not None else {}
    append_result(out / "results.jsonl", {"run": name, "wall_s": wall, "command": " ".join(cmd),
                                          "threads": threads} | record | {"final": final}
                  | scores)


def mean_sd(values: Sequence[float], digits: int = 3) -> str:
    """"mean ± sd" of a table cell; the mean alone for one value, "-" for none."""
    if not values:
        return "-"
    sd = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.{digits}f}{sd}"


def append_result(path: Path, record: dict) -> None:
    """Append ``record`` to the JSON-lines file ``path``, with its provenance (commit, date,
    machine, threads of the runs it measured) under "provenance"; its own fields unchanged."""
    record = record | {"provenance": provenance(record.get("threads"))}
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)


def run_parallel(jobs: Sequence[tuple], workers: int, run_one: Callable) -> None:
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda job: run_one(*job), jobs))
