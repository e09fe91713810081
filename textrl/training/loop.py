"""The one run loop every trainer goes through: run directory, ``config.yaml``, resume with
RNG state and the allowed-changes check, evaluation cadence, progress bar, ``metrics.jsonl``,
learning curve, and atomic checkpoints tagged with the kind of run that wrote them.

A trainer (MLE, the adversarial loop, and the trainers to come) supplies only what is its
own: one training step, its evaluation, and its state. ``load_run`` reads any run back.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import torch
from tqdm import tqdm

from textrl.data.corpus import Corpus
from textrl.data.vocab import Vocab
from textrl.datasets import DataConfig, build_corpus, data_fingerprint
from textrl.errors import CheckpointError
from textrl.models import policy_from_dict
from textrl.models.base import Policy
from textrl.oracle import OracleLSTM
from textrl.training.runs import RunDir

BEST_BY = "nll_valid"  # best.pt: selected on the validation split, never on a test metric


class Trainer(Protocol):
    """What the run loop needs from a trainer.

    ``kind`` tags its checkpoints; ``unit`` names a step in the log ("epoch", "iteration");
    ``total``, ``eval_every`` and ``checkpoint_every`` count steps; ``generator`` is its
    random stream (saved with torch's global one). ``begin()`` runs once on a fresh run
    (e.g. reward pretraining) and returns step 0's record, or ``None``; ``train_step(step)``
    runs step ``step`` (1-based) and ``evaluate(step)`` scores the policy after it.
    ``weights()`` is what loading the run needs (data, vocabulary, ``policy``'s weights);
    ``state_dict`` and ``load_state_dict`` the rest of its state (optimisers, reward,
    rollout policy).
    """

    kind: str
    unit: str
    total: int
    eval_every: int
    checkpoint_every: int
    generator: torch.Generator
    plotted: list[str] | None
    vocab: Vocab
    policy: Policy

    def begin(self) -> dict | None: ...

    def train_step(self, step: int) -> dict: ...

    def evaluate(self, step: int) -> dict: ...

    def weights(self) -> dict: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


def model_weights(data: DataConfig, vocab: Vocab, policy: Policy) -> dict:
    """The part of a checkpoint that ``load_run`` reads: data settings and fingerprint,
    vocabulary, model class, config and weights."""
    return {"data": asdict(data), "fingerprint": data_fingerprint(data), "vocab": vocab.to_dict(),
            "model": policy.to_dict()}


def run_training(trainer: Trainer, config: Any, out: str | Path, resume: bool = False,
                 progress: bool = True) -> dict:
    """Train (or resume) ``trainer`` in ``out`` until ``trainer.total`` steps; returns the
    last evaluation record. ``config`` is the run's ``RunConfig`` (saved as config.yaml and
    in every checkpoint; a resume may change only its resumable settings)."""
    run = RunDir(out)
    run.create(resume)
    step, best = 0, float("inf")
    if resume:
        state = run.load_checkpoint()
        if state.get("kind") != trainer.kind:
            raise CheckpointError(f"{run.path}: holds a {state.get('kind', 'unknown')} run, not "
                                  f"a {trainer.kind} run; resume it with its own recipe")
        config.check_resumable(state["config"], str(run.path))
        trainer.policy.load_state_dict(state["model"]["state_dict"])
        trainer.load_state_dict(state["trainer"])
        trainer.generator.set_state(state["rng"]["generator"])
        torch.set_rng_state(state["rng"]["torch"])
        step, best = state["step"], state.get("best", best)
        run.truncate_log(step, key=trainer.unit)
    else:
        trainer.vocab.save(run.vocab)
        record = trainer.begin()
        if record is not None:
            run.log({trainer.unit: 0} | record)
            if BEST_BY in record:
                best = record[BEST_BY]
                run.save_checkpoint(_tagged(trainer, config, 0) | {BEST_BY: best}, best=True)
            _checkpoint(run, trainer, config, 0, best)
    run.save_config(config.to_dict())
    last: dict = {}
    bar = tqdm(range(step, trainer.total), initial=step, total=trainer.total,
               desc=config.recipe, unit=trainer.unit, disable=not progress)
    for _ in bar:
        t0 = time.perf_counter()
        step += 1
        record = {trainer.unit: step} | trainer.train_step(step)
        if step % trainer.eval_every == 0 or step == trainer.total:
            record |= trainer.evaluate(step)
            last = record
        record["time_s"] = time.perf_counter() - t0
        bar.set_postfix({k: f"{v:.3f}" for k, v in record.items()
                         if k.startswith("nll") or k == "train_nll"})
        run.log(record)
        if record.get(BEST_BY, float("inf")) < best:
            best = record[BEST_BY]
            run.save_checkpoint(_tagged(trainer, config, step) | {BEST_BY: best}, best=True)
        if step % trainer.checkpoint_every == 0 or step == trainer.total:
            _checkpoint(run, trainer, config, step, best)
    run.plot_log(key=trainer.unit, names=trainer.plotted)
    return last


def _tagged(trainer: Trainer, config: Any, step: int) -> dict:
    return {"kind": trainer.kind, "step": step, "config": config.to_dict()} | trainer.weights()


def _checkpoint(run: RunDir, trainer: Trainer, config: Any, step: int, best: float) -> None:
    run.save_checkpoint(_tagged(trainer, config, step) | {
        "trainer": trainer.state_dict(), "best": best,
        "rng": {"generator": trainer.generator.get_state(), "torch": torch.get_rng_state()}})


class LoadedRun(NamedTuple):
    """A run read back: its kind, settings, data, oracle (oracle runs) and trained model."""

    kind: str
    config: dict
    data: DataConfig
    corpus: Corpus
    oracle: OracleLSTM | None
    model: Policy


def load_run(out: str | Path, best: bool = False) -> LoadedRun:
    """Rebuild a finished (or interrupted) run of any kind: its data and its latest model,
    or with ``best`` the one with the best validation NLL."""
    run = RunDir(out)
    if not run.path.is_dir():
        raise CheckpointError(f"{run.path}: no such run directory; train one with "
                              "`textrl train mle --out DIR`")
    state = run.load_checkpoint(best)
    if "kind" not in state or "data" not in state:
        raise CheckpointError(f"{run.path}: a checkpoint from an older textrl (no run kind); "
                              "retrain it with this version")
    data = DataConfig(**state["data"])
    if data_fingerprint(data) != state["fingerprint"]:
        raise CheckpointError(f"{run.path}: the data files changed since training "
                              f"({', '.join(state['fingerprint'])}); restore them or retrain")
    corpus, oracle = build_corpus(data)
    if corpus.vocab.to_dict() != state["vocab"]:
        raise CheckpointError(f"{run.path}: the rebuilt vocabulary differs from the checkpoint's")
    model = policy_from_dict(state["model"])
    model.eval()
    return LoadedRun(state["kind"], state["config"], data, corpus, oracle, model)
