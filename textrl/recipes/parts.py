"""The parts every recipe family shares: the choices that decide which components a run is
made of (``--policy``, ``--task``, ``--reward``), where a run starts (``--init``), and the
checks that refuse a wrong combination before anything is built or written."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from textrl.datasets import absolute
from textrl.errors import UserError
from textrl.models import POLICIES
from textrl.rewards import LearnedReward
from textrl.settings import check_choices, flag
from textrl.tasks import TASKS

DEFAULT_REWARD = "discriminator"


@dataclass
class PolicyChoice:
    """The policy family."""

    policy: str | None = None
    """the policy family whose settings follow (recurrent: LSTM/GRU; seq2seq: the in-filler;
    transformer: a decoder-only Transformer; hf: a Hugging Face causal LM) (default: what
    --init holds, else the first family that can do the task: recurrent, or seq2seq for
    in-filling)"""

    def __post_init__(self) -> None:
        if self.policy is not None and self.policy not in POLICIES:
            raise UserError(f"--policy {self.policy!r}: use one of {', '.join(POLICIES)}")


@dataclass
class TaskChoice:
    """The task."""

    task: str | None = None
    """what the policy is conditioned on: unconditional (a sentence from the start token),
    infill (a masked sentence whose blanks the policy writes), prompted (a prompt, then
    completions) or arithmetic (prompts a+b=, the answer checked) (default: the recipe's
    first)"""

    def __post_init__(self) -> None:
        if self.task is not None and self.task not in TASKS:
            raise UserError(f"--task {self.task!r}: use one of {', '.join(TASKS)}")


@dataclass
class RewardChoice:
    """The reward of a recipe that takes any."""

    reward: str | None = None
    """a built-in reward (discriminator, ranker, bleu, constant, oracle, token_discriminator,
    answer, reference_bleu) or MODULE:ATTRIBUTE: a function (tokens, lengths, context) ->
    [B] or [B, T] (or TRL-style (completions, prompts, **columns) -> one float each on a
    prompted task), or a reward class (a textrl.rewards.LearnedReward is trained by d-steps)
    (default: the task's own, answer for arithmetic; else discriminator)"""


@dataclass
class InitConfig:
    """Where an RL run's policy starts."""

    init: str | None = None
    """run directory to start from (default: pretrain the policy by MLE into OUT/mle)"""
    init_checkpoint: str = "last"
    """start from the init run's last or best (validation NLL) weights"""
    oracle: str | None = None
    """'random', 'random:SEED' or the authors' pickle, to pretrain on without --init
    (default: random); with --init, it must be that run's oracle"""
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


def policy_parts(policy: str) -> dict[str, type]:
    """The ``--policy`` choice and the chosen family's settings."""
    return {"policy_choice": PolicyChoice, "policy": POLICIES[policy].config}


def task_parts(tasks: tuple[str, ...], task: str) -> dict[str, type]:
    """The ``--task`` choice (where a recipe offers more than one) and the task's settings."""
    return ({"task_choice": TaskChoice} if len(tasks) > 1 else {}) | {"task": TASKS[task].config}


def check_unique(recipe: str, classes: dict[str, type]) -> None:
    """Two components of one recipe may not share a setting's name (flags are flat): a
    UserError naming both, never an argparse conflict."""
    owner: dict[str, str] = {}
    for cls in classes.values():
        for f in fields(cls):
            if f.name in owner:
                raise UserError(f"`textrl train {recipe}`: {owner[f.name]} and {cls.__name__} "
                                f"both have a setting {flag(f.name)}; rename one of them (flags "
                                "are flat, one name per setting)")
            owner[f.name] = cls.__name__


def check_reward_task(reward: str, reward_cls: type, task: str) -> None:
    """A reward that scores one task's contexts (a per-word discriminator reads in-filling
    templates) is refused on another, before anything is built."""
    if reward_cls.task is not None and reward_cls.task not in TASKS:
        raise UserError(f"--reward {reward} declares task = {reward_cls.task!r}, which is not a "
                        f"task; use one of {', '.join(TASKS)} (or None: any task)")
    if reward_cls.task is not None and not issubclass(TASKS[task].cls,
                                                     TASKS[reward_cls.task].cls):
        raise UserError(f"--reward {reward} scores the {reward_cls.task} task, and this run's "
                        f"task is {task}: pass --task {reward_cls.task} (or, for MaskGAN, "
                        "`textrl train maskgan`)")


def check_policy_task(policy: str, task: str) -> None:
    """A fresh policy must be able to do what its task needs."""
    missing = sorted(TASKS[task].cls.needs - POLICIES[policy].cls.capabilities)
    if missing:
        able = [name for name, family in POLICIES.items()
                if TASKS[task].cls.needs <= family.cls.capabilities]
        raise UserError(f"--policy {policy} cannot do what the {task} task needs "
                        f"({', '.join(missing)}); use --policy {' or '.join(able) or '...'}")


def is_learned(reward_cls: type) -> bool:
    return issubclass(reward_cls, LearnedReward)


def chosen(settings: dict[str, Any], name: str, default: Any) -> Any:
    """A choice's value in ``settings`` (flags, a file, a saved run), else ``default``."""
    value = settings.get(name)
    return default if value is None else value
