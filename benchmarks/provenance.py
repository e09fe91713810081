"""Where a result came from: the record every result file and run config written by a
benchmark script carries under the key "provenance" (benchmarks/cli_runs.py adds it to every
JSON line it appends; scripts that write a file of their own add it themselves).

Before this existed, RESULTS.md named the machine in prose and could not prove it: one header
said every number came from a 2-core Intel Xeon without a GPU while sections ran on an AMD EPYC
and on H100/H200 GPUs. Now each record says it.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    """``git ARGS`` in this checkout, or None where there is no git or no repository (a GPU
    machine is handed a copy of the working tree without its .git)."""
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


@cache
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return platform.processor() or platform.machine()


@cache
def _torch() -> tuple[str, str]:
    """``(torch version, device)``: the GPU's name when CUDA is available, else "cpu". Cached:
    naming the GPU initialises CUDA, once per process is enough."""
    import torch  # here, so that importing this module stays cheap

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    return torch.__version__, device


def provenance(threads: int | None = None) -> dict:
    """The provenance of a result written now. ``threads``: the torch threads the measured work
    ran with, when the caller knows it (the benchmarks train in subprocesses with --threads N,
    so this process's own count says nothing about them); else this process's count."""
    import torch

    commit = _git("rev-parse", "HEAD")
    # Result files under benchmarks/out are what the benchmarks write, not code: appending to
    # them must not make the next record "dirty".
    status = _git("status", "--porcelain", "--", ".", ":(exclude)benchmarks/out")
    version, device = _torch()
    return {
        # A copy without .git (a GPU machine's) can be told its commit through TEXTRL_COMMIT.
        "commit": commit or os.environ.get("TEXTRL_COMMIT"),
        "dirty": bool(status) if status is not None else None,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": threads if threads is not None else torch.get_num_threads(),
        "torch": version,
        "device": device,
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(provenance(), indent=1))
