"""Learning curves of groups of runs, read from their ``metrics.jsonl``: a PNG per metric,
against training steps and (where the runs log it) the number of sentences sampled, a mean
line and a ± sd band per group; and each run's curves as TensorBoard scalars.

The completions panel is there because steps are not a common currency: an iteration of
one algorithm may sample 64 sentences and another's 640. Against completions, algorithms
are compared at equal sampling cost.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from textrl.compare import COMPLETIONS, STEP_KEYS, LoggedRun, is_number
from textrl.errors import UserError

Grouped = Sequence[tuple[str, Sequence[LoggedRun]]]  # (group label, its runs)


class _Notes:
    """Notes on stderr, each said once (most hold for every metric)."""

    def __init__(self) -> None:
        self.said: set[str] = set()

    def __call__(self, message: str) -> None:
        if message not in self.said:
            self.said.add(message)
            print(f"compare: {message}", file=sys.stderr)


def series(run: LoggedRun, metric: str, x: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``metric`` against ``x`` (``"step"``: the run's step key; ``COMPLETIONS``) from the
    records that log it, or ``None`` if none do (or, against completions, the run logs none).
    A record without completions takes the last count logged before it (0 before any: at
    the start nothing has been sampled); a repeated x keeps its last value."""
    if x == COMPLETIONS and not any(is_number(r.get(COMPLETIONS)) for r in run.records):
        return None
    points: dict[float, float] = {}
    sampled = 0.0
    for record in run.records:
        if is_number(record.get(COMPLETIONS)):
            sampled = float(record[COMPLETIONS])
        if is_number(record.get(metric)):
            points[sampled if x == COMPLETIONS else float(record[run.step_key])] = record[metric]
    if not points:
        return None
    xs = np.array(sorted(points))
    return xs, np.array([points[v] for v in xs], dtype=float)


def band(curves: Sequence[tuple[np.ndarray, np.ndarray]]
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The mean and sample sd of ``curves`` (x, y) on the union of their x: each curve is
    interpolated linearly between its own points and never extrapolated, so at an x past
    the end of some runs the mean is over the runs that reach it (the returned counts)."""
    grid = np.unique(np.concatenate([x for x, _ in curves]))
    values = np.full((len(curves), len(grid)), np.nan)
    for row, (x, y) in zip(values, curves, strict=True):
        inside = (grid >= x[0]) & (grid <= x[-1])
        row[inside] = np.interp(grid[inside], x, y)
    counts = (~np.isnan(values)).sum(axis=0)
    mean = np.nansum(values, axis=0) / counts
    squares = np.nansum((values - mean) ** 2, axis=0)
    sd = np.sqrt(np.divide(squares, counts - 1, out=np.zeros_like(mean), where=counts > 1))
    return grid, mean, sd, counts


def _file_name(metric: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", metric).strip("._") or "metric"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def draw_curves(grouped: Grouped, metrics: Sequence[str], out: Path) -> list[tuple[str, Path]]:
    """A PNG per metric in ``out``: its curve against steps and, when some run logs
    ``completions``, against completions too; a mean line and ± sd band per group. Notes on
    stderr what is left out. Returns the (metric, PNG path) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    note = _Notes()
    runs = [run for _, members in grouped for run in members]
    without = [r.path for r in runs if not any(is_number(x.get(COMPLETIONS)) for x in r.records)]
    panels = ["step"] + ([COMPLETIONS] if len(without) < len(runs) else [])
    if len(panels) == 1:
        note(f"no run logs {COMPLETIONS} (the cumulative number of sentences sampled): the "
             "curves are against training steps only")
    elif without:
        note(f"{', '.join(without)} log no {COMPLETIONS}: in the step panels only")
    keys = sorted({r.step_key for r in runs}, key=STEP_KEYS.index)
    step_label = keys[0] if len(keys) == 1 else f"step ({' / '.join(keys)})"
    written, taken = [], set()
    for metric in metrics:
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
        for index, (label, members) in enumerate(grouped):
            color = f"C{index % 10}"
            for ax, x in zip(axes[0], panels, strict=True):
                found = [c for c in (series(r, metric, x) for r in members) if c is not None]
                if not found:
                    if x == "step":
                        note(f"{label} logged no {metric}: not in its curves")
                    continue
                grid, mean, sd, counts = band(found)
                if len(found) > 1 and counts.min() < len(found):
                    note(f"{label}: its runs logged {metric} over different ranges; past the end "
                         "of one, the mean and band are over the runs that go on")
                ax.plot(grid, mean, color=color, marker="." if len(grid) < 30 else None,
                        label=f"{label} (n={len(found)})")
                if len(found) > 1:
                    ax.fill_between(grid, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
        for ax, x in zip(axes[0], panels, strict=True):
            ax.set_xlabel(step_label if x == "step" else "completions (sentences sampled)")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.suptitle(f"{metric}: mean ± sd over seeds")
        fig.tight_layout()
        path = out / f"{_file_name(metric, taken)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append((metric, path))
    return written


def summary_writer() -> type:
    """TensorBoard's ``SummaryWriter``, or a ``UserError`` saying how to install it."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UserError("--tensorboard needs the tensorboard package: pip install "
                        "'textrl[tensorboard]'") from None
    return SummaryWriter


def write_tensorboard(writer: type, grouped: Grouped, metrics: Sequence[str], out: Path
                      ) -> list[Path]:
    """Each run's ``metrics`` (all its numbers when none are named) as TensorBoard scalars in
    ``out/GROUP/RUN`` (the last parts of the group's label and of the run's path, so
    TensorBoard's run filter selects a group): each metric against the step, and as
    ``by_completions/METRIC`` against the completions where logged. Returns the folders."""
    folders, groups = [], set()
    for label, members in grouped:
        group, taken = _file_name(Path(label).name or label, groups), set()
        for run in members:
            folder = out / group / _file_name(Path(run.path).name or run.path, taken)
            names = metrics or sorted({k for r in run.records for k, v in r.items()
                                       if is_number(v) and k != run.step_key})
            with writer(str(folder)) as board:
                logs_completions = any(is_number(r.get(COMPLETIONS)) for r in run.records)
                sampled = 0 if logs_completions else None  # nothing sampled before the first count
                for record in run.records:
                    if is_number(record.get(COMPLETIONS)):
                        sampled = int(record[COMPLETIONS])
                    for name in names:
                        if is_number(record.get(name)):
                            board.add_scalar(name, record[name], int(record[run.step_key]))
                            if sampled is not None and name != COMPLETIONS:
                                board.add_scalar(f"by_completions/{name}", record[name], sampled)
            folders.append(folder)
    return folders
