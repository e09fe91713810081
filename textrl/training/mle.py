"""Behaviour cloning (MLE) as a trainer of the one run loop: an epoch of teacher forcing (or
scheduled sampling) per step, validation NLL (and NLL-oracle) at the evaluation cadence."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm import tqdm

from textrl import distributed
from textrl.agents.mle import SCHEDULES, BehaviourCloning, teacher_forcing_prob
from textrl.data.corpus import Corpus
from textrl.datasets import DataConfig, data_fingerprint
from textrl.device import device_of, seeded_generator
from textrl.errors import UserError
from textrl.metrics.nll import nll_oracle, nll_test, perplexity
from textrl.models.base import Policy
from textrl.models.recurrent import LMConfig, RecurrentLM
from textrl.models.seq2seq import Infill
from textrl.oracle import OracleLSTM
from textrl.settings import check_at_least, check_choices
from textrl.training.infill import MaskConfig, masked_nll
from textrl.training.plateau import LRPlateauConfig, PlateauHalving


@dataclass
class PolicyConfig:
    """The recurrent policy's size and initialisation (defaults: SeqGAN's generator)."""

    emb_dim: int = 32
    """embedding size"""
    hidden_dim: int = 32
    """recurrent state size"""
    num_layers: int = 1
    """recurrent layers"""
    cell: str = "lstm"
    """lstm or gru"""
    dropout: float = 0.0
    """dropout on embeddings and recurrent outputs"""
    init_std: float | None = 0.1
    """initialise every weight from N(0, std) (SeqGAN: 0.1); unset: PyTorch's defaults"""

    def __post_init__(self) -> None:
        check_choices(self, {"cell": ("lstm", "gru")})
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"--dropout must be in [0, 1), got {self.dropout}")
        check_at_least(self, 1, ("emb_dim", "hidden_dim", "num_layers"))

    def build(self, corpus: Corpus) -> RecurrentLM:
        vocab = corpus.vocab
        return RecurrentLM(LMConfig(
            vocab_size=len(vocab), emb_dim=self.emb_dim, hidden_dim=self.hidden_dim,
            num_layers=self.num_layers, cell=self.cell, dropout=self.dropout,
            init_std=self.init_std, start_id=corpus.start_id, eos_id=corpus.eos_id,
            pad_id=vocab.pad_id if vocab.has_specials else 0))


@dataclass
class MLEConfig:
    """The MLE schedule (defaults: the SeqGAN authors' recipe on the oracle)."""

    epochs: int = 120
    """training epochs"""
    batch_size: int = 64
    """sentences per gradient step"""
    lr: float = 0.01
    """Adam learning rate"""
    grad_clip: float = 5.0
    """gradient norm clip"""
    scheduled_sampling: str = "none"
    """teacher-forcing decay (Bengio et al. 2015): none, linear, exponential, inverse_sigmoid"""
    ss_k: float = 0.005
    """decay parameter of the schedule"""
    ss_floor: float = 0.0
    """lowest teacher-forcing probability"""
    eval_every: int = 10
    """evaluate every N epochs"""
    eval_samples: int = 10_000
    """samples for NLL-oracle"""
    seed: int = 0
    """seed of initialisation, batch order and sampling"""

    RESUMABLE = ("epochs", "eval_every")

    def __post_init__(self) -> None:
        check_choices(self, {"scheduled_sampling": SCHEDULES})
        if self.lr <= 0 or self.grad_clip <= 0:
            raise UserError("--lr and --grad-clip must be > 0")
        check_at_least(self, 1, ("epochs", "batch_size", "eval_every", "eval_samples"))


def evaluate_policy(policy: Policy, corpus: Corpus, oracle: OracleLSTM | None,
                    split: str, n_samples: int, seed: int) -> dict:
    """The per-epoch check: ``nll_<split>``, its perplexity, and ``nll_oracle`` when there is
    an oracle (``textrl.evaluation.score_samples`` is the full evaluation)."""
    nll = nll_test(policy, getattr(corpus, split))
    out = {f"nll_{split}": nll, f"ppl_{split}": perplexity(nll)}
    if oracle is not None:
        g = seeded_generator(seed, device_of(policy))
        out["nll_oracle"] = nll_oracle(policy, oracle, n_samples, generator=g)
    return out


class MLETrainer:
    """Behaviour cloning of ``corpus.train`` by ``policy``; one step is one epoch. With
    ``masks`` (MaskMLE) the policy is an in-filler trained on the blanked words of freshly
    masked batches, and ``nll_valid`` is per blanked word of the validation split."""

    kind = "mle"
    unit = "epoch"
    checkpoint_every = 1
    pretrain_rounds = 0
    plotted = ["nll_oracle", "nll_valid", "ppl_valid", "train_nll", "grad_norm", "teacher_forcing"]
    progress = False

    def __init__(self, policy: Policy, corpus: Corpus, oracle: OracleLSTM | None,
                 data: DataConfig, schedule: MLEConfig, device: torch.device | str = "cpu",
                 masks: MaskConfig | None = None, lr_rule: LRPlateauConfig | None = None):
        self.policy, self.corpus = policy.to(device), corpus.to(device)
        self.oracle = oracle.to(device) if oracle is not None else None
        self.data, self.fingerprint, self.max_len = data, data_fingerprint(data), corpus.max_len
        self.schedule, self.vocab, self.masks = schedule, corpus.vocab, masks
        self.total, self.eval_every = schedule.epochs, schedule.eval_every
        self.agent = BehaviourCloning(policy, schedule.lr, schedule.grad_clip, schedule.batch_size)
        # The sampling stream (scheduled sampling) is each process's own; the batch order is
        # the same in every process: one stream in a run of one process.
        self.generator = seeded_generator(distributed.stream_seed(schedule.seed), device)
        self.order = (self.generator if distributed.world() == 1
                      else seeded_generator(schedule.seed, device))
        self.lr_rule = PlateauHalving(lr_rule or LRPlateauConfig(), policy, self.agent.optimizer)
        distributed.wrap(self.policy)

    def begin(self) -> None:
        return None  # nothing to evaluate or pretrain before the first epoch

    def pretrain_round(self, index: int) -> dict:
        raise NotImplementedError("MLE has no pretraining rounds")

    def train_step(self, step: int) -> dict:
        s = self.schedule
        tf = teacher_forcing_prob(s.scheduled_sampling, step - 1, s.ss_k, s.ss_floor)
        batches = -(-len(self.corpus.train) // s.batch_size)
        with tqdm(total=batches, desc=f"epoch {step}", unit="batch", leave=False, delay=1.0,
                  disable=not self.progress) as bar:
            stats = self.agent.train_epoch(self.corpus.train, self.order, tf, bar.update,
                                           sampler=self.generator, context_for=self._masked)
        record = {"train_nll": stats["loss"], "grad_norm": stats["grad_norm"]}
        return record | ({"teacher_forcing": tf} if s.scheduled_sampling != "none" else {})

    def _masked(self, tokens: torch.Tensor, lengths: torch.Tensor) -> Infill | None:
        """MaskMLE: each batch under fresh masks from this process's stream."""
        if self.masks is None:
            return None
        return self.masks.draw(tokens, lengths, self.policy.mask_id, self.generator)

    def evaluate(self, step: int) -> dict:
        if self.masks is not None:  # the same validation masks at every evaluation
            nll = masked_nll(self.policy, self.corpus.valid, self.masks, self.schedule.seed)
            record = {"nll_valid": nll, "ppl_valid": perplexity(nll)}
        else:
            record = evaluate_policy(self.policy, self.corpus, self.oracle, "valid",
                                     self.schedule.eval_samples, seed=self.schedule.seed + step)
        return record | self.lr_rule.observe(record["nll_valid"])

    def state_dict(self) -> dict:
        return {"agent": self.agent.state_dict(), "order": self.order.get_state(),
                "lr_rule": self.lr_rule.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.lr_rule.load_state_dict(state.get("lr_rule"))
        saved = state.get("order")
        if self.order is not self.generator and saved is not None and (
                saved.numel() == self.order.get_state().numel()):  # same kind of device
            self.order.set_state(state["order"])
