"""The sentence VAE (Bowman et al. 2016) as a trainer of the one run loop: one step is one
epoch of ELBO updates with KL annealing, word dropout and optional free bits; validation
reports the bound per token (``nll_valid``, which selects ``best.pt``), the KL and the
active units."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tqdm import tqdm

from textrl.data.corpus import Corpus
from textrl.datasets import DataConfig
from textrl.device import seeded_generator
from textrl.errors import UserError
from textrl.metrics.latent import (
    active_units,
    posterior_parameters,
    reconstruction_nll,
    vae_likelihood,
)
from textrl.metrics.nll import perplexity
from textrl.models.vae import SentenceVAE, VAEConfig, gaussian_kl
from textrl.optimization import adam, optimizer_step
from textrl.settings import check_at_least, check_choices
from textrl.training.base import Trainer
from textrl.training.plateau import LRPlateauConfig, PlateauHalving

ANNEALING = ("none", "linear", "sigmoid", "cyclical")


@dataclass
class VAEPolicyConfig:
    """The VAE's size (defaults: texar's PTB model, 256/256 with z = 32)."""

    emb_dim: int = 256
    """word embedding size (one table for the encoder and the decoder)"""
    hidden_dim: int = 256
    """LSTM state size of the encoder and the decoder"""
    latent_dim: int = 32
    """size of the code z"""
    num_layers: int = 1
    """LSTM layers"""
    z_every_step: bool = False
    """also feed z beside every decoder input (texar); unset: z sets the initial state only
    (Bowman)"""
    dropout: float = 0.0
    """ordinary dropout on the decoder's embeddings and outputs (not word dropout)"""
    autoencoder: bool = False
    """a deterministic code (the encoder's mean) and no KL: an autoencoder, the first stage
    of the latent-space GAN"""
    inputless: bool = False
    """Bowman's inputless decoder: it reads <unk> for every word, in training, scoring and
    generation alike (--word-keep 0 drops words in training only)"""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("emb_dim", "hidden_dim", "latent_dim", "num_layers"))
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"--dropout must be in [0, 1), got {self.dropout}")

    def build(self, corpus: Corpus) -> SentenceVAE:
        vocab = corpus.vocab
        if self.inputless and vocab.unk_id is None:
            raise UserError("--inputless feeds the decoder <unk>, which an oracle's vocabulary "
                            "lacks; train it on text")
        return SentenceVAE(VAEConfig(len(vocab), self.emb_dim, self.hidden_dim, self.latent_dim,
                                     self.num_layers, self.z_every_step, self.dropout,
                                     self.autoencoder, corpus.start_id, corpus.eos_id,
                                     vocab.fill_id, self.inputless,
                                     vocab.unk_id))


@dataclass
class VAEScheduleConfig:
    """The VAE's training: ELBO updates, KL annealing, word dropout, free bits."""

    epochs: int = 30
    """training epochs"""
    batch_size: int = 32
    """sentences per gradient step"""
    lr: float = 0.001
    """Adam learning rate"""
    grad_clip: float = 5.0
    """gradient norm clip"""
    kl_anneal: str = "linear"
    """the KL weight's schedule over gradient steps: none (1 throughout), linear (texar's:
    from --kl-start, + 1 / (--kl-warmup epochs) per step, so 1 after (1 - start) x warmup
    epochs), sigmoid (1 / (1 + exp(-k (step - x0))): timbmg), cyclical (Fu et al.: every
    --kl-cycle epochs back to --kl-start, up to 1 over the first --kl-ratio of the cycle,
    then 1)"""
    kl_start: float = 0.1
    """the KL weight at the start of linear and cyclical annealing"""
    kl_warmup: float = 10.0
    """linear annealing adds 1 / (this many epochs) per epoch"""
    kl_k: float = 0.0025
    """steepness of sigmoid annealing"""
    kl_x0: int = 2500
    """gradient step at which sigmoid annealing is 0.5"""
    kl_cycle: float = 10.0
    """epochs per cycle of cyclical annealing"""
    kl_ratio: float = 0.5
    """share of a cycle spent rising"""
    free_bits: float = 0.0
    """a floor, in nats, on each latent dimension's batch-mean KL in the loss (Kingma et al.
    2016); 0: off"""
    word_keep: float = 1.0
    """Bowman's word dropout: each word the decoder conditions on is kept with this
    probability, else replaced by <unk> (1: none, 0: the inputless decoder)"""
    eval_every: int = 1
    """evaluate every N epochs"""
    seed: int = 0
    """seed of initialisation, batch order, codes and word dropout"""

    RESUMABLE = ("epochs", "eval_every")

    def __post_init__(self) -> None:
        check_choices(self, {"kl_anneal": ANNEALING})
        check_at_least(self, 1, ("epochs", "batch_size", "eval_every"))
        for name in ("kl_start", "kl_ratio", "word_keep"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"--{name.replace('_', '-')} must be in [0, 1], "
                                f"got {getattr(self, name)}")
        if min(self.lr, self.grad_clip, self.kl_warmup, self.kl_cycle, self.kl_ratio) <= 0:
            raise UserError("--lr, --grad-clip, --kl-warmup, --kl-cycle and --kl-ratio must be > 0")
        if self.free_bits < 0:
            raise UserError(f"--free-bits must be >= 0, got {self.free_bits}")


def kl_weight(s: VAEScheduleConfig, step: int, steps_per_epoch: int) -> float:
    """The KL weight at gradient step ``step`` (0-based) of ``s.kl_anneal``."""
    if s.kl_anneal == "none":
        return 1.0
    if s.kl_anneal == "sigmoid":  # the logistic, in a form that cannot overflow
        return 0.5 * (1.0 + math.tanh(0.5 * s.kl_k * (step - s.kl_x0)))
    if s.kl_anneal == "linear":
        return min(1.0, s.kl_start + step / (s.kl_warmup * steps_per_epoch))
    period = s.kl_cycle * steps_per_epoch  # cyclical
    progress = (step % period) / period / s.kl_ratio
    return min(1.0, s.kl_start + (1.0 - s.kl_start) * progress)


def word_dropout(inputs: torch.Tensor, keep: float, unk_id: int,
                 generator: torch.Generator | None) -> torch.Tensor:
    """``inputs [B, T]`` (the start token, then the shifted words) with each word after the
    start token replaced by ``unk_id`` with probability ``1 - keep`` (Bowman's word
    dropout; targets are untouched: they are a separate tensor)."""
    if keep >= 1.0:
        return inputs
    drop = torch.rand(inputs.shape, generator=generator, device=inputs.device) >= keep
    drop[:, 0] = False
    return inputs.masked_fill(drop, unk_id)


def kl_terms(mu: torch.Tensor, logvar: torch.Tensor, free_bits: float = 0.0
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(kl, penalised)`` per sentence of a batch of posteriors ``(mu [B, Z], logvar [B, Z])``:
    the KL to the prior, and the term the loss weights: with ``free_bits`` > 0, each
    dimension's batch-mean KL floored at ``free_bits`` (Kingma et al. 2016), so a dimension
    below the floor feels no pull towards the prior."""
    kl_dims = gaussian_kl(mu, logvar).mean(0)  # [Z]
    kl = kl_dims.sum()
    return kl, (kl_dims.clamp(min=free_bits).sum() if free_bits > 0 else kl)


class VAETrainer(Trainer):
    """ELBO training of ``vae`` on ``corpus.train``; one step is one epoch."""

    kind = "vae"
    unit = "epoch"
    plotted = ["nll_valid", "kl_valid", "train_rec", "train_kl", "kl_weight", "active_units"]

    def __init__(self, vae: SentenceVAE, corpus: Corpus, data: DataConfig,
                 schedule: VAEScheduleConfig, device: torch.device | str = "cpu",
                 lr_rule: LRPlateauConfig | None = None):
        if schedule.word_keep < 1 and corpus.vocab.unk_id is None:
            raise UserError("word dropout replaces words with <unk>, which an oracle's "
                            "vocabulary lacks: use --word-keep 1 on oracle data")
        super().__init__(vae.to(device), corpus.to(device), data, schedule.epochs,
                         schedule.eval_every, 1, seeded_generator(schedule.seed, device))
        self.schedule = schedule
        self.optimizer = adam(vae.parameters(), lr=schedule.lr)
        self.lr_rule = PlateauHalving(lr_rule or LRPlateauConfig(), vae, self.optimizer)
        self.steps_per_epoch = -(-len(corpus.train) // schedule.batch_size)
        self.updates = 0  # gradient steps so far: the annealing clock

    @property
    def stopped(self) -> bool:
        return self.lr_rule.stopped

    def update(self, tokens: torch.Tensor, lengths: torch.Tensor) -> dict[str, float]:
        """One ELBO step on ``tokens [B, T]``: the loss per sentence is the reconstruction
        NLL of one posterior sample plus the weighted (free-bits-floored) KL."""
        s, vae, g = self.schedule, self.policy, self.generator
        beta = kl_weight(s, self.updates, self.steps_per_epoch)
        mu, logvar = vae.encode(tokens, lengths)
        if vae.config.deterministic:  # an autoencoder: the code is the mean, no KL
            z = mu
        else:
            z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g, device=mu.device)
        inputs = word_dropout(vae.teacher_inputs(tokens), s.word_keep, self.vocab.unk_id, g)
        rec = -vae.log_prob(tokens, lengths, z, inputs=inputs).sum() / len(tokens)
        if vae.config.deterministic:
            kl = penalised = rec.new_zeros(())
        else:
            kl, penalised = kl_terms(mu, logvar, s.free_bits)
        loss = rec + beta * penalised
        grad_norm = optimizer_step(self.optimizer, loss, "VAE update", s.grad_clip)
        self.updates += 1
        return {"rec": rec.item(), "kl": kl.item(), "grad_norm": grad_norm, "kl_weight": beta}

    def train_step(self, step: int) -> dict:
        self.policy.train()
        totals = {"rec": 0.0, "kl": 0.0, "grad_norm": 0.0, "kl_weight": 0.0}
        with tqdm(total=self.steps_per_epoch, desc=f"epoch {step}", unit="batch", leave=False,
                  delay=1.0, disable=not self.progress) as bar:
            # A batch is as wide as its longest sentence: PTB's padded width is 100 tokens,
            # its sentences 22 on average.
            for tokens, lengths in self.corpus.train.batches(self.schedule.batch_size,
                                                             self.generator):
                stats = self.update(tokens, lengths)
                for key in totals:
                    totals[key] += stats[key] / self.steps_per_epoch
                bar.update()
        return {f"train_{k}" if k in ("rec", "kl") else k: v for k, v in totals.items()}

    def evaluate(self, step: int) -> dict:
        """The bound on the validation split (one code per sentence, the same codes at every
        evaluation): per token as ``nll_valid`` (the checkpoint selection), per sentence,
        the KL and the active units; then --lr-patience's rule, if on, takes ``nll_valid``."""
        valid = self.corpus.valid
        words = float(valid.lengths.sum())
        if self.policy.config.deterministic:  # an autoencoder: reconstruction from the mean
            rec = reconstruction_nll(self.policy, valid)
            record = {"nll_valid": rec * len(valid) / words, "rec_valid": rec}
        else:
            g = seeded_generator(self.schedule.seed, self.generator.device)
            scores = vae_likelihood(self.policy, valid, k=0, generator=g)
            nll = scores["nll_bound"] * len(valid) / words
            mu, _ = posterior_parameters(self.policy, valid)
            record = {"nll_valid": nll, "ppl_valid": perplexity(nll),
                      "nll_sentence_valid": scores["nll_bound"], "kl_valid": scores["kl"],
                      "active_units": active_units(mu)}
        return record | self.lr_rule.observe(record["nll_valid"])

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "updates": self.updates,
                "lr_rule": self.lr_rule.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = state["updates"]
        self.lr_rule.load_state_dict(state.get("lr_rule"))
