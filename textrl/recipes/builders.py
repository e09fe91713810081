"""Building a trainer from a run's settings, for the kinds of run that need no reward or
agent from the registry: MLE, MaskMLE and the VAE from data files, the latent-space GAN
from an autoencoder run, the Gumbel-softmax GAN from an MLE run."""

from __future__ import annotations

from typing import Any

import torch

from textrl import distributed
from textrl.datasets import build_corpus, report_changes
from textrl.device import seeded_generator
from textrl.errors import UserError
from textrl.models import RecurrentLM, SentenceVAE
from textrl.oracle import OracleLSTM
from textrl.recipes.config import RunConfig
from textrl.training import MLETrainer, load_run
from textrl.training.gumbel_gan import GumbelGANTrainer
from textrl.training.latent_gan import LatentGANTrainer
from textrl.training.vae import VAETrainer


def one_process(recipe: str) -> None:
    if distributed.active():
        raise UserError(f"`textrl train {recipe}` runs in one process only; run it without "
                        "torchrun")


def build_from_data(config: RunConfig, resume: bool, device: torch.device | str
                    ) -> MLETrainer | VAETrainer:
    """A fresh policy (an in-filler started from ``--init-lm`` when given) on the data files,
    and its MLE (MaskMLE) or VAE trainer."""
    config.parts["lr_rule"].check_one_process()
    corpus, oracle = build_corpus(config.parts["data"])
    report_changes(corpus)
    torch.manual_seed(config.seed)
    policy = config.parts["policy"].build(corpus)
    if isinstance(policy, SentenceVAE):
        one_process(config.recipe)
        return VAETrainer(policy, corpus, config.parts["data"], config.parts["schedule"], device,
                          config.parts["lr_rule"])
    start = config.parts.get("start")
    if start is not None and start.init_lm is not None and not resume:
        lm = load_run(start.init_lm, with_data=False)
        if not isinstance(lm.model, RecurrentLM):
            raise UserError(f"--init-lm {start.init_lm} is a {lm.kind} run of a "
                            f"{type(lm.model).__name__}; give a `textrl train mle` run")
        if lm.vocab.to_dict() != corpus.vocab.to_dict():
            raise UserError(f"--init-lm {start.init_lm} was trained on another vocabulary; "
                            "train the language model on the same data")
        policy.init_from_lm(lm.model)
    return MLETrainer(policy, corpus, oracle, config.parts["data"], config.parts["schedule"],
                      device, masks=config.parts.get("masks"), lr_rule=config.parts["lr_rule"])


def build_latent_gan(config: RunConfig, device: torch.device | str) -> LatentGANTrainer:
    """The ``--init`` autoencoder, frozen, and a fresh code generator and critic."""
    one_process(config.recipe)
    start = load_run(config.init, best=config.init_checkpoint == "best", device=device)
    if not isinstance(start.model, SentenceVAE):
        raise UserError(f"--init {config.init} holds a {type(start.model).__name__}; "
                        "start from a `textrl train vae --autoencoder` run")
    torch.manual_seed(config.seed)
    return LatentGANTrainer(start.model, start.corpus, start.data, config.parts["model"],
                            config.parts["schedule"], seeded_generator(config.seed, device))


def build_gumbel_gan(config: RunConfig, init: str,
                     device: torch.device | str = "cpu") -> GumbelGANTrainer:
    """The generator from the ``init`` MLE run, a fresh discriminator, and the Gumbel-softmax
    GAN trainer over them, on ``device``."""
    one_process(config.recipe)
    start = load_run(init, best=config.init_checkpoint == "best", device=device)
    if not isinstance(start.model, RecurrentLM):
        raise UserError(f"--init {init} holds a {type(start.model).__name__}; "
                        "`textrl train gumbel-gan` starts from an MLE language-model run")
    check_oracle(config, init, start)
    torch.manual_seed(config.seed)
    schedule = config.parts["schedule"]
    discriminator = config.parts["discriminator"].build(len(start.corpus.vocab), schedule.d_lr)
    return GumbelGANTrainer(start.model, discriminator.to(device), start.corpus, start.oracle,
                            start.data, schedule, seeded_generator(config.seed, device))


def check_oracle(config: RunConfig, init: str, start: Any) -> None:
    """``--oracle``, when given, must be the oracle the ``init`` run was trained on."""
    if config.oracle is None:
        return
    if start.oracle is None:
        raise UserError(f"--init {init} was trained on text, not an oracle; drop --oracle")
    if OracleLSTM.from_spec(config.oracle).source != start.oracle.source:
        raise UserError(f"--oracle {config.oracle} is not the oracle of --init {init} "
                        f"({start.data.oracle}); pass the same oracle or drop --oracle")
