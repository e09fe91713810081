"""The adversarial / IRL loop (SeqGAN's Algorithm 1, generalised) as a trainer of the one run
loop: g-steps of any agent against any reward, d-steps of a learned reward on real vs freshly
generated sentences. It takes built components and knows no recipe by name."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from textrl import distributed
from textrl.agents import Agent, sample_rollout
from textrl.data.corpus import Corpus, Split
from textrl.datasets import DataConfig
from textrl.errors import UserError
from textrl.models.base import Policy
from textrl.models.generation import rows_of
from textrl.models.modes import eval_mode
from textrl.oracle import OracleLSTM
from textrl.rewards import LearnedReward, MonteCarloReward, Reward
from textrl.rewards.base import Batch, as_reward, check_class, check_learned
from textrl.settings import check_at_least, check_choices
from textrl.tasks.base import Task
from textrl.training.base import Trainer

PLOTTED = ["nll_oracle", "nll_valid", "reward", "d_accuracy", "d_real_rank", "entropy"]


@dataclass
class AdversarialConfig:
    """The adversarial loop's schedule."""

    iterations: int = 200
    """adversarial iterations (g-steps, then d-steps)"""
    g_steps: int = 1
    """agent updates per iteration"""
    batch_size: int = 64
    """sentences per agent update"""
    temperature: float = 1.0
    """sampling temperature of the policy's sentences and rollouts"""
    eval_every: int = 10
    """evaluate every N iterations"""
    eval_samples: int = 10_000
    """samples for NLL-oracle"""
    checkpoint_every: int = 10
    """checkpoint every N iterations"""
    seed: int = 0
    """seed of the reward's init, sampling and batch order"""

    RESUMABLE = ("iterations", "eval_every", "checkpoint_every")

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("iterations", "g_steps", "batch_size", "eval_every",
                                 "eval_samples", "checkpoint_every"))
        if not self.temperature > 0:
            raise UserError(f"--temperature must be > 0, got {self.temperature}")


@dataclass
class RolloutConfig:
    """How a sequence-level reward reaches every token."""

    n_rollouts: int = 16
    """Monte-Carlo rollouts per prefix (SeqGAN's Q); 0: the reward at the last token"""
    rollout_policy: str = "delayed"
    """delayed (a copy updated by --rollout-update-rate: the SeqGAN and RankGAN papers) or
    live (the policy being trained: what the authors' code does)"""
    rollout_update_rate: float = 0.8
    """delayed rollout policy <- rate * itself + (1 - rate) * policy after each iteration"""

    def __post_init__(self) -> None:
        check_choices(self, {"rollout_policy": ("delayed", "live")})
        check_at_least(self, 0, ("n_rollouts",))
        if not 0.0 <= self.rollout_update_rate <= 1.0:
            raise UserError("--rollout-update-rate must be in [0, 1]")


@dataclass
class DStepConfig:
    """How a learned reward is trained: pretraining, then a d-phase every few iterations."""

    d_pretrain_steps: int = 50
    """reward pretraining: rounds of fresh negatives"""
    d_steps: int = 5
    """rounds of fresh negatives per d-phase"""
    d_epochs: int = 3
    """epochs over each round"""
    d_pretrain_epochs: int | None = None
    """epochs over each pretraining round (unset: --d-epochs)"""
    d_every: int = 1
    """a d-phase every this many iterations"""
    d_samples: int = 10_000
    """generated (and as many real) sentences per round"""
    d_batch_size: int = 64
    """reward update batch: half real, half generated"""
    real_data: str = "train"
    """the reward's real sentences: the training split (SeqGAN) or, on an oracle, fresh oracle
    samples (nothing to memorise)"""

    def __post_init__(self) -> None:
        check_choices(self, {"real_data": ("train", "oracle")})
        check_at_least(self, 1, ("d_every", "d_samples", "d_batch_size"))
        check_at_least(self, 0, ("d_pretrain_steps", "d_steps", "d_epochs"))
        if self.d_pretrain_epochs is not None:
            check_at_least(self, 0, ("d_pretrain_epochs",))


class RealSentences:
    """Draws real sentences for a learned reward: from the training split, or (``oracle``
    given) fresh oracle samples that never repeat. ``draw(n) -> (tokens, lengths)``."""

    def __init__(self, split: Split, oracle: OracleLSTM | None, generator: torch.Generator):
        self.split, self.oracle, self.generator = split, oracle, generator

    def __call__(self, n: int) -> Batch:
        if self.oracle is not None:
            return (self.oracle.sample(n, generator=self.generator),
                    torch.full((n,), self.oracle.seq_len, device=self.oracle.device))
        idx = torch.randint(len(self.split), (n,), generator=self.generator,
                            device=self.split.tokens.device)
        return self.split.tokens[idx], self.split.lengths[idx]

    @classmethod
    def of(cls, corpus: Corpus, oracle: OracleLSTM | None, real_data: str,
           generator: torch.Generator) -> RealSentences:
        if real_data == "oracle" and oracle is None:
            raise UserError("--real-data oracle needs an oracle run; this run was trained on "
                            "text (use --real-data train)")
        return cls(corpus.train, oracle if real_data == "oracle" else None, generator)


class AdversarialTrainer(Trainer):
    """Owns the policy, its delayed rollout copy, the reward and the agent of one run, under
    ``task`` (what the policy is conditioned on and which positions are its actions).

    The pieces (``g_step``, ``d_phase``, ``evaluate``) are public so a script can drive them
    differently; ``textrl.training.run_training`` runs them with checkpoints.
    """

    kind = "adversarial"
    unit = "iteration"
    plotted = PLOTTED

    def __init__(self, policy: Policy, reward: Reward, agent: Agent, corpus: Corpus,
                 oracle: OracleLSTM | None, data: DataConfig, schedule: AdversarialConfig,
                 rollout: RolloutConfig, d_steps: DStepConfig | None,
                 real: RealSentences, generator: torch.Generator, task: Task):
        super().__init__(policy, corpus, data, schedule.iterations, schedule.eval_every,
                         schedule.checkpoint_every, generator)
        check_class(type(reward), type(reward).__name__)  # an update() it would never call
        reward = as_reward(reward)
        if isinstance(reward, LearnedReward):
            check_learned(reward, reward.label)
        self.reward, self.agent, self.oracle, self.task = reward, agent, oracle, task
        self.schedule, self.rollout, self.d, self.real = schedule, rollout, d_steps, real
        if rollout.n_rollouts and not task.monte_carlo:
            raise UserError(f"the {task.name} task pays every action its own reward: use "
                            "--n-rollouts 0")
        self.learned = isinstance(reward, LearnedReward)
        if self.learned and d_steps is None:
            raise ValueError("a learned reward needs a d-step schedule (DStepConfig)")
        self.pretrain_rounds = d_steps.d_pretrain_steps if self.learned else 0
        self.live = rollout.rollout_policy == "live"
        self.rollout_policy = policy if self.live else copy.deepcopy(policy).requires_grad_(False)
        self._check_distributable()
        self.scored = (MonteCarloReward(reward, self.rollout_policy, rollout.n_rollouts,
                                        schedule.temperature, generator=generator)
                       if rollout.n_rollouts else reward)

    def _check_distributable(self) -> None:
        """In several processes each must hold an equal share of every batch (so the averaged
        gradient is the global batch's gradient)."""
        if not distributed.active():
            return
        n, d = distributed.world(), self.d
        shares = {"--batch-size": self.schedule.batch_size}
        if self.learned:
            shares |= {"--d-samples": d.d_samples, "--d-batch-size / 2": d.d_batch_size // 2}
        uneven = [f"{name} {value}" for name, value in shares.items() if value % n]
        if uneven:
            raise UserError(f"{', '.join(uneven)} cannot be split evenly over {n} processes; "
                            f"give multiples of {n}")

    def _generate(self, n: int, context: Any = None) -> Batch:
        with eval_mode(self.policy):
            sample = self.task.generate(self.policy, n, self.max_len, context,
                                        self.schedule.temperature, self.generator)
        return sample.tokens, sample.lengths

    def g_step(self) -> dict[str, float]:
        """Sample a batch under the task's contexts, score it (Q for every prefix with
        rollouts), one agent update; only the positions the task makes actions count."""
        n = distributed.share_count(self.schedule.batch_size)
        context, action_mask = self.task.contexts(n, self.real, self.generator)
        rollout = sample_rollout(self.policy, self.scored, n, self.max_len,
                                 self.schedule.temperature, self.generator, context, action_mask,
                                 self.task)
        reward = self.task.reported_reward(rollout.rewards, rollout.lengths, rollout.acted())
        return {"reward": reward} | self.agent.update(rollout)

    def d_phase(self, rounds: int, epochs: int | None = None) -> dict[str, float]:
        """``rounds`` x (fresh generated sentences and as many real ones, ``epochs`` (default
        ``d_epochs``) epochs of shuffled half-real half-generated batches). Mean stats of
        the last epoch. In a distributed run each process draws and trains on its share."""
        d = self.d
        half = distributed.share_count(max(d.d_batch_size // 2, 1))
        n = distributed.share_count(d.d_samples)
        last: dict[str, float] = {}
        device = self.generator.device
        for _ in range(rounds):
            real, fake, context = self.task.pairs(n, self.real, self._generate, self.generator)
            for _ in range(d.d_epochs if epochs is None else epochs):
                real_order = torch.randperm(n, generator=self.generator, device=device)
                fake_order = (real_order if context is not None else  # paired rows stay aligned
                              torch.randperm(n, generator=self.generator, device=device))
                totals: dict[str, float] = {}
                batches = 0
                for lo in range(0, n, half):
                    r, f = real_order[lo:lo + half], fake_order[lo:lo + half]
                    stats = self.reward.update((real[0][r], real[1][r]), (fake[0][f], fake[1][f]),
                                               rows_of(context, r))
                    for key, value in stats.items():
                        totals[key] = totals.get(key, 0.0) + value
                    batches += 1
                last = {f"d_{key}": value / batches for key, value in totals.items()}
        return last

    def begin(self) -> dict:
        """Step 0 starts with the starting policy's evaluation."""
        return self.evaluate(0)

    def pretrain_round(self, index: int) -> dict:
        """One round of reward pretraining (fresh negatives, ``d_epochs`` epochs)."""
        return self.d_phase(1, self.d.d_pretrain_epochs)

    def train_step(self, step: int) -> dict:
        for _ in range(self.schedule.g_steps):
            record = self.g_step()
        # the sequences sampled for updates so far: the x-axis that compares algorithms whose
        # updates use different batches (`textrl compare --curves`)
        record["completions"] = step * self.schedule.g_steps * self.schedule.batch_size
        if not self.live:
            self.rollout_policy.blend_from(self.policy, self.rollout.rollout_update_rate)
        if self.learned and self.d.d_steps and step % self.d.d_every == 0:
            record |= self.d_phase(self.d.d_steps)
        return record

    def evaluate(self, step: int) -> dict[str, float]:
        return self.task.validate(self.policy, self.corpus.valid, self.oracle,
                                  self.schedule.eval_samples,
                                  seed=self.schedule.seed + 1_000_003 * (step + 1))

    def state_dict(self) -> dict:
        reward_state = {}
        if self.learned:
            reward_state = {"model": self.reward.state_dict(),
                            "optimizer": self.reward.optimizer.state_dict()}
        rollout_state = {} if self.live else self.rollout_policy.state_dict()
        return {"rollout_policy": rollout_state, "reward": reward_state,
                "agent": self.agent.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if not self.live:
            self.rollout_policy.load_state_dict(state["rollout_policy"])
        if self.learned:
            self.reward.load_state_dict(state["reward"]["model"])
            self.reward.optimizer.load_state_dict(state["reward"]["optimizer"])
        self.agent.load_state_dict(state["agent"])
