"""Behaviour cloning (MLE) as a trainer of the one run loop: an epoch of teacher forcing (or
scheduled sampling) per step, validation NLL (and NLL-oracle) at the evaluation cadence."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm import tqdm

from textrl import distributed
from textrl.agents.mle import SCHEDULES, BehaviourCloning, teacher_forcing_prob
from textrl.data.corpus import Corpus
from textrl.datasets import DataConfig
from textrl.device import seeded_generator
from textrl.errors import UserError
from textrl.metrics.nll import perplexity
from textrl.models.base import Policy
from textrl.oracle import OracleLSTM
from textrl.settings import check_at_least, check_choices
from textrl.tasks.base import Task
from textrl.training.base import Trainer
from textrl.training.plateau import LRPlateauConfig, PlateauHalving


@dataclass
class MLEConfig:
    """The MLE schedule (defaults: the SeqGAN authors' recipe on the oracle)."""

    epochs: int = 120
    """training epochs (0: save the starting policy, evaluated, as the run: a pretrained
    Hugging Face model as an RL recipe's --init without fine-tuning it)"""
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
        check_at_least(self, 0, ("epochs",))
        check_at_least(self, 1, ("batch_size", "eval_every", "eval_samples"))


class MLETrainer(Trainer):
    """Behaviour cloning of ``corpus.train`` by ``policy`` under ``task``; one step is one
    epoch. ``nll_valid`` is per chosen token of the validation split (per blanked word for
    in-filling)."""

    kind = "mle"
    unit = "epoch"
    plotted = ["nll_oracle", "nll_valid", "ppl_valid", "train_nll", "grad_norm", "teacher_forcing"]

    def __init__(self, policy: Policy, corpus: Corpus, oracle: OracleLSTM | None,
                 data: DataConfig, schedule: MLEConfig, task: Task,
                 device: torch.device | str = "cpu", lr_rule: LRPlateauConfig | None = None):
        # The sampling stream (scheduled sampling, masks) is each process's own; the batch
        # order is the same in every process: one stream in a run of one process.
        generator = seeded_generator(distributed.stream_seed(schedule.seed), device)
        super().__init__(policy.to(device), corpus.to(device), data, schedule.epochs,
                         schedule.eval_every, 1, generator)
        self.oracle = oracle.to(device) if oracle is not None else None
        self.schedule, self.task = schedule, task
        self.agent = BehaviourCloning(policy, schedule.lr, schedule.grad_clip, schedule.batch_size)
        self.order = (self.generator if distributed.world() == 1
                      else seeded_generator(schedule.seed, device))
        self.lr_rule = PlateauHalving(lr_rule or LRPlateauConfig(), policy, self.agent.optimizer)

    @property
    def stopped(self) -> bool:
        return self.lr_rule.stopped

    def begin(self) -> dict | None:
        # A run of no epochs is its start, evaluated and checkpointed as step 0.
        return self.evaluate(0) if self.total == 0 else None

    def train_step(self, step: int) -> dict:
        s = self.schedule
        tf = teacher_forcing_prob(s.scheduled_sampling, step - 1, s.ss_k, s.ss_floor)
        batches = -(-len(self.corpus.train) // s.batch_size)
        with tqdm(total=batches, desc=f"epoch {step}", unit="batch", leave=False, delay=1.0,
                  disable=not self.progress) as bar:
            stats = self.agent.train_epoch(self.corpus.train, self.order, tf, bar.update,
                                           sampler=self.generator, task=self.task)
        record = {"train_nll": stats["loss"], "grad_norm": stats["grad_norm"]}
        return record | ({"teacher_forcing": tf} if s.scheduled_sampling != "none" else {})

    def evaluate(self, step: int) -> dict:
        record = self.task.validate(self.policy, self.corpus.valid, self.oracle,
                                    self.schedule.eval_samples, seed=self.schedule.seed + step)
        record["ppl_valid"] = perplexity(record["nll_valid"])
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
