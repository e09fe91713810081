"""The recipe registry: a recipe names its components (data, policy, task and schedule for
MLE; policy start, task, reward, agent, rollouts and schedules for the adversarial
recipes), how to build its trainer from them, and whether it can be split across torchrun's
processes. ``textrl train RECIPE`` accepts exactly the flags of that recipe's components.

SeqGAN, RankGAN, PG-BLEU and the constant control are recipes over the same parts; the
trainers in :mod:`textrl.training` take built components and know no recipe by name. The
recipe families live one to a file (:mod:`textrl.recipes.mle`, ``adversarial``, ``latent``,
``gumbel``); ``paper`` and ``cpu`` presets ship as YAML in ``textrl/recipes/configs/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NamedTuple

import torch
import yaml

from textrl import distributed
from textrl.device import resolve_device
from textrl.errors import UserError
from textrl.models import POLICIES
from textrl.recipes.agents import AGENTS
from textrl.recipes.components import REWARDS, reward_component
from textrl.recipes.config import RunConfig, build_parts, check_types, flag
from textrl.recipes.parts import DEFAULT_REWARD, RewardChoice, check_unique, chosen
from textrl.tasks import TASKS, Task
from textrl.training import RunDir, RunOptions, run_training

CONFIG_DIR = Path(__file__).parent / "configs"
PRESETS = ("paper", "cpu")


class Choices(NamedTuple):
    """What decides a run's components: the policy family, the task and the reward."""

    policy: str | None
    task: str
    reward: str


class Start(NamedTuple):
    """Where and how a recipe's trainer is built: the run directory, whether it resumes,
    progress bars, the run's options and its device."""

    out: Path
    resume: bool
    progress: bool
    options: RunOptions
    device: torch.device


@dataclass(frozen=True)
class Recipe:
    """A recipe, keyword-constructed. ``components(recipe, choices)`` gives the config class
    of each part (role -> dataclass); ``build(config, start)`` the trainer; ``check(config)``
    refuses a wrong combination before anything is built; ``distributable``: it may run in
    several torchrun processes (the reward and agent it uses must allow it too). ``tasks``:
    the tasks it runs, its default first (``--task`` where there are several); ``policy``:
    it takes ``--policy``; ``reward`` and ``agent`` name fixed components (a reward of
    ``None`` is chosen with ``--reward``); ``presets`` names its family of YAML presets."""

    name: str
    help: str
    components: Callable[[Recipe, Choices], dict[str, type]]
    build: Callable[[RunConfig, Start], Any]
    check: Callable[[RunConfig], None] | None = None
    distributable: bool = False
    tasks: tuple[str, ...] = ("unconditional",)
    policy: bool = True
    reward: str | None = None
    agent: str | None = None
    presets: str | None = None


def _recipes() -> dict[str, Recipe]:
    from textrl.recipes.adversarial import RECIPES as adversarial
    from textrl.recipes.gumbel import RECIPES as gumbel
    from textrl.recipes.latent import RECIPES as latent
    from textrl.recipes.mle import RECIPES as mle

    return {r.name: r for family in (mle, latent, adversarial, gumbel) for r in family}


def default_policy(task: str) -> str:
    """The first policy family that can do what ``task`` needs."""
    needs = TASKS[task].cls.needs
    return next((name for name, family in POLICIES.items() if needs <= family.cls.capabilities),
                next(iter(POLICIES)))


def choices_of(recipe: Recipe, settings: dict[str, Any]) -> Choices:
    """The choices ``settings`` (flags, a file, a saved run) make for ``recipe``."""
    task = chosen(settings, "task", recipe.tasks[0])
    if task not in recipe.tasks:
        raise UserError(f"--task {task}: `textrl train {recipe.name}` runs "
                        f"{' or '.join(recipe.tasks)}")
    policy = chosen(settings, "policy", default_policy(task)) if recipe.policy else None
    if policy is not None and policy not in POLICIES:
        raise UserError(f"--policy {policy!r}: use one of {', '.join(POLICIES)}")
    reward = recipe.reward or chosen(settings, "reward",
                                     TASKS[task].cls.default_reward or DEFAULT_REWARD)
    return Choices(policy, task, reward)


def components(recipe: Recipe, choices: Choices | None = None) -> dict[str, type]:
    """The config classes of ``recipe`` under ``choices`` (default: its defaults); two
    components sharing a setting's name are refused."""
    classes = recipe.components(recipe, choices or choices_of(recipe, {}))
    check_unique(recipe.name, classes)
    return classes


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; a UserError listing the recipes otherwise."""
    if name not in RECIPES:
        raise UserError(f"unknown recipe {name!r}; use one of {', '.join(RECIPES)}")
    return RECIPES[name]


def setting_names(classes: dict[str, type]) -> set[str]:
    """Every setting (flag) name of the config classes ``classes`` (role -> dataclass)."""
    return {f.name for cls in classes.values() for f in fields(cls)}


def read_yaml(path: str | Path) -> dict:
    """A YAML file of settings as a mapping; a UserError naming the file otherwise."""
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
    ``overrides`` (command-line flags). A combination the recipe cannot run is refused here,
    before anything is built or written."""
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
            presets = "paper, cpu or " if recipe.presets else ""
            raise UserError(f"--config {preset}: no such file; use {presets}a YAML path")
        settings, source = read_yaml(preset), str(preset)
    # A data source given on the command line replaces the file's other source.
    for given, other in (("data", "oracle"), ("oracle", "data")):
        if overrides.get(given) is not None:
            settings.pop(other, None)
    choices = choices_of(recipe, settings | overrides)
    classes = components(recipe, choices)
    names = setting_names(classes)
    if preset in PRESETS and saved is None:
        settings = {k: v for k, v in settings.items() if k in names}
    for keys, where in ((settings, source), (overrides, "the command line")):
        unknown = sorted(set(keys) - names - {"recipe"})
        if unknown:
            raise UserError(f"{where}: {', '.join(flag(k) for k in unknown)} is not a setting "
                            f"of `textrl train {name}`; see `textrl train {name} --help`")
        check_types(classes.values(), keys, where)
    config = build_parts(name, classes, settings | overrides, source, choices)
    if recipe.check is not None:
        recipe.check(config)
    return config


def build_trainer(config: RunConfig, out: str | Path, resume: bool = False,
                  progress: bool = True, options: RunOptions | None = None) -> Any:
    """The trainer of the run ``config`` describes, to be run in ``out`` (a script may drive
    its pieces itself; :func:`train` runs it with checkpoints). A run without ``--init``
    pretrains its start into ``OUT/mle`` here."""
    options = options or RunOptions()
    recipe = get_recipe(config.recipe)
    check_processes(recipe, config)
    return recipe.build(config, Start(Path(out), resume, progress, options,
                                      resolve_device(options.device)))


def train(config: RunConfig, out: str | Path, resume: bool = False, progress: bool = True,
          options: RunOptions | None = None) -> dict:
    """Build the run ``config`` describes and train it (or resume it) in ``out``; returns
    the last evaluation record. Nothing is written before the run can start."""
    RunDir(out).check(resume)
    trainer = build_trainer(config, out, resume, progress, options)
    return run_training(trainer, config, out, resume, progress, options)


def check_processes(recipe: Recipe, config: RunConfig) -> None:
    """Under torchrun, refuse a recipe, reward or agent that declares it cannot be split
    across processes, naming it."""
    if not distributed.active():
        return
    refused = [] if recipe.distributable else [f"`textrl train {recipe.name}`"]
    if "reward" in config.parts and not reward_component(config.choices.reward).cls.distributable:
        refused.append(f"--reward {config.choices.reward} (it scores each sentence against "
                       "its batch)")
    if recipe.agent is not None and not AGENTS[recipe.agent].cls.distributable:
        refused.append(f"the {recipe.agent} agent (it reads each rollout whole)")
    if refused:
        raise UserError(f"{' and '.join(refused)} run in one process only; run without torchrun")


def task_name(config: dict) -> str:
    """The name of the task a saved run's ``config`` (its config.yaml) was trained on."""
    recipe = RECIPES.get(config.get("recipe", "mle"))
    return config.get("task") or (recipe.tasks[0] if recipe is not None else "unconditional")


def task_of(config: dict, corpus: Any, data: Any) -> Task:
    """The task a saved run's ``config`` was trained on, over its ``corpus`` and ``data``
    settings."""
    component = TASKS[task_name(config)]
    settings = {f.name: config[f.name] for f in fields(component.config) if f.name in config}
    return component.build(component.config(**settings), vocab_size=len(corpus.vocab),
                           seed=config.get("seed", 0), corpus=corpus, data=data)


RECIPES: dict[str, Recipe] = _recipes()

__all__ = ["AGENTS", "PRESETS", "RECIPES", "REWARDS", "Choices", "Recipe", "RewardChoice",
           "RunConfig", "Start", "build_trainer", "choices_of", "components", "get_recipe", "read_yaml",
           "recipe_config", "reward_component", "setting_names", "task_name", "task_of", "train"]
