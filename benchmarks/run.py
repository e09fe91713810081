"""Run one leaderboard row (benchmarks/leaderboard_rows.py) by its id, after the rows it needs.

    python benchmarks/run.py --list                      # id, system, dataset of every row
    python benchmarks/run.py oracle-seqgan --seeds 0 1 2 --dry-run
    python benchmarks/run.py oracle-seqgan --seeds 0 1 2

Runs the row's command (as the page shows it) for the seeds asked that have no record yet in
the row's result files, so a finished seed is never run twice; the bench scripts continue an
interrupted run from its checkpoint, so running the same line again resumes. First come the
rows it needs (`needs`), for the seeds whose records they lack. A row with every asked seed
recorded is refused (exit 2) unless `--force`: that reruns the row, and what it needs, into
fresh folders (every benchmarks/out/NAME of the commands becomes NAME-rerunN, the first N
whose row is not finished there), so nothing recorded is touched or overwritten; the page
keeps reading the old folders. A command that takes no seeds (one seed, as written) runs as
it is.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

try:  # as a script (python benchmarks/run.py) or as a module
    from benchmarks.leaderboard import load
    from benchmarks.leaderboard_rows import ROWS, Row
except ImportError:
    from leaderboard import load
    from leaderboard_rows import ROWS, Row

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks/out"
BY_ID = {row.id: row for row in ROWS}
SEEDS = re.compile(r"(--seeds|for S in)((?: \d+)+)(?=\s|;|$)")
FOLDER = re.compile(r"benchmarks/out/([\w.-]+)")
SCRIPT = re.compile(r"python (benchmarks/bench_\w+\.py)([^;&|>]*)")


def refuse(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    raise SystemExit(2)


def written_seeds(row: Row) -> list[int] | None:
    """The seeds the row's command names (`--seeds 0 1 2`, `for S in 0 1 2`); None: none."""
    found = SEEDS.search(row.command)
    return [int(s) for s in found[2].split()] if found else None


def moved(glob: str, suffix: str) -> str:
    """A path under benchmarks/out with its first folder renamed NAME -> NAME+suffix."""
    first, _, rest = glob.partition("/")
    return f"{first}{suffix}/{rest}" if rest else f"{first}{suffix}"


def seed_of(path: Path, record: dict) -> int | None:
    """A record's seed: its own field, else its run's name (mle-seed0), else its folder under
    benchmarks/out (long_s0/); None where nothing tells."""
    if isinstance(record.get("seed"), int):
        return record["seed"]
    inside = path.relative_to(OUT) if path.is_relative_to(OUT) else path
    found = re.search(r"seed(\d+)", str(record.get("run", ""))) or re.search(r"_s(\d+)/",
                                                                            str(inside))
    return int(found[1]) if found else None


def lacking(row: Row, seeds: list[int], out: Path, suffix: str = "") -> list[int]:
    """The seeds of ``seeds`` without a record of the row (a record of no known seed counts
    for every seed: a one-seed row)."""
    done = {seed_of(path, r) for path in sorted(out.glob(moved(row.source.files, suffix)))
            for r in load(path) if row.source.where(r)}
    return [] if None in done else [s for s in seeds if s not in done]


def command(row: Row, seeds: list[int], suffix: str = "") -> str:
    """The row's command for ``seeds``; with a suffix every benchmarks/out folder it reads
    or writes, the bench scripts' defaults included, gets the suffix."""
    body = row.command.partition(" #")[0].strip()  # "# on a GPU": a note, not an argument
    body = SEEDS.sub(lambda m: f"{m[1]} {' '.join(map(str, seeds))}", body)
    if suffix:
        body = SCRIPT.sub(lambda m: m[0].rstrip() + defaults(m[1], m[2])
                          + m[0][len(m[0].rstrip()):], body)
        body = FOLDER.sub(lambda m: f"benchmarks/out/{m[1]}{suffix}", body)
    return body


def defaults(script: str, arguments: str) -> str:
    """The script's benchmarks/out defaults its arguments leave out, as arguments."""
    found = re.findall(r'"(--[\w-]+)", default="(benchmarks/out/[^"]*)"', (ROOT / script).read_text())
    return "".join(f" {flag} {path}" for flag, path in found if flag not in arguments.split())


def plan(row: Row, seeds: list[int], out: Path, suffix: str) -> list[tuple[Row, list[int]]]:
    """``(row, seeds)`` to run, in order: the rows it needs first, for the seeds they lack."""
    steps: list[tuple[Row, list[int]]] = []
    for need in (BY_ID[i] for i in row.needs):
        todo = lacking(need, seeds, out, suffix)
        gone = [s for s in seeds if s not in todo and need.makes
                and not any(out.glob(moved(need.makes.format(seed=s), suffix)))]
        if gone:
            refuse(f"{row.id} needs {need.id}'s outputs for seeds {' '.join(map(str, gone))} "
                   f"(out/{moved(need.makes, suffix)}), gone though its records are there "
                   "(checkpoints are not in git): restore them, or --force reruns both afresh")
        if todo:
            steps += plan(need, todo, out, suffix)
    return [*steps, (row, seeds)]


def execute(line: str, env: dict[str, str]) -> int:
    """Run one command line in bash from the repository root: its exit status."""
    return subprocess.run(["bash", "-c", line], cwd=ROOT, env=env).returncode


def rerun_suffix(row: Row, seeds: list[int], out: Path) -> str:
    """-rerunN for the first N whose folder does not hold the row finished (so an interrupted
    --force run resumes in its folder)."""
    n = 1
    while not lacking(row, seeds, out, f"-rerun{n}"):
        n += 1
    return f"-rerun{n}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("row", nargs="?", help="a row id (--list shows them)")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: the row's command's")
    parser.add_argument("--list", action="store_true", help="print every row's id and stop")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run none")
    parser.add_argument("--force", action="store_true",
                        help="rerun a finished row into fresh NAME-rerunN folders")
    args = parser.parse_args(argv)
    if args.list:
        for row in ROWS:
            print(f"{row.id:28} {row.system} · {row.dataset}")
        return 0
    if args.row not in BY_ID:
        refuse(f"{f'unknown row {args.row!r}' if args.row else 'no row given'}: "
               "`python benchmarks/run.py --list` shows the row ids")
    row = BY_ID[args.row]
    if written_seeds(row) is None:
        if args.seeds:
            refuse(f"{row.id}'s command takes no --seeds (one seed, as written): run it "
                   "without --seeds")
        print(f"note: {row.id}'s command takes no seeds: it runs as written", file=sys.stderr)
    seeds = list(dict.fromkeys(args.seeds or written_seeds(row) or [0]))
    suffix = rerun_suffix(row, seeds, OUT) if args.force else ""
    todo = lacking(row, seeds, OUT, suffix)
    if not todo:
        refuse(f"{row.id} is finished for seeds {' '.join(map(str, seeds))} (records in "
               f"out/{row.source.files}); --force reruns it into fresh *-rerunN folders")
    if todo != seeds:
        print(f"note: seeds {' '.join(str(s) for s in seeds if s not in todo)} recorded "
              f"already; running {' '.join(map(str, todo))}", file=sys.stderr)
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for step, step_seeds in plan(row, todo, OUT, suffix):
        if "on a GPU" in step.command:
            print(f"warning: {step.id}'s command is meant for a GPU", file=sys.stderr)
        line = command(step, step_seeds, suffix)
        print(f"[{step.id}] {line}", flush=True)
        if not args.dry_run:
            code = execute(line, env)
            # A shell loop's status is its last pass's: a seed that failed before it shows
            # only as a record that is not there.
            missing = [] if code else lacking(step, step_seeds, OUT, suffix)
            if code or missing:
                why = (f"exit {code}" if code else f"exit 0, but no record for seeds "
                       f"{' '.join(map(str, missing))} in out/{moved(step.source.files, suffix)}"
                       "; its output above says why")
                print(f"{step.id} failed ({why})", file=sys.stderr)
                return code or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
