"""The one run loop every trainer goes through: run directory, ``config.yaml``, resume with
RNG state and the allowed-changes check, evaluation cadence, progress bar, ``metrics.jsonl``,
learning curve, and atomic checkpoints tagged with the kind of run that wrote them.

A trainer (MLE, the adversarial loop, and the trainers to come) supplies only what is its
own: one training step, its evaluation, and its state. ``load_run`` reads any run back.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import torch
from tqdm import tqdm

from textrl import distributed
from textrl.data.corpus import Corpus
from textrl.data.tokenizers import get_tokenizer
from textrl.data.vocab import Vocab
from textrl.datasets import DataConfig, build_corpus, data_fingerprint
from textrl.device import seeded_generator
from textrl.errors import CheckpointError, DivergenceError, UserError, a
from textrl.models import policy_from_dict
from textrl.models.base import Policy
from textrl.models.modes import eval_mode
from textrl.oracle import OracleLSTM
from textrl.training.base import Trainer
from textrl.training.runs import RunDir

BEST_BY = "nll_valid"  # best.pt: selected on the validation split, never on a test metric


def model_weights(trainer: Trainer) -> dict:
    """The part of a checkpoint that ``load_run`` reads: data settings and fingerprint,
    vocabulary, sequence length, model class, config and weights."""
    return {"data": asdict(trainer.data), "fingerprint": trainer.fingerprint,
            "vocab": trainer.vocab.to_dict(), "max_len": trainer.max_len,
            "model": trainer.policy.to_dict()}


class RunOptions(NamedTuple):
    """How and where a run is run; none of it changes what is trained (up to float rounding
    on another device), so a resume may change it. ``device``: where the run's models, data
    and random streams live.

    ``sample_every``: every N steps, decode ``samples`` sentences to ``samples.jsonl`` and the
    console (0: never). ``tensorboard``: a folder for TensorBoard event files (scalars and
    samples), or ``None``."""

    progress: bool = True
    sample_every: int = 0
    samples: int = 3
    tensorboard: str | None = None
    device: str = "cpu"


def decode_samples(trainer: Trainer, n: int, seed: int) -> list[str]:
    """``n`` sentences from the trainer's policy, drawn with their own seeded stream (the
    training stream is untouched) and detokenised like the training data."""
    with eval_mode(trainer.policy):
        sample = trainer.policy.sample(n, trainer.max_len,
                                       generator=seeded_generator(seed, trainer.generator.device))
    tokenizer = get_tokenizer(trainer.data.tokenizer, trainer.data.keep_spaces)
    stream = trainer.data.windows is not None  # EOS separates sentences inside a window
    return trainer.vocab.texts(sample.tokens, sample.lengths, tokenizer, stream)


class _Watchers:
    """The run's log, samples and TensorBoard writer."""

    def __init__(self, run: RunDir, trainer: Trainer, options: RunOptions):
        self.run, self.trainer, self.options = run, trainer, options
        self.writer = None
        if options.tensorboard and run.writes:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise UserError("--tensorboard needs the tensorboard package: pip install "
                                "'textrl[tensorboard]'") from None
            self.writer = SummaryWriter(options.tensorboard)

    def log(self, record: dict) -> None:
        step = record[self.trainer.unit]
        self.run.log(record)
        if self.writer is not None:
            for key, value in record.items():
                if key != self.trainer.unit and isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, step)
            self.writer.flush()

    def sample(self, step: int, seed: int) -> None:
        every = self.options.sample_every
        if not every or step % every or not self.run.writes:
            return
        texts = decode_samples(self.trainer, self.options.samples, seed + step)
        self.run.log({self.trainer.unit: step, "samples": texts}, self.run.samples)
        for text in texts:
            tqdm.write(f"[{self.trainer.unit} {step}] {text}", file=sys.stderr)
        if self.writer is not None:
            self.writer.add_text("samples", "\n\n".join(texts), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def run_training(trainer: Trainer, config: Any, out: str | Path, resume: bool = False,
                 progress: bool = True, options: RunOptions | None = None) -> dict:
    """Train (or resume) ``trainer`` in ``out`` until ``trainer.total`` steps; returns the
    last evaluation record, with ``time_s`` the whole run's training time. ``config`` is the
    run's ``RunConfig`` (saved as config.yaml and in every checkpoint; a resume may change
    only its resumable settings).

    A non-finite loss, gradient or metric stops the run at once with a ``DivergenceError``
    naming the step; the last checkpoint is left as it was, so ``--resume`` (with, say, a
    lower learning rate) continues from it. A new run that fails (or is interrupted) before
    it has done any work (a reward pretraining round or a training step) leaves nothing
    behind: the files it wrote and the folders it made go, so the same command can simply
    be run again."""
    progress = progress and distributed.is_main()
    options = (options or RunOptions())._replace(progress=progress)
    trainer.progress = progress
    run = RunDir(out, writes=distributed.is_main())
    run.check(resume)
    distributed.barrier()  # every process has checked before process 0 writes
    before = run.snapshot()
    work = _Work()
    try:
        return _train(trainer, config, run, resume, options, work)
    except BaseException as exc:
        if not resume and not work.done:
            run.discard(before)
            if isinstance(exc, KeyboardInterrupt):
                raise KeyboardInterrupt("interrupted before anything was saved; nothing is "
                                        f"left in {run.path}: run the same command again") from None
        raise


class _Work:
    """Whether a run has done work a failure must keep (``done``: a reward pretraining round
    or a training step), and the step of the checkpoint a failure leaves (``saved``;
    ``None``: none yet)."""

    def __init__(self) -> None:
        self.done, self.saved = False, None


def _train(trainer: Trainer, config: Any, run: RunDir, resume: bool, options: RunOptions,
           work: _Work) -> dict:
    step, best, pending, pretrained = 0, float("inf"), None, 0
    last: dict = {}
    if resume:
        state = run.load_checkpoint()
        if state.get("kind") != trainer.kind:
            raise CheckpointError(f"{run.path}: holds {a(state.get('kind', 'unknown'))} run, not "
                                  f"{a(trainer.kind)} run; resume it with its own recipe")
        config.check_resumable(state["config"], str(run.path))
        if trainer.total < state["step"]:
            raise UserError(f"{run.path}: --resume asks for {trainer.total} {trainer.unit}s, but "
                            f"{state['step']} are done; ask for at least as many")
        trainer.policy.load_state_dict(state["model"]["state_dict"])
        trainer.load_state_dict(state["trainer"])
        step, best = state["step"], state["best"]
        _restore_streams(trainer.generator, state["rng"], config.seed, step)
        pending, pretrained = state["pending"], state["pretrained"]
        run.truncate_log(step if pending is None else -1, key=trainer.unit)
        work.saved = step
    else:
        run.create(resume)
        run.save_vocab(trainer.vocab)
        run.save_tokenizer(trainer.data.tokenizer)
        pending = distributed.from_main(trainer.begin() if distributed.is_main() else None)
    run.save_config(config.to_dict() | _launch(config.seed))
    watch = _Watchers(run, trainer, options)
    where = f"{trainer.unit} {step + 1}"
    try:
        if pending is not None:  # step 0: the start's evaluation, then reward pretraining
            rounds = tqdm(range(pretrained, trainer.pretrain_rounds), initial=pretrained,
                          total=trainer.pretrain_rounds, desc="reward pretraining", unit="round",
                          disable=not options.progress or not trainer.pretrain_rounds,
                          leave=False)
            for index in rounds:
                where = f"reward pretraining round {index + 1}"
                t0 = time.perf_counter()
                pending |= _finite(distributed.mean_stats(trainer.pretrain_round(index)))
                pending["d_pretrain_s"] = pending.get("d_pretrain_s", 0.0) + time.perf_counter() - t0
                _checkpoint(run, trainer, config, 0, best, pending, index + 1)
                work.saved, work.done = 0, True
            record = {trainer.unit: 0} | pending
            last = record  # the start's evaluation: a run of no steps returns it
            watch.log(record)
            if record.get(BEST_BY, math.inf) < best:
                best = record[BEST_BY]
                run.save_checkpoint(_tagged(trainer, config, 0) | {BEST_BY: best}, best=True)
            _checkpoint(run, trainer, config, 0, best, None, trainer.pretrain_rounds)
            work.saved = 0
        bar = tqdm(range(step, trainer.total), initial=step, total=trainer.total,
                   desc=config.recipe, unit=trainer.unit, disable=not options.progress)
        for _ in bar:
            if trainer.stopped:
                break  # e.g. texar's learning-rate rule ended the run (--lr-halvings)
            t0 = time.perf_counter()
            step += 1
            where = f"{trainer.unit} {step}"
            record = {trainer.unit: step} | _finite(distributed.mean_stats(trainer.train_step(step)))
            evaluated = step % trainer.eval_every == 0 or step == trainer.total
            if evaluated:  # by process 0 alone; every process gets its numbers
                record |= _finite(distributed.from_main(
                    trainer.evaluate(step) if distributed.is_main() else None))
                _not_collapsed(record, len(trainer.vocab))
                last = record
            record["time_s"] = time.perf_counter() - t0
            work.done = True  # a step trained: its log and best.pt are kept from here on
            bar.set_postfix({k: f"{v:.3f}" for k, v in record.items()
                             if k.startswith("nll") or k == "train_nll"})
            watch.log(record)
            watch.sample(step, config.seed)
            if record.get(BEST_BY, math.inf) < best:
                best = record[BEST_BY]
                run.save_checkpoint(_tagged(trainer, config, step) | {BEST_BY: best}, best=True)
            if step % trainer.checkpoint_every == 0 or step == trainer.total:
                _checkpoint(run, trainer, config, step, best, None, trainer.pretrain_rounds)
                work.saved = step
            if evaluated:
                run.plot_log(key=trainer.unit, names=trainer.plotted)
    except DivergenceError as exc:
        kept = ("nothing was kept" if not work.done and not resume else
                f"the checkpoint of {trainer.unit} {work.saved} is kept, and --resume "
                "continues from it")
        raise DivergenceError(f"training diverged at {where} ({exc}); {kept}. Try a lower "
                              "learning rate (--lr, or --d-lr for the reward) or gradient clip"
                              ) from None
    finally:
        watch.close()
    run.plot_log(key=trainer.unit, names=trainer.plotted)
    distributed.barrier()  # the log is complete before anyone reads it
    return last | {"time_s": sum(r.get("time_s", 0.0) + r.get("d_pretrain_s", 0.0)
                                 for r in run.read_log())}


def _launch(seed: int) -> dict:
    """How the run was launched, recorded in config.yaml (not a setting): the number of
    processes and each one's sampling-stream seed."""
    if not distributed.active():
        return {}
    return {"launch": {"processes": distributed.world(),
                       "stream_seeds": distributed.gather(distributed.stream_seed(seed))}}


def _finite(record: dict) -> dict:
    """``record``, or a ``DivergenceError`` naming its non-finite values."""
    bad = {k: v for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)}
    if bad:
        raise DivergenceError(", ".join(f"{k} is {v}" for k, v in bad.items()))
    return record


def _not_collapsed(record: dict, vocab_size: int) -> None:
    """A ``DivergenceError`` when the validation NLL is ten times a uniform policy's
    (log V nats a token): finite, but the policy gives the real text next to no mass."""
    ceiling = 10 * math.log(vocab_size)
    if record.get(BEST_BY, 0.0) > ceiling:
        raise DivergenceError(f"{BEST_BY} is {record[BEST_BY]:.4g}, over ten times a uniform "
                              f"policy's {ceiling / 10:.3g}: the policy has collapsed")


def _tagged(trainer: Trainer, config: Any, step: int) -> dict:
    return {"kind": trainer.kind, "step": step, "config": config.to_dict()} | model_weights(trainer)


def _checkpoint(run: RunDir, trainer: Trainer, config: Any, step: int, best: float,
                pending: dict | None, pretrained: int) -> None:
    run.save_checkpoint(_tagged(trainer, config, step) | {
        "trainer": trainer.state_dict(), "best": best, "pending": pending,
        "pretrained": pretrained,
        "rng": _streams(trainer.generator)})


def _streams(generator: torch.Generator) -> dict:
    """The random streams to save: this process's (process 0's in a distributed run) at the
    top, as a run in one process saves them, and every process's under ``processes``."""
    own = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if generator.device.type == "cuda":  # dropout on a GPU draws from the CUDA stream
        own["cuda"] = torch.cuda.get_rng_state(generator.device)
    streams = own | {"device": generator.device.type}
    if distributed.active():
        streams["processes"] = distributed.gather(own)
    return streams


def _restore_streams(generator: torch.Generator, rng: dict, seed: int, step: int) -> None:
    """The random streams as the checkpoint left them. A run resumed on another kind of
    device (whose generators keep a different state) or with another number of processes
    continues on fresh streams drawn from its seed and step, and says so."""
    saved = rng.get("processes", [rng])
    was = (rng.get("device", "cpu"), len(saved))
    now = (generator.device.type, distributed.world())
    if was == now:
        own = saved[distributed.rank()]
        generator.set_state(own["generator"])
        torch.set_rng_state(own["torch"])
        if "cuda" in own:
            torch.cuda.set_rng_state(own["cuda"], generator.device)
        return
    generator.manual_seed(distributed.stream_seed(seed) + 7_919 * (step + 1))
    if distributed.is_main():
        tqdm.write(f"note: this run was last trained on {was[0]} in {was[1]} process(es) and "
                   f"resumes on {now[0]} in {now[1]}; its random streams restart from the seed "
                   "and step, so it will not repeat an uninterrupted run number for number",
                   file=sys.stderr)


class LoadedRun(NamedTuple):
    """A run read back: its kind, settings, data settings, vocabulary, sequence length and
    trained model; with its data, also the corpus and (oracle runs) the oracle."""

    kind: str
    config: dict
    data: DataConfig
    vocab: Vocab
    max_len: int | None
    model: Policy
    corpus: Corpus | None = None
    oracle: OracleLSTM | None = None


def load_run(out: str | Path, best: bool = False, with_data: bool = True,
             device: torch.device | str = "cpu") -> LoadedRun:
    """Rebuild a finished (or interrupted) run of any kind, written on any device, onto
    ``device``: its latest model, or with ``best`` the one with the best validation NLL.
    ``with_data=False`` reads the checkpoint alone (enough to sample): the training files
    need not exist any more."""
    run = RunDir(out)
    if not run.path.is_dir():
        raise CheckpointError(f"{run.path}: no such run directory; train one with "
                              "`textrl train mle --out DIR`")
    state = run.load_checkpoint(best)
    if "kind" not in state:
        state = _from_legacy_mle(state, run.path)
    data = run.tokenizer_of(DataConfig(**state["data"]))
    vocab = Vocab.from_dict(state["vocab"])
    model = policy_from_dict(state["model"]).to(device)
    model.eval()
    loaded = LoadedRun(state["kind"], state["config"], data, vocab, state["max_len"], model)
    if not with_data and loaded.max_len is not None:
        return loaded
    if data_fingerprint(data) != state["fingerprint"]:
        raise CheckpointError(f"{run.path}: the data files changed since training "
                              f"({', '.join(state['fingerprint'])}); restore them or retrain")
    corpus, oracle = build_corpus(data)
    if loaded.max_len is None:
        loaded = loaded._replace(max_len=corpus.max_len)
    if corpus.vocab.to_dict() != vocab.to_dict():
        raise CheckpointError(f"{run.path}: the rebuilt vocabulary differs from the checkpoint's")
    return loaded._replace(corpus=corpus.to(device),
                           oracle=oracle.to(device) if oracle is not None else None)


def _from_legacy_mle(state: dict, path: Path) -> dict:
    """An MLE checkpoint written before runs were tagged with their kind (textrl before
    2026-11-25: a flat MLE config, the data fingerprint under "data"), in today's layout;
    its sequence length comes from rebuilding the data."""
    if "epoch" not in state or "config" not in state:
        raise CheckpointError(f"{path}: a checkpoint from an older textrl that is not an MLE "
                              "run; retrain it with this version")
    data_fields = DataConfig.__dataclass_fields__
    return state | {"kind": "mle", "step": state["epoch"], "fingerprint": state["data"],
                    "data": {k: v for k, v in state["config"].items() if k in data_fields},
                    "max_len": None}
