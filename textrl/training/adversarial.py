"""The adversarial / IRL loop (SeqGAN's Algorithm 1, generalised): g-steps of any agent
against any reward, d-steps of a learned reward on real vs freshly generated sentences.

The run directory is a ``RunDir`` whose checkpoints also hold the data settings of the MLE
run it started from, so ``textrl sample/evaluate/compare`` read it like an MLE run.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm import tqdm

from textrl.agents import Rollout
from textrl.algorithms import LEARNED_REWARDS, AdversarialConfig, build_agent, build_reward
from textrl.data.corpus import Corpus
from textrl.errors import UserError
from textrl.metrics.nll import nll_oracle, nll_test
from textrl.models.modes import eval_mode
from textrl.models.recurrent import RecurrentLM
from textrl.oracle import OracleLSTM
from textrl.rewards import MonteCarloReward, at_last_token
from textrl.settings import check_resumable
from textrl.training.mle import MLEConfig, data_fingerprint, load_run, train_mle
from textrl.training.runs import RunDir

PLOTTED = ["nll_oracle", "nll_valid", "reward", "d_accuracy", "d_real_rank", "entropy"]


@torch.no_grad()
def update_rollout_policy(rollout: RecurrentLM, policy: RecurrentLM, rate: float) -> None:
    """SeqGAN's delayed copy: embeddings copied, every other weight
    ``beta <- rate * beta + (1 - rate) * theta``."""
    for (name, beta), theta in zip(rollout.named_parameters(), policy.parameters(), strict=True):
        if name.startswith("embedding."):
            beta.copy_(theta)
        else:
            beta.mul_(rate).add_(theta, alpha=1.0 - rate)


class AdversarialTrainer:
    """Owns the policy, its delayed rollout copy, the reward and the agent of one run.

    ``train(out, resume)`` runs the loop with checkpoints; the pieces (``g_step``,
    ``d_phase``, ``evaluate``) are public so a script can drive them differently.
    """

    def __init__(self, config: AdversarialConfig, policy: RecurrentLM, corpus: Corpus,
                 oracle: OracleLSTM | None, mle_config: MLEConfig):
        self.config, self.corpus, self.oracle, self.mle_config = config, corpus, oracle, mle_config
        self.policy = policy
        self.max_len = corpus.max_len  # the oracle's sequence length on oracle data
        self.real = corpus.train
        self.generator = torch.Generator().manual_seed(config.seed)
        torch.manual_seed(config.seed)
        self.rollout_policy = copy.deepcopy(policy).requires_grad_(False)
        self.reward = build_reward(config, corpus, oracle)
        self.agent = build_agent(config, policy, self.generator)
        self.q_values = (MonteCarloReward(self.reward, self.rollout_policy, config.n_rollouts,
                                          config.temperature) if config.n_rollouts else None)
        self.iteration = 0

    @property
    def learned(self) -> bool:
        return self.config.reward in LEARNED_REWARDS

    def _real_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.real_data == "oracle":  # never the same sentence twice: no memorising
            return (self.oracle.sample(n, generator=self.generator),
                    torch.full((n,), self.oracle.seq_len))
        idx = torch.randint(len(self.real), (n,), generator=self.generator)
        return self.real.tokens[idx], self.real.lengths[idx]

    def _generate(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        with eval_mode(self.policy):
            sample = self.policy.sample(n, self.max_len, self.config.temperature,
                                        generator=self.generator)
        return sample.tokens, sample.lengths

    def g_step(self) -> dict[str, float]:
        """Sample a batch, score it (Q for every prefix with rollouts), one agent update."""
        c = self.config
        tokens, lengths = self._generate(c.batch_size)
        if c.reward == "ranker":  # rank against real sentences, relative to a real reference set
            self.reward.set_context(self._real_batch(c.batch_size),
                                    self._real_batch(c.ranker_references))
        if self.q_values is not None:
            rewards = self.q_values(tokens, lengths, self.generator)
            sequence_reward = rewards[torch.arange(len(lengths)), lengths - 1]
        else:
            sequence_reward = self.reward(tokens, lengths).float()
            rewards = at_last_token(sequence_reward, lengths, tokens.shape[1])
        stats = self.agent.update(Rollout(tokens, lengths, rewards))
        return {"reward": sequence_reward.mean().item()} | stats

    def d_phase(self, steps: int) -> dict[str, float]:
        """``steps`` x (fresh generated sentences and as many real ones, ``d_epochs`` epochs
        of shuffled half-real half-generated batches). Mean stats of the last epoch."""
        c = self.config
        half = max(c.d_batch_size // 2, 1)
        last: dict[str, float] = {}
        for _ in range(steps):
            fake = self._generate(c.d_samples)
            real = self._real_batch(c.d_samples)
            for _ in range(c.d_epochs):
                real_order = torch.randperm(c.d_samples, generator=self.generator)
                fake_order = torch.randperm(c.d_samples, generator=self.generator)
                totals: dict[str, float] = {}
                batches = 0
                for lo in range(0, c.d_samples, half):
                    r, f = real_order[lo:lo + half], fake_order[lo:lo + half]
                    real_batch, fake_batch = (real[0][r], real[1][r]), (fake[0][f], fake[1][f])
                    if c.reward == "ranker":
                        stats = self.reward.update(real_batch, fake_batch,
                                                   self._real_batch(c.ranker_references))
                    else:
                        stats = self.reward.update(real_batch, fake_batch)
                    for key, value in stats.items():
                        totals[key] = totals.get(key, 0.0) + value
                    batches += 1
                last = {f"d_{key}": value / batches for key, value in totals.items()}
        return last

    def evaluate(self) -> dict[str, float]:
        c = self.config
        out = {"nll_valid": nll_test(self.policy, self.corpus.valid)}
        if self.oracle is not None:
            g = torch.Generator().manual_seed(c.seed + 1_000_003 * (self.iteration + 1))
            out["nll_oracle"] = nll_oracle(self.policy, self.oracle, c.eval_samples, generator=g)
        return out

    # --- checkpoints -------------------------------------------------------------------
    def state(self) -> dict:
        reward_state = {}
        if self.learned:
            reward_state = {"model": self.reward.state_dict(),
                            "optimizer": self.reward.optimizer.state_dict()}
        return {"iteration": self.iteration, "config": asdict(self.mle_config),
                "recipe": asdict(self.config), "vocab": self.corpus.vocab.to_dict(),
                "model": self.policy.to_dict(), "data": data_fingerprint(self.mle_config),
                "rollout_policy": self.rollout_policy.state_dict(), "reward": reward_state,
                "agent": self.agent.state_dict(),
                "rng": {"generator": self.generator.get_state(), "torch": torch.get_rng_state()}}

    def load_state(self, state: dict) -> None:
        self.iteration = state["iteration"]
        self.policy.load_state_dict(state["model"]["state_dict"])
        self.rollout_policy.load_state_dict(state["rollout_policy"])
        if self.learned:
            self.reward.load_state_dict(state["reward"]["model"])
            self.reward.optimizer.load_state_dict(state["reward"]["optimizer"])
        self.agent.load_state_dict(state["agent"])
        self.generator.set_state(state["rng"]["generator"])
        torch.set_rng_state(state["rng"]["torch"])

    def train(self, out: str | Path, resume: bool = False, progress: bool = True) -> dict:
        """Pretrain the reward (learned rewards), then ``iterations`` of g-steps and d-steps,
        evaluating every ``eval_every`` and checkpointing every ``checkpoint_every``
        iterations. Returns the last evaluation record."""
        c = self.config
        run = RunDir(out)
        if resume:
            state = run.load_checkpoint()
            check_resumable(c, AdversarialConfig.from_dict(state["recipe"]), str(run.path))
            self.load_state(state)
            run.truncate_log(self.iteration, key="iteration")
        else:
            self.corpus.vocab.save(run.vocab)
            record = {"iteration": 0} | self.evaluate()
            if self.learned and c.d_pretrain_steps:
                t0 = time.perf_counter()
                record |= self.d_phase(c.d_pretrain_steps)
                record["d_pretrain_s"] = time.perf_counter() - t0
            run.log(record)
            run.save_checkpoint(self.state())
        run.save_config(asdict(c))
        last: dict = {}
        bar = tqdm(range(self.iteration, c.iterations), initial=self.iteration, total=c.iterations,
                   desc=c.recipe, unit="it", disable=not progress)
        for _ in bar:
            t0 = time.perf_counter()
            for _ in range(c.g_steps):
                record = self.g_step()
            update_rollout_policy(self.rollout_policy, self.policy, c.rollout_update_rate)
            self.iteration += 1
            record = {"iteration": self.iteration} | record
            if self.learned and c.d_steps and self.iteration % c.d_every == 0:
                record |= self.d_phase(c.d_steps)
            if self.iteration % c.eval_every == 0 or self.iteration == c.iterations:
                record |= self.evaluate()
                last = record
                bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k.startswith("nll")})
            record["time_s"] = time.perf_counter() - t0
            run.log(record)
            if self.iteration % c.checkpoint_every == 0 or self.iteration == c.iterations:
                run.save_checkpoint(self.state())
        run.plot_log(key="iteration", names=PLOTTED)
        return last


def train_adversarial(config: AdversarialConfig, out: str | Path, resume: bool = False,
                      progress: bool = True) -> dict:
    """Build the run from its MLE start (``config.init``, or pretrain one into ``out/mle``)
    and train it. Returns the last evaluation record."""
    run = RunDir(out)
    run.create(resume)
    init = config.init
    if init is None:
        init = str(run.path / "mle")
        mle = MLEConfig(oracle=config.oracle, epochs=config.pretrain_epochs, seed=config.seed)
        started = RunDir(init).checkpoint.exists()
        if not started or RunDir(init).load_checkpoint()["epoch"] < mle.epochs:
            train_mle(mle, init, resume=started, progress=progress)
    mle_config, corpus, oracle, policy = load_run(init, best=config.init_checkpoint == "best")
    if config.real_data == "oracle" and oracle is None:
        raise UserError(f"--real-data oracle needs an oracle run; --init {init} was trained on "
                        "text (use --real-data train)")
    if config.oracle is not None:
        if oracle is None:
            raise UserError(f"--init {init} was trained on text, not an oracle; drop --oracle")
        if OracleLSTM.from_spec(config.oracle).source != oracle.source:
            raise UserError(f"--oracle {config.oracle} is not the oracle of --init {init} "
                            f"({mle_config.oracle}); pass the same oracle or drop --oracle")
    trainer = AdversarialTrainer(config, policy, corpus, oracle, mle_config)
    return trainer.train(out, resume, progress)
