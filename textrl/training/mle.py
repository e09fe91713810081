"""Behaviour cloning (MLE) runs: build the data, train, evaluate, checkpoint, resume."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from textrl.agents.mle import SCHEDULES, BehaviourCloning, teacher_forcing_prob
from textrl.data.corpus import Corpus, file_sha256
from textrl.data.tokenizers import get_tokenizer
from textrl.errors import CheckpointError, UserError
from textrl.metrics.nll import nll_oracle, nll_test, perplexity
from textrl.models.recurrent import LMConfig, RecurrentLM
from textrl.oracle import OracleLSTM
from textrl.settings import check_at_least, check_choices, check_resumable, from_dict
from textrl.training.runs import RunDir


@dataclass
class MLEConfig:
    """Every setting of an MLE run. The defaults are the SeqGAN recipe on the oracle."""

    oracle: str | None = None  # "random", "random:SEED" or the authors' pickle
    data: str | None = None  # one sentence per line; exclusive with oracle
    valid: str | None = None
    test: str | None = None
    tokenizer: str = "word"
    keep_spaces: bool = False
    lowercase: bool = False
    max_len: int = 50  # text: tokens including EOS (the oracle fixes its own)
    overlong: str = "truncate"
    min_freq: int = 1
    max_vocab: int | None = None
    n_train: int = 10_000  # oracle samples
    n_valid: int = 1_000
    n_test: int = 1_000
    data_seed: int = 0  # oracle samples and the train/valid/test split
    emb_dim: int = 32
    hidden_dim: int = 32
    num_layers: int = 1
    cell: str = "lstm"
    dropout: float = 0.0
    init_std: float | None = 0.1  # SeqGAN's generator: every parameter ~ N(0, 0.1)
    epochs: int = 120
    batch_size: int = 64
    lr: float = 0.01
    grad_clip: float = 5.0
    scheduled_sampling: str = "none"
    ss_k: float = 0.005
    ss_floor: float = 0.0
    eval_every: int = 10
    eval_samples: int = 10_000
    seed: int = 0

    # Settings a resumed run may change; the rest must match the checkpoint.
    RESUMABLE = ("epochs", "eval_every")

    def __post_init__(self) -> None:
        if self.oracle is not None and self.data is not None:
            raise UserError("give --oracle or --data, not both")
        if self.oracle is None and self.data is None:
            self.oracle = "random"
        check_choices(self, {"tokenizer": ("word", "char"), "cell": ("lstm", "gru"),
                             "overlong": ("truncate", "drop"), "scheduled_sampling": SCHEDULES})
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.lr <= 0 or self.grad_clip <= 0:
            raise UserError("--lr and --grad-clip must be > 0")
        check_at_least(self, 1, ("epochs", "batch_size", "eval_every", "eval_samples", "n_train",
                                 "n_valid", "n_test", "emb_dim", "hidden_dim", "num_layers"))

    @classmethod
    def from_dict(cls, data: dict) -> MLEConfig:
        return from_dict(cls, data)


def build_corpus(config: MLEConfig) -> tuple[Corpus, OracleLSTM | None]:
    """The run's data: oracle samples, or text files split and encoded."""
    if config.oracle is not None:
        oracle = OracleLSTM.from_spec(config.oracle)
        return oracle.corpus(config.n_train, config.n_valid, config.n_test, config.data_seed), oracle
    corpus = Corpus.from_files(
        config.data, get_tokenizer(config.tokenizer, config.keep_spaces), config.valid,
        config.test, config.lowercase, config.max_len, config.overlong, config.min_freq,
        config.max_vocab, seed=config.data_seed)
    return corpus, None


def data_fingerprint(config: MLEConfig) -> dict[str, str]:
    """sha256 of each data file, so evaluation can refuse data that changed since training."""
    paths = [config.data, config.valid, config.test] if config.oracle is None else []
    return {str(Path(p).resolve()): file_sha256(p) for p in paths if p is not None}


def build_policy(config: MLEConfig, corpus: Corpus) -> RecurrentLM:
    vocab = corpus.vocab
    return RecurrentLM(LMConfig(
        vocab_size=len(vocab), emb_dim=config.emb_dim, hidden_dim=config.hidden_dim,
        num_layers=config.num_layers, cell=config.cell, dropout=config.dropout,
        init_std=config.init_std,
        start_id=corpus.start_id, eos_id=corpus.eos_id,
        pad_id=vocab.pad_id if vocab.has_specials else 0))


def evaluate_policy(policy: RecurrentLM, corpus: Corpus, oracle: OracleLSTM | None,
                    split: str, n_samples: int, seed: int) -> dict:
    """The per-epoch check: ``nll_<split>``, its perplexity, and ``nll_oracle`` when there is
    an oracle (``textrl.evaluation.score_samples`` is the full evaluation)."""
    nll = nll_test(policy, getattr(corpus, split))
    out = {f"nll_{split}": nll, f"ppl_{split}": perplexity(nll)}
    if oracle is not None:
        g = torch.Generator().manual_seed(seed)
        out["nll_oracle"] = nll_oracle(policy, oracle, n_samples, generator=g)
    return out


def train_mle(config: MLEConfig, out: str | Path, resume: bool = False,
              progress: bool = True) -> dict:
    """Train (or resume) an MLE run in ``out``; returns the last evaluation record."""
    run = RunDir(out)
    run.create(resume)
    corpus, oracle = build_corpus(config)
    for report in corpus.reports:
        if report.truncated or report.dropped or report.blank:
            tqdm.write(report.summary(), file=sys.stderr)
    torch.manual_seed(config.seed)
    policy = build_policy(config, corpus)
    agent = BehaviourCloning(policy, config.lr, config.grad_clip, config.batch_size)
    generator = torch.Generator().manual_seed(config.seed)
    start, best_nll = 0, float("inf")
    if resume:
        state = run.load_checkpoint()
        check_resumable(config, MLEConfig.from_dict(state["config"]), str(run.path))
        policy.load_state_dict(state["model"]["state_dict"])
        agent.load_state_dict(state["agent"])
        generator.set_state(state["rng"]["generator"])
        torch.set_rng_state(state["rng"]["torch"])
        start = state["epoch"]
        best_nll = state.get("best_nll_valid", best_nll)  # absent before best.pt existed
        run.truncate_log(start)
    else:
        corpus.vocab.save(run.vocab)
    run.save_config(asdict(config))
    fingerprint = data_fingerprint(config)
    last: dict = {}
    bar = tqdm(range(start, config.epochs), initial=start, total=config.epochs,
               desc="mle", unit="epoch", disable=not progress)
    for epoch in bar:
        t0 = time.perf_counter()
        tf = teacher_forcing_prob(config.scheduled_sampling, epoch, config.ss_k, config.ss_floor)
        stats = agent.train_epoch(corpus.train, generator, tf)
        record = {"epoch": epoch + 1, "train_nll": stats["loss"], "grad_norm": stats["grad_norm"]}
        if config.scheduled_sampling != "none":
            record["teacher_forcing"] = tf
        if (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs:
            record |= evaluate_policy(policy, corpus, oracle, "valid", config.eval_samples,
                                      seed=config.seed + epoch + 1)
            last = record
        record["time_s"] = time.perf_counter() - t0
        bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k.startswith("nll")
                         or k == "train_nll"})
        run.log(record)
        weights = {"epoch": epoch + 1, "config": asdict(config), "vocab": corpus.vocab.to_dict(),
                   "model": policy.to_dict(), "data": fingerprint}
        # Selected on the validation split only: choosing by a test metric would leak it.
        if record.get("nll_valid", float("inf")) < best_nll:
            best_nll = record["nll_valid"]
            run.save_checkpoint(weights | {"nll_valid": best_nll}, best=True)
        run.save_checkpoint(weights | {
            "agent": agent.state_dict(), "best_nll_valid": best_nll,
            "rng": {"generator": generator.get_state(), "torch": torch.get_rng_state()}})
    run.plot_log()
    return last


def load_run(out: str | Path, best: bool = False
             ) -> tuple[MLEConfig, Corpus, OracleLSTM | None, RecurrentLM]:
    """Rebuild a finished (or interrupted) run: its config, data, oracle and its latest
    policy, or with ``best`` the one with the lowest validation NLL."""
    run = RunDir(out)
    if not run.path.is_dir():
        raise CheckpointError(f"{run.path}: no such run directory; train one with "
                              "`textrl train mle --out DIR`")
    state = run.load_checkpoint(best)
    config = MLEConfig.from_dict(state["config"])
    if data_fingerprint(config) != state["data"]:
        raise CheckpointError(f"{run.path}: the data files changed since training "
                              f"({', '.join(state['data'])}); restore them or retrain")
    corpus, oracle = build_corpus(config)
    if corpus.vocab.to_dict() != state["vocab"]:
        raise CheckpointError(f"{run.path}: the rebuilt vocabulary differs from the checkpoint's")
    policy = RecurrentLM.from_dict(state["model"])
    policy.eval()
    return config, corpus, oracle, policy
