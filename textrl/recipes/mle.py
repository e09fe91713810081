"""Maximum likelihood (behaviour cloning) recipes: ``mle`` (any task, any policy family) and
``maskmle`` (MaskGAN's pretraining: in-filling by a seq2seq policy, optionally started from a
language model)."""

from __future__ import annotations

import torch

from textrl.datasets import DataConfig, build_corpus, report_changes, tokenised_for
from textrl.errors import UserError
from textrl.models import POLICIES
from textrl.recipes import Choices, Recipe, Start
from textrl.recipes.config import RunConfig
from textrl.recipes.parts import LMStart, check_policy_task, policy_parts, task_parts
from textrl.tasks import TASKS
from textrl.training import MLEConfig, MLETrainer, load_run
from textrl.training.plateau import LRPlateauConfig


def mle_components(recipe: Recipe, choices: Choices) -> dict[str, type]:
    return {"data": DataConfig, **policy_parts(choices.policy),
            **task_parts(recipe.tasks, choices.task), "schedule": MLEConfig,
            "lr_rule": LRPlateauConfig}


def maskmle_components(recipe: Recipe, choices: Choices) -> dict[str, type]:
    return mle_components(recipe, choices) | {"start": LMStart}


def check_mle(config: RunConfig) -> None:
    check_policy_task(config.choices.policy, config.choices.task)


def build_mle(config: RunConfig, start: Start) -> MLETrainer:
    """A fresh policy of the chosen family on the data files, tokenised as the family
    requires (the run's config records it), an in-filler started from ``--init-lm`` when
    given, and its MLE trainer under the chosen task."""
    config.parts["lr_rule"].check_one_process()
    data = config.parts["data"] = tokenised_for(config.parts["policy"], config.parts["data"])
    corpus, oracle = build_corpus(data)
    report_changes(corpus)
    torch.manual_seed(config.seed)
    policy = POLICIES[config.choices.policy].build(config.parts["policy"], corpus)
    lm_start = config.parts.get("start")
    if lm_start is not None and lm_start.init_lm is not None and not start.resume:
        lm = load_run(lm_start.init_lm, with_data=False)
        if lm.vocab.to_dict() != corpus.vocab.to_dict():
            raise UserError(f"--init-lm {lm_start.init_lm} was trained on another vocabulary; "
                            "train the language model on the same data")
        policy.init_from_lm(lm.model)
    task = TASKS[config.choices.task].build(config.parts["task"], vocab_size=len(corpus.vocab),
                                            seed=config.seed, corpus=corpus, data=data)
    return MLETrainer(policy, corpus, oracle, data, config.parts["schedule"],
                      task, start.device, config.parts["lr_rule"])


RECIPES = [
    Recipe(name="mle", help="maximum likelihood (behaviour cloning)",
           components=mle_components, build=build_mle, check=check_mle, distributable=True,
           tasks=("unconditional", "infill", "prompted", "arithmetic")),
    Recipe(name="maskmle", help="MaskMLE: in-filling by maximum likelihood on the blanked "
           "words (MaskGAN's pretraining)", components=maskmle_components, build=build_mle,
           check=check_mle, distributable=True, tasks=("infill",), presets="maskmle"),
]
