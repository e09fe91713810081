"""The recipe registry: a recipe names its components (data, policy and schedule for MLE;
reward, agent, rollouts and schedules for the adversarial recipes) and which trainer runs
them. ``textrl train RECIPE`` accepts exactly the flags of that recipe's components.

SeqGAN, RankGAN, PG-BLEU and the constant control are recipes over the same parts; the
trainers in :mod:`textrl.training` take built components and know no recipe by name.
``paper`` and ``cpu`` presets ship as YAML in ``textrl/recipes/configs/``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
import yaml

from textrl import distributed
from textrl.datasets import DataConfig, absolute
from textrl.device import resolve_device, seeded_generator
from textrl.errors import UserError
from textrl.models import Seq2SeqGenerator
from textrl.recipes.builders import (
    build_from_data,
    build_gumbel_gan,
    build_latent_gan,
    check_oracle,
)
from textrl.recipes.components import AGENTS, REWARDS, Component, UserRewardConfig
from textrl.recipes.config import RunConfig, build_parts, check_types, flag
from textrl.rewards.function import load_reward, user_reward_is_learned
from textrl.settings import check_choices
from textrl.training import (
    AdversarialConfig,
    AdversarialTrainer,
    DStepConfig,
    MLEConfig,
    PolicyConfig,
    RealSentences,
    RolloutConfig,
    RunDir,
    RunOptions,
    load_run,
    run_training,
)
from textrl.training.gumbel_gan import GANDiscriminatorConfig, GumbelGANConfig
from textrl.training.infill import MaskConfig, Seq2SeqPolicyConfig
from textrl.training.latent_gan import (
    LatentGANModelConfig,
    LatentGANScheduleConfig,
)
from textrl.training.plateau import LRPlateauConfig
from textrl.training.vae import VAEPolicyConfig, VAEScheduleConfig

CONFIG_DIR = Path(__file__).parent / "configs"
PRESETS = ("paper", "cpu")


@dataclass(frozen=True)
class Recipe:
    """``kind`` picks the trainer ("mle", "maskmle", "vae", "gumbel_gan", "latent_gan" or
    "adversarial"); ``reward`` and
    ``agent`` name components (a reward of ``None`` is chosen with ``--reward``); ``presets``
    names the family of YAML presets it reads; ``infill``: the policy fills masked templates."""

    name: str
    help: str
    kind: str
    reward: str | None = None
    agent: str | None = None
    presets: str | None = None
    infill: bool = False


RECIPES: dict[str, Recipe] = {r.name: r for r in [
    Recipe("mle", "maximum likelihood (behaviour cloning)", "mle"),
    Recipe("maskmle", "MaskMLE: in-filling by maximum likelihood on the blanked words (MaskGAN's "
           "pretraining)", "maskmle", presets="maskmle"),
    Recipe("vae", "the sentence VAE (Bowman et al. 2016): ELBO with KL annealing, word dropout "
           "and free bits", "vae", presets="vae"),
    Recipe("seqgan", "SeqGAN: policy gradient against a CNN discriminator, Monte-Carlo rollouts",
           "adversarial", "discriminator", "pg", "seqgan"),
    Recipe("rankgan", "RankGAN: policy gradient against a ranker", "adversarial", "ranker", "pg",
           "rankgan"),
    Recipe("pg-bleu", "policy gradient against BLEU to the training data (SeqGAN's PG-BLEU)",
           "adversarial", "bleu", "pg", "pg-bleu"),
    Recipe("constant", "the control: policy gradient against a constant reward", "adversarial",
           "constant", "pg", "constant"),
    Recipe("pg", "REINFORCE against --reward", "adversarial", None, "pg", "seqgan"),
    Recipe("a2c", "advantage actor-critic (GAE) against --reward", "adversarial", None, "a2c",
           "seqgan"),
    Recipe("ppo", "PPO-clip against --reward", "adversarial", None, "ppo", "seqgan"),
    Recipe("gumbel-gan", "a GAN through the Gumbel-softmax relaxation, no RL (Kusner & "
           "Hernandez-Lobato 2016; RelGAN's relaxation), from an MLE run", "gumbel_gan",
           presets="gumbel-gan"),
    Recipe("latent-gan", "the latent-space GAN (LaTextGAN): WGAN-GP on a frozen autoencoder's "
           "codes, from a `vae --autoencoder` run", "latent_gan", presets="latent-gan"),
    Recipe("maskgan", "MaskGAN: actor-critic in-filling against a per-word discriminator and "
           "its critic, from a maskmle run", "adversarial", "token_discriminator", "a2c",
           "maskgan", infill=True),
]}


@dataclass
class InitConfig:
    """Where an RL run's policy starts."""

    init: str | None = None
    """MLE run directory to start from (default: pretrain one into OUT/mle)"""
    init_checkpoint: str = "last"
    """start from the init run's last or best (validation NLL) weights"""
    oracle: str | None = None
    """'random', 'random:SEED' or the authors' pickle, for pretraining; must match --init's"""
    pretrain_epochs: int = 120
    """MLE epochs when there is no --init"""

    def __post_init__(self) -> None:
        check_choices(self, {"init_checkpoint": ("last", "best")})
        if self.init is not None:  # absolute: the run works from any folder
            self.init = absolute(self.init)
        if self.oracle is not None and not self.oracle.startswith("random"):
            self.oracle = absolute(self.oracle)


@dataclass
class LMStart:
    """Where an in-filler starts."""

    init_lm: str | None = None
    """an MLE language-model run whose embedding, LSTM and output bias start both the encoder
    and the decoder (the MaskGAN authors' recipe; its sizes must match)"""

    def __post_init__(self) -> None:
        if self.init_lm is not None:
            self.init_lm = absolute(self.init_lm)


@dataclass
class AutoencoderStart:
    """The autoencoder a latent-space GAN works on."""

    init: str | None = None
    """a `textrl train vae --autoencoder` run (required)"""
    init_checkpoint: str = "best"
    """its last or best (validation reconstruction) weights"""

    def __post_init__(self) -> None:
        check_choices(self, {"init_checkpoint": ("last", "best")})
        if self.init is None:
            raise UserError("`textrl train latent-gan` needs --init AUTOENCODER_RUN (train one "
                            "with `textrl train vae --autoencoder`)")
        self.init = absolute(self.init)


@dataclass
class RewardChoice:
    """The reward of a recipe that takes any."""

    reward: str = "discriminator"
    """a built-in reward (discriminator, ranker, bleu, constant, oracle) or MODULE:FUNCTION,
    a function (tokens, lengths, context) -> [B] or [B, T], or a reward class"""

    def __post_init__(self) -> None:
        if self.reward not in REWARDS and ":" not in self.reward:
            raise UserError(f"--reward {self.reward!r}: use one of {', '.join(REWARDS)} or "
                            "MODULE:FUNCTION")
        if ":" in self.reward:
            load_reward(self.reward)  # a missing module or attribute fails before any training


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise UserError(f"unknown recipe {name!r}; use one of {', '.join(RECIPES)}")
    return RECIPES[name]


def reward_component(name: str) -> Component:
    """The registry entry of a built-in reward, or of a user's ``MODULE:FUNCTION``."""
    if name in REWARDS:
        return REWARDS[name]
    return Component(UserRewardConfig, lambda _config, **_: load_reward(name),
                     learned=user_reward_is_learned(name))


def components(recipe: Recipe, reward: str = "discriminator") -> dict[str, type]:
    """The config classes of ``recipe`` (with ``reward`` when the recipe takes any)."""
    if recipe.kind == "mle":
        return {"data": DataConfig, "policy": PolicyConfig, "schedule": MLEConfig,
                "lr_rule": LRPlateauConfig}
    if recipe.kind == "vae":
        return {"data": DataConfig, "policy": VAEPolicyConfig, "schedule": VAEScheduleConfig,
                "lr_rule": LRPlateauConfig}
    if recipe.kind == "latent_gan":
        return {"start": AutoencoderStart, "schedule": LatentGANScheduleConfig,
                "model": LatentGANModelConfig}
    if recipe.kind == "gumbel_gan":
        return {"init": InitConfig, "schedule": GumbelGANConfig,
                "discriminator": GANDiscriminatorConfig}
    if recipe.kind == "maskmle":
        return {"data": DataConfig, "policy": Seq2SeqPolicyConfig, "masks": MaskConfig,
                "schedule": MLEConfig, "start": LMStart, "lr_rule": LRPlateauConfig}
    reward = recipe.reward or reward
    parts: dict[str, type] = {"init": InitConfig}
    if recipe.reward is None:
        parts["choice"] = RewardChoice
    parts |= {"schedule": AdversarialConfig, "rollout": RolloutConfig,
              "reward": reward_component(reward).config, "agent": AGENTS[recipe.agent].config}
    if reward_component(reward).learned:
        parts["d_steps"] = DStepConfig
    if recipe.infill:
        parts["masks"] = MaskConfig
    return parts


def setting_names(classes: dict[str, type]) -> set[str]:
    return {f.name for cls in classes.values() for f in fields(cls)}


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the config ({exc}); give a YAML file") from None
    if not isinstance(loaded, dict):
        raise UserError(f"{path}: a config must be a mapping of settings")
    return loaded


def preset_path(recipe: Recipe, preset: str) -> Path:
    return CONFIG_DIR / f"{recipe.presets}-{preset}.yaml"


def recipe_config(name: str, preset: str | None = "cpu", overrides: dict | None = None,
                  saved: dict | None = None) -> RunConfig:
    """The settings of recipe ``name``: a shipped ``preset`` (``paper``/``cpu``, shared by a
    recipe family, so only this recipe's keys are taken) or a YAML file of the user's (every
    key must belong to the recipe), or the ``saved`` config of a run being resumed; then
    ``overrides`` (command-line flags)."""
    recipe = get_recipe(name)
    overrides = dict(overrides or {})
    settings: dict = {}
    source = "--config"
    if saved is not None:
        # "launch" records how the run was started (torchrun processes), not a setting.
        settings = {k: v for k, v in saved.items() if k not in ("recipe", "launch")}
        source = "the run's config.yaml"
    elif preset in PRESETS and recipe.presets is not None:
        settings = read_yaml(preset_path(recipe, preset))
    elif preset in PRESETS:
        raise UserError(f"`textrl train {name}` has no {preset} preset; give a YAML file")
    elif preset is not None:
        if not Path(preset).is_file():
            raise UserError(f"--config {preset}: no such file; use paper, cpu or a YAML path")
        settings, source = read_yaml(preset), str(preset)
    # A data source given on the command line replaces the file's other source.
    for given, other in (("data", "oracle"), ("oracle", "data")):
        if overrides.get(given) is not None and recipe.kind == "mle":
            settings.pop(other, None)
    reward = overrides.get("reward") or settings.get("reward") or RewardChoice.reward
    classes = components(recipe, reward)
    names = setting_names(classes)
    if preset in PRESETS and saved is None:
        settings = {k: v for k, v in settings.items() if k in names}
    for keys, where in ((settings, source), (overrides, "the command line")):
        unknown = sorted(set(keys) - names - {"recipe"})
        if unknown:
            raise UserError(f"{where}: {', '.join(flag(k) for k in unknown)} is not a setting "
                            f"of `textrl train {name}`; see `textrl train {name} --help`")
        check_types(classes.values(), keys, where)
    return build_parts(name, classes, settings | overrides, source)


def train(config: RunConfig, out: str | Path, resume: bool = False, progress: bool = True,
          options: RunOptions | None = None) -> dict:
    """Build the run ``config`` describes and train it (or resume it) in ``out``; returns
    the last evaluation record. Nothing is written before the run can start."""
    RunDir(out).check(resume)
    options = options or RunOptions()
    device = resolve_device(options.device)
    kind = get_recipe(config.recipe).kind
    if kind in ("mle", "maskmle", "vae"):
        trainer = build_from_data(config, resume, device)
    elif kind == "latent_gan":
        trainer = build_latent_gan(config, device)
    elif kind == "gumbel_gan":
        trainer = build_gumbel_gan(config, _init_run(config, out, progress, options), device)
    else:
        trainer = build_adversarial(config, _init_run(config, out, progress, options), device)
    return run_training(trainer, config, out, resume, progress, options)


def _init_run(config: RunConfig, out: str | Path, progress: bool, options: RunOptions) -> str:
    """The MLE run an RL run starts from: ``--init``, or one pretrained into ``OUT/mle``
    (continued if a previous start was interrupted)."""
    if config.init is not None:
        return config.init
    if get_recipe(config.recipe).infill:
        raise UserError(f"`textrl train {config.recipe}` starts from an in-filler: train one "
                        "with `textrl train maskmle` and pass --init RUN")
    init = str(Path(out) / "mle")
    mle = recipe_config("mle", None, {"oracle": config.oracle, "epochs": config.pretrain_epochs,
                                      "seed": config.seed})
    started = RunDir(init).checkpoint.exists()
    if not started or RunDir(init).load_checkpoint()["step"] < mle.epochs:
        train(mle, init, resume=started, progress=progress,
              options=RunOptions(device=options.device))
    return init


def build_adversarial(config: RunConfig, init: str,
                      device: torch.device | str = "cpu") -> AdversarialTrainer:
    """The policy from the ``init`` run, the reward and agent of ``config``'s recipe, and the
    adversarial trainer over them, on ``device``."""
    recipe = get_recipe(config.recipe)
    start = load_run(init, best=config.init_checkpoint == "best", device=device)
    if recipe.infill != isinstance(start.model, Seq2SeqGenerator):
        wanted = "a `textrl train maskmle` run" if recipe.infill else "an MLE language-model run"
        raise UserError(f"--init {init} holds a {type(start.model).__name__}; "
                        f"`textrl train {recipe.name}` starts from {wanted}")
    corpus, oracle = start.corpus, start.oracle
    check_oracle(config, init, start)
    reward_name = recipe.reward or config.reward
    if distributed.active() and (recipe.agent != "pg" or reward_name == "ranker"):
        raise UserError(f"`textrl train {config.recipe}` runs in one process only: several "
                        "processes serve MLE and policy-gradient recipes against rewards that "
                        "score each sentence on its own (the ranker scores it against the "
                        "batch; actor-critic agents are not split yet); run it without torchrun")
    generator = seeded_generator(distributed.stream_seed(config.seed), device)
    torch.manual_seed(config.seed)
    d_steps = config.parts.get("d_steps")
    real = RealSentences.of(corpus, oracle, d_steps.real_data if d_steps else "train", generator)
    parts: dict[str, Any] = {"vocab_size": len(corpus.vocab), "corpus": corpus, "oracle": oracle,
                             "real": real, "batch_size": config.batch_size, "seed": config.seed,
                             "generator": generator, "policy": start.model}
    reward = reward_component(reward_name).build(config.parts["reward"], **parts)
    if isinstance(reward, torch.nn.Module):
        reward.to(device)  # in place: its optimiser keeps the same parameters
    # Monte-Carlo rewards are paid as r_t = Q_t, whose undiscounted return is Q_t with gamma 0.
    gamma = 0.0 if config.n_rollouts else config.gamma
    agent = AGENTS[recipe.agent].build(config.parts["agent"], gamma=gamma,
                                       critic=getattr(reward, "critic", None), **parts)
    return AdversarialTrainer(start.model, reward, agent, corpus, oracle, start.data,
                              config.parts["schedule"], config.parts["rollout"], d_steps, real,
                              generator, config.parts.get("masks"))


__all__ = ["RECIPES", "Recipe", "RunConfig", "build_adversarial", "components", "get_recipe",
           "read_yaml", "recipe_config", "reward_component", "train"]
