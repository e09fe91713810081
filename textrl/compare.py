"""``textrl compare``: its command line, the grouping of runs by their settings, and the
comparison read from the runs' logs alone (``--curves``, ``--tensorboard``).

Runs whose ``config.yaml`` settings are equal but for the seed, and for where and how they
ran (the output folder, ``resume``, ``quiet``, the device, ...), are one group: the seeds of
one experiment. A table then shows each group's mean ± sd over its runs (the sample
standard deviation, as the benchmarks report) and their number ``n``.

The sampled comparison (the quality-diversity table and ``--plot``) lives in ``textrl.cli``;
the learning curves are drawn by ``textrl.curves``.
"""

from __future__ import annotations

import argparse
import json
import lzma
import math
import os
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from textrl.errors import UserError, plural
from textrl.evaluation import format_table
from textrl.files import COMPRESSED, kept, read_json_lines, read_kept
from textrl.training.runs import RunDir

# Settings that say where or how a run ran, not what it trained: left out of the grouping.
IGNORED = frozenset({"seed", "out", "output", "output_dir", "out_dir", "run_dir", "save_dir",
                     "log_dir", "logdir", "resume", "quiet", "progress", "device", "threads",
                     "tensorboard", "sample_every"})
STEP_KEYS = ("iteration", "epoch", "step")  # a record's step, the first of these it carries
COMPLETIONS = "completions"  # the cumulative number of sentences sampled, where logged

FORMAT_HELP = """\
Runs whose config.yaml settings are equal but for the seed (and where and how they ran:
out, resume, quiet, device, ...) are one group; the table shows each group's mean ± sd over
its runs and their number n (--per-run: a row per run). A setting that names another run
folder (say init, the run a policy starts from) counts as that run's settings, so seeds
started from their own seeds' MLE runs are still one group.

Without --curves the runs' checkpoints are sampled at each temperature (quality and
diversity: NLL-oracle and NLL-test on an oracle, BLEU-4 and self-BLEU-4 on text), and
--plot draws the quality-diversity curve.

With --curves or --tensorboard only the runs' logs are read, so any run folder works:
textrl's, or one written by your own script for your own algorithm. It needs two files:

  config.yaml    the run's settings, a YAML mapping, e.g.
                   algorithm: my-ppo
                   lr: 0.0003
                   seed: 0
  metrics.jsonl  one JSON object a line, each with its step (an iteration, epoch or step
                 key) and any numbers, e.g.
                   {"step": 0, "nll_oracle": 9.1}
                   {"step": 1, "reward": 0.41, "kl": 0.02, "completions": 64}
                   {"step": 2, "reward": 0.45, "kl": 0.03, "completions": 128}
                 (or, kept compressed, metrics.jsonl.xz or .gz: read as it is)

completions (optional) is the cumulative number of sentences sampled so far: with it each
curve is also drawn against it, which compares algorithms at equal sampling cost. A metric
logged at some steps only (an evaluation) is drawn from those steps; seeds that logged at
different steps are interpolated onto the steps of them all. The table then shows each
metric's last logged value.

  textrl compare runs/ppo-s0 runs/ppo-s1 mine/s0 mine/s1 --curves reward nll_oracle
"""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter,
                     argparse.ArgumentDefaultsHelpFormatter):
    """The format above kept as written, the options' defaults shown."""


def add_compare_command(commands, add_loading_options: Callable[[argparse.ArgumentParser], None],
                        add_scorer_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``compare``'s parser to ``commands`` (the ``textrl`` subparsers)."""
    compare = commands.add_parser("compare", formatter_class=_HelpFormatter,
                                  help="one table (and plot, or learning curves) of runs on "
                                  "one dataset, seeds grouped", description=FORMAT_HELP)
    compare.add_argument("runs", nargs="+", help="run folders (trained on the same data)")
    compare.add_argument("--temperatures", type=float, nargs="+", default=[1.0],
                         help="sample each run at these temperatures (the quality-diversity sweep)")
    compare.add_argument("--plot", help="write the quality-diversity plot to this PNG")
    compare.add_argument("--samples", type=int, default=10_000, help="samples per temperature")
    add_loading_options(compare)
    add_scorer_option(compare)
    compare.add_argument("--json", action="store_true", help="print the rows as JSON lines")
    compare.add_argument("--per-run", action="store_true",
                         help="a row (and a curve) per run, no groups of seeds")
    compare.add_argument("--ignore-keys", nargs="+", default=[], metavar="KEY",
                         help="config.yaml keys to leave out of the grouping too (seed and the "
                         "output folder always are)")
    compare.add_argument("--curves", nargs="+", metavar="METRIC",
                         help="from the logs alone: a PNG per metric of metrics.jsonl, against "
                         "steps and (where logged) completions, mean ± sd per group")
    compare.add_argument("--curves-out", default="curves", metavar="DIR",
                         help="the folder of the --curves PNGs (made if missing)")
    compare.add_argument("--tensorboard", metavar="DIR", help="from the logs alone: write each "
                         "run's curves (every metric, or the --curves ones) as TensorBoard "
                         "scalars to DIR/GROUP/RUN (needs pip install 'textrl[tensorboard]')")


@dataclass
class Group:
    """Runs that differ only in ignored settings: ``label`` names them in tables and plots
    (the run itself for a group of one, else the runs' paths with what differs as ``*``)."""

    label: str
    runs: list[str]


@dataclass
class LoggedRun:
    """A run folder read for its log: its settings, records, and the key of their step."""

    path: str
    config: dict
    records: list[dict]
    step_key: str


def read_config(run: str) -> dict:
    """``run``'s ``config.yaml``, or a ``UserError`` that says what a run folder holds."""
    if not Path(run).is_dir():
        raise UserError(f"{run}: no such run folder")
    if not (Path(run) / "config.yaml").is_file():
        raise UserError(f"{run}: no config.yaml; a run folder holds config.yaml (its settings) "
                        "and metrics.jsonl (its log): see `textrl compare --help`")
    return RunDir(run).load_config()


def read_logged_run(run: str) -> LoggedRun:
    """``run``'s settings and ``metrics.jsonl`` (or, in an archived run, ``metrics.jsonl.xz``
    or ``metrics.jsonl.gz``), whose every record must carry a step."""
    config = read_config(run)
    path = kept(Path(run) / "metrics.jsonl")
    if not path.is_file():
        raise UserError(f"{run}: no metrics.jsonl; write the run's log there, one JSON object a "
                        'line such as {"step": 100, "reward": 0.5} (see `textrl compare --help`)')
    if path.suffix in COMPRESSED:
        kind, _, unpack = COMPRESSED[path.suffix]
        try:
            text = read_kept(path)
        except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError) as err:
            raise UserError(f"{path}: not a readable {kind} file of UTF-8 text ({err}); "
                            f"{unpack} it by hand to see what it holds") from None
    else:
        text = path.read_text("utf-8")
    records = [record for _, record in read_json_lines(path, text, '{"step": 100, "reward": 0.5}')]
    if not records:
        raise UserError(f"{path}: empty; log at least one record such as "
                        '{"step": 100, "reward": 0.5}')
    for key in STEP_KEYS:
        if all(is_number(r.get(key)) for r in records):
            return LoggedRun(run, config, records, key)
    raise UserError(f"{path}: give every record its step as a number under one key: "
                    f"{', '.join(STEP_KEYS[:-1])} or {STEP_KEYS[-1]}")


def is_number(value: object) -> bool:
    """A finite int or float (not a bool): a value a table or a curve can show."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def settings_key(config: dict, ignore: Iterable[str] = IGNORED, _seen: frozenset = frozenset()
                 ) -> str:
    """What a run trained, as one string: ``config`` less the ``ignore``d keys (and the
    per-process seeds of a distributed launch), a value naming another run folder replaced
    by that run's own key, so runs started from their own seed's pretrained run group."""
    ignore = frozenset(ignore)
    kept = {k: _canonical(v, ignore, _seen) for k, v in config.items() if k not in ignore}
    if isinstance(kept.get("launch"), dict):
        kept["launch"] = {k: v for k, v in kept["launch"].items() if k != "stream_seeds"}
    return json.dumps(kept, sort_keys=True, default=str)


def _canonical(value: object, ignore: frozenset, seen: frozenset) -> object:
    if not isinstance(value, str) or not value.strip() or len(value) > 1000:
        return value
    try:
        folder = Path(value)
        if not (folder / "config.yaml").is_file() or folder.resolve() in seen:
            return value
        return {"run settings": settings_key(RunDir(folder).load_config(), ignore,
                                             seen | {folder.resolve()})}
    except (OSError, UserError):
        return value  # not a path, or not a readable run: compared as written


def group_runs(runs: Sequence[str], configs: Sequence[dict], ignore: Iterable[str] = (),
               per_run: bool = False) -> list[Group]:
    """``runs`` grouped by ``settings_key`` (``IGNORED`` and ``ignore`` left out), groups in
    the order of their first run; ``per_run``: a group per run."""
    seen: dict[Path, str] = {}
    for run in runs:
        where = Path(run).resolve()
        if where in seen:
            raise UserError(f"{seen[where]} and {run} are the same run folder; give each run once")
        seen[where] = run
    ignored = IGNORED | frozenset(ignore)
    members: dict[str, list[str]] = {}
    for index, (run, config) in enumerate(zip(runs, configs, strict=True)):
        members.setdefault(str(index) if per_run else settings_key(config, ignored), []).append(run)
    groups, labels = [], set()
    for names in members.values():
        label = _label(names)
        while label in labels:  # two groups whose paths read alike
            label += "'"
        labels.add(label)
        groups.append(Group(label, names))
    return groups


def _label(runs: list[str]) -> str:
    """The run for one; else the runs' common start and end around a ``*`` ("out/pg-s*"),
    never cutting a number, or the first run "+ N more" when they share little."""
    if len(runs) == 1:
        return runs[0]
    names = [os.path.normpath(r) for r in runs]
    start = os.path.commonprefix(names)
    while start and start[-1].isdigit():
        start = start[:-1]
    end = os.path.commonprefix([n[len(start):][::-1] for n in names])[::-1]
    while end and end[0].isdigit():
        end = end[1:]
    if len(start.strip("/-_. ")) + len(end.strip("/-_. ")) < 2:
        return f"{runs[0]} + {len(runs) - 1} more"
    return f"{start}*{end}"


def summarise(rows: Sequence[dict], groups: Sequence[Group], by: Sequence[str] = ()) -> list[dict]:
    """One row per group (and value of the ``by`` keys, e.g. the temperature) from the runs'
    rows (each with its ``run``): every number as the mean over the group's runs that have
    it, with ``NAME_sd``, their sample standard deviation, when two or more do."""
    summary = []
    for group in groups:
        own = [r for r in rows if r["run"] in group.runs]
        for values in dict.fromkeys(tuple(r.get(k) for k in by) for r in own):
            chosen = [r for r in own if tuple(r.get(k) for k in by) == values]
            row: dict = {"run": group.label, "n": len(group.runs), **dict(zip(by, values, strict=True))}
            for key in dict.fromkeys(k for r in chosen for k in r):
                numbers = [r[key] for r in chosen if key not in row and is_number(r.get(key))]
                if numbers:
                    mean = statistics.fmean(numbers)
                    whole = all(isinstance(n, int) for n in numbers) and mean.is_integer()
                    row[key] = int(mean) if whole else mean  # a step stays a step
                    if len(numbers) > 1:
                        row[f"{key}_sd"] = statistics.stdev(numbers)
            summary.append(row | {"runs": list(group.runs)})
    return summary


def format_summary(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """``format_table`` of summarised rows, each number with its sd ("9.0270 ± 0.0920"),
    but a count every run shares (the last step, say) alone."""
    def cell(row: dict, column: str) -> object:
        value, sd = row.get(column, ""), row.get(f"{column}_sd")
        if sd is None or column == "n" or (sd == 0 and isinstance(value, int)):
            return value
        return f"{value:.4f} ± {sd:.4f}"

    return format_table([{c: cell(r, c) for c in columns} for r in rows], columns)


def _last_values(run: LoggedRun, metrics: Sequence[str]) -> dict:
    """The last step of ``run``'s log, its last ``completions``, and each metric's last
    logged value: the run's row of the log table."""
    row: dict = {"run": run.path, "step": run.records[-1][run.step_key]}
    for key in (COMPLETIONS, *metrics):
        logged = [r[key] for r in run.records if is_number(r.get(key))]
        if logged:
            row[key] = logged[-1]
    return row


def compare_logs(args: argparse.Namespace) -> int:
    """``textrl compare`` with ``--curves`` or ``--tensorboard``: from the runs' logs alone,
    a table of each group's last logged values, the learning curves, TensorBoard scalars."""
    from textrl import curves

    if args.plot or args.scorer:
        raise UserError("--plot and --scorer sample the runs' checkpoints, --curves and "
                        "--tensorboard read their logs only: give them in two commands")
    writer = curves.summary_writer() if args.tensorboard else None
    runs = [read_logged_run(run) for run in args.runs]
    metrics = list(dict.fromkeys(args.curves or []))
    logged = sorted({k for r in runs for rec in r.records for k, v in rec.items() if is_number(v)})
    for metric in metrics:
        if metric not in logged:
            raise UserError(f"no run logged {metric!r} in its metrics.jsonl; the runs log: "
                            f"{', '.join(logged)}")
    out = Path(args.curves_out)
    if metrics and out.exists() and not out.is_dir():
        raise UserError(f"--curves-out {out}: exists and is not a folder; name a folder")
    groups = group_runs(args.runs, [r.config for r in runs], args.ignore_keys, args.per_run)
    rows = summarise([_last_values(r, metrics) for r in runs], groups)
    columns = [c for c in ("run", "n", "step", COMPLETIONS, *metrics) if any(c in r for r in rows)]
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(format_summary(rows, columns))
    by_path = {r.path: r for r in runs}
    grouped = [(g.label, [by_path[p] for p in g.runs]) for g in groups]
    if metrics:
        out.mkdir(parents=True, exist_ok=True)
        for metric, png in curves.draw_curves(grouped, metrics, out):
            print(json.dumps({"metric": metric, "png": str(png)}) if args.json else png)
    if writer is not None:
        folders = curves.write_tensorboard(writer, grouped, metrics, Path(args.tensorboard))
        print(f"compare: wrote the TensorBoard scalars of {plural(len(folders), 'run')} to "
              f"{args.tensorboard} (tensorboard --logdir {args.tensorboard})", file=sys.stderr)
    return 0
