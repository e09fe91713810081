"""The Gumbel-softmax GAN recipe (``gumbel-gan``): no RL, the discriminator's gradient
reaches the generator through relaxed one-hots; it starts from an MLE run (``--init``, or
one pretrained into OUT/mle)."""

from __future__ import annotations

import torch

from textrl.device import seeded_generator
from textrl.errors import UserError
from textrl.models import POLICIES
from textrl.recipes import Choices, Recipe, Start
from textrl.recipes.adversarial import start_policy
from textrl.recipes.config import RunConfig
from textrl.recipes.parts import InitConfig, check_policy_task, policy_parts, task_parts
from textrl.tasks import TASKS
from textrl.training.gumbel_gan import GANDiscriminatorConfig, GumbelGANConfig, GumbelGANTrainer

NEEDS = frozenset({"soft_inputs"})  # the relaxed one-hots are fed back as inputs


def gumbel_components(recipe: Recipe, choices: Choices) -> dict[str, type]:
    return {"init": InitConfig, **policy_parts(choices.policy),
            **task_parts(recipe.tasks, choices.task), "schedule": GumbelGANConfig,
            "discriminator": GANDiscriminatorConfig}


def check_gumbel(config: RunConfig) -> None:
    if config.init is None:  # the policy pretrained for it must read soft inputs too
        check_policy_task(config.choices.policy, config.choices.task)
        if not POLICIES[config.choices.policy].cls.capabilities >= NEEDS:
            raise UserError(f"--policy {config.choices.policy} cannot read relaxed one-hot "
                            "inputs, which the Gumbel-softmax GAN feeds back; use --policy "
                            + " or ".join(n for n, f in POLICIES.items()
                                          if f.cls.capabilities >= NEEDS))


def build_gumbel_gan(config: RunConfig, start: Start) -> GumbelGANTrainer:
    """The generator from the start run, a fresh discriminator, and the Gumbel-softmax GAN
    trainer over them, on ``start.device``."""
    needs = TASKS[config.choices.task].cls.needs | NEEDS
    _, loaded = start_policy(config, start, needs)
    torch.manual_seed(config.seed)
    schedule = config.parts["schedule"]
    discriminator = config.parts["discriminator"].build(len(loaded.corpus.vocab), schedule.d_lr)
    return GumbelGANTrainer(loaded.model, discriminator.to(start.device), loaded.corpus,
                            loaded.oracle, loaded.data, schedule,
                            seeded_generator(config.seed, start.device))


RECIPES = [
    Recipe(name="gumbel-gan", help="a GAN through the Gumbel-softmax relaxation, no RL (Kusner "
           "& Hernandez-Lobato 2016; RelGAN's relaxation), from an MLE run",
           components=gumbel_components, build=build_gumbel_gan, check=check_gumbel,
           presets="gumbel-gan"),
]
