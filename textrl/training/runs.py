"""A run directory: config, vocab, atomic checkpoints, a JSON-lines metrics log, a plot.

Layout::

    DIR/config.yaml          the full configuration of the run
    DIR/vocab.json           the vocabulary
    DIR/tokenizer/           a Hugging Face tokenizer's own files (an hf:PATH tokenizer), so
                             the run samples and evaluates without the model's folder
    DIR/checkpoint.pt        the latest state (weights_only-loadable), replaced atomically
    DIR/best.pt              the weights with the best validation NLL so far
    DIR/metrics.jsonl        one JSON object per logged step
    DIR/samples.jsonl        decoded samples during training (``--sample-every``)
    DIR/learning_curve.png   the metrics against the step, redrawn at every evaluation
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import yaml

from textrl.data.tokenizers import HF_PREFIX, get_tokenizer, is_pretrained
from textrl.data.vocab import Vocab
from textrl.errors import CheckpointError
from textrl.files import atomic_write

if TYPE_CHECKING:
    from textrl.datasets import DataConfig


class RunDir:
    """``writes=False``: a reader (a process other than 0 of a distributed run), whose
    writing methods do nothing."""

    def __init__(self, path: str | os.PathLike, writes: bool = True):
        self.path = Path(path)
        self.writes = writes
        self.config = self.path / "config.yaml"
        self.vocab = self.path / "vocab.json"
        self.tokenizer = self.path / "tokenizer"
        self.checkpoint = self.path / "checkpoint.pt"
        self.best = self.path / "best.pt"
        self.metrics = self.path / "metrics.jsonl"
        self.plot = self.path / "learning_curve.png"
        self.samples = self.path / "samples.jsonl"

    def check(self, resume: bool) -> None:
        """Refuse what cannot be started (or resumed) here, creating nothing."""
        if self.path.exists() and not self.path.is_dir():
            raise CheckpointError(f"{self.path}: exists and is not a directory; choose another --out")
        if not resume and self.checkpoint.exists():
            raise CheckpointError(f"{self.path}: already holds a run; pass --resume to continue "
                                  "it, or choose another --out")
        if not resume and self.metrics.exists():
            raise CheckpointError(f"{self.path}: holds the metrics.jsonl of an earlier run but no "
                                  "checkpoint; delete that directory or choose another --out, so "
                                  "two runs' logs are never mixed")
        if resume and not self.checkpoint.exists():
            raise CheckpointError(f"{self.path}: no checkpoint.pt to resume from; drop --resume "
                                  "to start a new run")

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.config, self.vocab, self.checkpoint, self.best, self.metrics, self.plot,
                self.samples)

    def snapshot(self) -> tuple[set[Path], Path | None]:
        """What is here before a run starts: which of its files exist, and the outermost
        folder of its path that does not (what creating it would make)."""
        missing = None
        for folder in (self.path, *self.path.parents):
            if folder.exists():
                break
            missing = folder
        return {path for path in self.files if path.exists()}, missing

    def discard(self, before: tuple[set[Path], Path | None]) -> None:
        """Undo a start that failed before doing any work: delete the run files it wrote (not
        those that were ``before`` it, say a config.yaml passed with --config) and the
        folders it made, if nothing else was put in them."""
        if not self.writes:
            return
        existed, made = before
        for path in self.files:
            if path not in existed:
                path.unlink(missing_ok=True)
        if made is None:
            return
        for folder in (self.path, *self.path.parents):
            if not folder.is_dir() or any(folder.iterdir()):
                return
            folder.rmdir()
            if folder == made:
                return

    def create(self, resume: bool) -> None:
        self.check(resume)
        if self.writes:
            self.path.mkdir(parents=True, exist_ok=True)

    def save_vocab(self, vocab: Vocab) -> None:
        if self.writes:
            vocab.save(self.vocab)

    def save_tokenizer(self, name: str) -> None:
        """A pretrained tokenizer (``hf:PATH``) saved into ``DIR/tokenizer``, replaced whole
        (written beside it, then renamed); any other tokenizer needs no files."""
        if not self.writes or not is_pretrained(name):
            return
        partial = self.path / ".tokenizer.partial"
        shutil.rmtree(partial, ignore_errors=True)
        get_tokenizer(name).tokenizer.save_pretrained(partial)
        shutil.rmtree(self.tokenizer, ignore_errors=True)
        partial.rename(self.tokenizer)

    def tokenizer_of(self, data: DataConfig) -> DataConfig:
        """``data``, reading its pretrained tokenizer from ``DIR/tokenizer`` where the folder
        or GGUF file it was trained with is gone (moved, deleted, another machine)."""
        if (not is_pretrained(data.tokenizer) or Path(data.tokenizer[len(HF_PREFIX):]).exists()
                or not self.tokenizer.is_dir()):
            return data
        return replace(data, tokenizer=HF_PREFIX + str(self.tokenizer.resolve()))

    def save_config(self, config: dict) -> None:
        if not self.writes:
            return
        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True).encode("utf-8")
        atomic_write(self.config, lambda f: f.write(text))

    def load_config(self) -> dict:
        if not self.config.is_file():
            raise CheckpointError(f"{self.path}: no config.yaml; is this a textrl run directory?")
        try:
            config = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{self.config}: unreadable YAML ({exc})") from None
        if not isinstance(config, dict):
            raise CheckpointError(f"{self.config}: expected a mapping of settings")
        return config

    def save_checkpoint(self, state: dict, best: bool = False) -> None:
        if not self.writes:
            return
        atomic_write(self.best if best else self.checkpoint, lambda f: torch.save(state, f))

    def load_checkpoint(self, best: bool = False) -> dict:
        path = self.best if best else self.checkpoint
        if not path.is_file():
            hint = ("it is written at the first evaluation; use --checkpoint last" if best
                    else "train a model into this directory first")
            raise CheckpointError(f"{self.path}: no {path.name}; {hint}")
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many kinds for a damaged or foreign file
            raise CheckpointError(f"{path}: unreadable checkpoint "
                                  f"({type(exc).__name__}); delete it and retrain") from None

    def log(self, record: dict, path: Path | None = None) -> None:
        """Append ``record`` to ``metrics.jsonl`` (or ``path``) as strict JSON (no NaN)."""
        if not self.writes:
            return
        with (path or self.metrics).open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, allow_nan=False, ensure_ascii=False) + "\n")

    def read_log(self) -> list[dict]:
        if not self.metrics.exists():
            return []
        return [json.loads(line) for line in self.metrics.read_text("utf-8").splitlines() if line]

    def truncate_log(self, last_step: int, key: str = "epoch") -> None:
        """Drop records after ``last_step``: written after the checkpoint a resume starts from."""
        if not self.writes:
            return
        kept = [r for r in self.read_log() if r.get(key, 0) <= last_step]
        text = "".join(json.dumps(r) + "\n" for r in kept).encode("utf-8")
        atomic_write(self.metrics, lambda f: f.write(text))

    def plot_log(self, key: str = "epoch", names: list[str] | None = None) -> None:
        """One panel per logged metric (or per name in ``names`` that was logged) against
        ``key``, three panels a row, whole-number steps on the x-axis."""
        if not self.writes:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        records = self.read_log()
        logged = {k for r in records for k, v in r.items()
                  if k not in (key, "time_s") and isinstance(v, (int, float))}
        # Evaluated metrics (absent from some steps) first, then the per-step statistics.
        logged = sorted(logged, key=lambda k: (all(k in r for r in records), k))
        names = logged if names is None else [n for n in names if n in logged]
        if not names:
            return
        rows, cols = (len(names) + 2) // 3, min(len(names), 3)
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
        for ax in axes.flat[len(names):]:
            ax.set_visible(False)
        for ax, name in zip(axes.flat, names, strict=False):
            points = [(r[key], r[name]) for r in records if name in r]
            ax.plot(*zip(*points, strict=True), marker="." if len(points) < 30 else None)
            ax.set_xlabel(key)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(name)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        atomic_write(self.plot, lambda f: fig.savefig(f, format="png", dpi=90))
        plt.close(fig)
