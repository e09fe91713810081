"""The recipes of a code space: the sentence VAE (``vae``, also a plain autoencoder) and
the latent-space GAN on an autoencoder's codes (``latent-gan``)."""

from __future__ import annotations

import torch

from textrl.datasets import DataConfig, build_corpus, report_changes
from textrl.device import seeded_generator
from textrl.models import require
from textrl.recipes import Choices, Recipe, Start
from textrl.recipes.config import RunConfig
from textrl.recipes.parts import AutoencoderStart
from textrl.training import load_run
from textrl.training.latent_gan import (
    LatentGANModelConfig,
    LatentGANScheduleConfig,
    LatentGANTrainer,
)
from textrl.training.plateau import LRPlateauConfig
from textrl.training.vae import VAEPolicyConfig, VAEScheduleConfig, VAETrainer


def vae_components(recipe: Recipe, choices: Choices) -> dict[str, type]:
    return {"data": DataConfig, "model": VAEPolicyConfig, "schedule": VAEScheduleConfig,
            "lr_rule": LRPlateauConfig}


def build_vae(config: RunConfig, start: Start) -> VAETrainer:
    config.parts["lr_rule"].check_one_process()
    corpus, _ = build_corpus(config.parts["data"])
    report_changes(corpus)
    torch.manual_seed(config.seed)
    vae = config.parts["model"].build(corpus)
    return VAETrainer(vae, corpus, config.parts["data"], config.parts["schedule"], start.device,
                      config.parts["lr_rule"])


def latent_components(recipe: Recipe, choices: Choices) -> dict[str, type]:
    return {"start": AutoencoderStart, "schedule": LatentGANScheduleConfig,
            "model": LatentGANModelConfig}


def build_latent_gan(config: RunConfig, start: Start) -> LatentGANTrainer:
    """The ``--init`` run's autoencoder, frozen, and a fresh code generator and critic."""
    init = load_run(config.init, best=config.init_checkpoint == "best", device=start.device)
    require(init.model, {"codes"}, f"--init {config.init} for `textrl train latent-gan`",
            "start from a `textrl train vae --autoencoder` run")
    torch.manual_seed(config.seed)
    return LatentGANTrainer(init.model.code_model, init.corpus, init.data, config.parts["model"],
                            config.parts["schedule"], seeded_generator(config.seed, start.device))


RECIPES = [
    Recipe(name="vae", help="the sentence VAE (Bowman et al. 2016): ELBO with KL annealing, "
           "word dropout and free bits", components=vae_components, build=build_vae,
           policy=False, presets="vae"),
    Recipe(name="latent-gan", help="the latent-space GAN (LaTextGAN): WGAN-GP on a frozen "
           "autoencoder's codes, from a `vae --autoencoder` run", components=latent_components,
           build=build_latent_gan, policy=False, presets="latent-gan"),
]
