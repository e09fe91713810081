"""The adversarial / IRL recipes: SeqGAN, RankGAN, PG-BLEU, the constant control, MaskGAN
and ``pg``/``a2c``/``ppo`` against any reward, all one loop (:class:`AdversarialTrainer`)
over a policy start, a task, a reward and an agent; and the MLE pretraining a run without
``--init`` starts from, which the Gumbel-softmax GAN shares."""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Any

import torch
from tqdm import tqdm

from textrl import distributed
from textrl.datasets import policy_tokenizer
from textrl.device import seeded_generator
from textrl.errors import UserError
from textrl.models import family_of, require
from textrl.oracle import OracleLSTM
from textrl.recipes import Choices, Recipe, Start
from textrl.recipes.agents import AGENTS, KLConfig
from textrl.recipes.components import REWARDS, reward_component
from textrl.recipes.config import RunConfig
from textrl.recipes.parts import (
    InitConfig,
    RewardChoice,
    check_policy_task,
    check_reward_task,
    is_learned,
    policy_parts,
    task_parts,
)
from textrl.rewards import load_reward
from textrl.rewards.base import LearnedReward, check_learned
from textrl.tasks import TASKS
from textrl.training import (
    AdversarialConfig,
    AdversarialTrainer,
    DStepConfig,
    RealSentences,
    RolloutConfig,
    RunDir,
    RunOptions,
    load_run,
)


def adversarial_components(recipe: Recipe, choices: Choices) -> dict[str, type]:
    reward = reward_component(choices.reward)
    parts = {"init": InitConfig, **policy_parts(choices.policy),
             **task_parts(recipe.tasks, choices.task)}
    if recipe.reward is None:
        parts["reward_choice"] = RewardChoice
    parts |= {"schedule": AdversarialConfig, "rollout": RolloutConfig, "reward": reward.config,
              "agent": AGENTS[recipe.agent].config, "kl": KLConfig}
    if is_learned(reward.cls):
        parts["d_steps"] = DStepConfig
    return parts


def group_components(recipe: Recipe, choices: Choices) -> dict[str, type]:
    """A group algorithm's parts: the adversarial ones without Monte-Carlo rollouts (its
    advantage is a whole completion's)."""
    return {role: cls for role, cls in adversarial_components(recipe, choices).items()
            if role != "rollout"}


NO_ROLLOUTS = RolloutConfig(n_rollouts=0)


def check_adversarial(config: RunConfig) -> None:
    """The reward scores this task, Monte-Carlo rollouts can pay it here, and a policy
    pretrained for lack of ``--init`` can do what the task needs and read an oracle's ids."""
    choices = config.choices
    reward_cls = reward_component(choices.reward).cls
    check_reward_task(choices.reward, reward_cls, choices.task)
    if choices.reward not in REWARDS and is_learned(reward_cls):
        load_reward(choices.reward)  # a user's learned reward: its optimiser checked now
    group_size = getattr(config.parts["task"], "group_size", 1)  # a prompted task's
    if config.batch_size % group_size:
        raise UserError(f"--batch-size {config.batch_size} is not a multiple of --group-size "
                        f"{group_size}: every prompt gets --group-size completions")
    n_rollouts = config.parts.get("rollout", NO_ROLLOUTS).n_rollouts
    if n_rollouts and not TASKS[choices.task].cls.monte_carlo:
        raise UserError(f"the {choices.task} task pays every action its own reward: use "
                        "--n-rollouts 0")
    kl = config.parts["kl"]
    if n_rollouts and (kl.kl_coef or 0) > 0 and (kl.kl_in or "reward") == "reward":
        raise UserError("a KL paid in the reward is per token, and Monte-Carlo rollouts pay "
                        "each token its Q value alone (returns are not summed): use --kl-in "
                        "loss, or --n-rollouts 0")
    if n_rollouts and reward_cls.token_level:
        raise UserError(f"--reward {choices.reward} is already paid per token; Monte-Carlo "
                        "rollouts turn a per-sentence reward into per-token values: use "
                        "--n-rollouts 0")
    if config.init is None:
        check_policy_task(choices.policy, choices.task)
        fixed = policy_tokenizer(config.parts["policy"])
        if fixed is not None:
            raise UserError(f"--policy {choices.policy} reads text tokenised by its own tokenizer "
                            f"({fixed}), and without --init `textrl train {config.recipe}` "
                            "pretrains on an oracle's ids: pretrain it on text first (`textrl "
                            f"train mle --policy {choices.policy} ... --data FILE --out RUN`) "
                            "and pass --init RUN")


def start_policy(config: RunConfig, start: Start, needs: set[str]) -> tuple[str, Any]:
    """The run the policy starts from (``--init``, or an MLE run pretrained into OUT/mle) and
    that run loaded, refused unless its model can do what ``needs`` names and belongs to
    ``--policy`` when that is given."""
    init = config.init if config.init is not None else pretrain(config, start)
    loaded = load_run(init, best=config.init_checkpoint == "best", device=start.device)
    require(loaded.model, needs, f"--init {init} for `textrl train {config.recipe}`",
            f"start from an MLE run of the {config.choices.task} task (`textrl train mle "
            f"--task {config.choices.task}`)")
    family = family_of(loaded.model)
    if config.policy is not None and family != config.policy:
        raise UserError(f"--policy {config.policy}, but --init {init} holds a "
                        f"{type(loaded.model).__name__} ({family or 'no policy family'}); drop "
                        "--policy or start from a run of that family")
    check_oracle(config, init, loaded)
    return init, loaded


def pretrain(config: RunConfig, start: Start) -> str:
    """The MLE run a run without ``--init`` starts from, pretrained into ``OUT/mle`` (continued
    if a previous start was interrupted) with the run's policy family, task and oracle."""
    from textrl.recipes import get_recipe, recipe_config, train

    init = start.out / "mle"
    # The choices as this run resolved them, left unset where MLE resolves them alike (so a
    # pretraining started by an older textrl, which set neither, still resumes).
    task = config.choices.task
    settings = ({"oracle": config.oracle, "epochs": config.pretrain_epochs, "seed": config.seed,
                 "policy": config.to_dict().get("policy"),
                 "task": None if task == get_recipe("mle").tasks[0] else task}
                | asdict(config.parts["policy"]) | asdict(config.parts["task"]))
    mle = recipe_config("mle", None, settings)
    started = RunDir(init).checkpoint.exists()
    done = RunDir(init).load_checkpoint()["step"] if started else 0
    if not started or done < mle.epochs:  # --pretrain-epochs 0: the start, evaluated
        if distributed.is_main():
            tqdm.write(f"no --init: pretraining the {config.choices.policy} policy by MLE for "
                       f"{mle.epochs - done} epochs on the {mle.oracle} oracle into {init} "
                       "first (start from a run with --init RUN, or shorten this with "
                       "--pretrain-epochs N)", file=sys.stderr)
        train(mle, init, resume=started, progress=start.progress,
              options=RunOptions(device=start.options.device))
    return str(init)


def check_oracle(config: RunConfig, init: str, start: Any) -> None:
    """``--oracle``, when given, must be the oracle the ``init`` run was trained on."""
    if config.oracle is None:
        return
    if start.oracle is None:
        raise UserError(f"--init {init} was trained on text, not an oracle; drop --oracle")
    if OracleLSTM.from_spec(config.oracle).source != start.oracle.source:
        raise UserError(f"--oracle {config.oracle} is not the oracle of --init {init} "
                        f"({start.data.oracle}); pass the same oracle or drop --oracle")


def build_adversarial(config: RunConfig, start: Start) -> AdversarialTrainer:
    """The policy from the start run, the task, reward and agent of ``config``, and the
    adversarial trainer over them, on ``start.device``."""
    from textrl.recipes import get_recipe

    choices, device = config.choices, start.device
    rollout = config.parts.get("rollout", NO_ROLLOUTS)
    needs = set(TASKS[choices.task].cls.needs) | ({"prefix_states"} if rollout.n_rollouts else set())
    _, loaded = start_policy(config, start, needs)
    corpus, oracle = loaded.corpus, loaded.oracle
    task = TASKS[choices.task].build(config.parts["task"], vocab_size=len(corpus.vocab),
                                     seed=config.seed, corpus=corpus, data=loaded.data)
    generator = seeded_generator(distributed.stream_seed(config.seed), device)
    torch.manual_seed(config.seed)
    d_steps = config.parts.get("d_steps")
    real = RealSentences.of(corpus, oracle, d_steps.real_data if d_steps else "train", generator)
    parts: dict[str, Any] = {"vocab_size": len(corpus.vocab), "corpus": corpus, "oracle": oracle,
                             "real": real, "batch_size": config.batch_size, "seed": config.seed,
                             "generator": generator, "policy": loaded.model,
                             "kl_settings": config.parts["kl"]}
    reward = reward_component(choices.reward).build(config.parts["reward"], **parts)
    if isinstance(reward, LearnedReward):
        check_learned(reward, choices.reward)
    if isinstance(reward, torch.nn.Module):
        reward.to(device)  # in place: its optimiser keeps the same parameters
    # Monte-Carlo rewards are paid as r_t = Q_t, whose undiscounted return is Q_t with gamma 0.
    gamma = 0.0 if rollout.n_rollouts else getattr(config.parts["agent"], "gamma", 1.0)
    agent = AGENTS[get_recipe(config.recipe).agent].build(
        config.parts["agent"], gamma=gamma, critic=reward.value_critic(), **parts)
    return AdversarialTrainer(loaded.model, reward, agent, corpus, oracle, loaded.data,
                              config.parts["schedule"], rollout, d_steps, real,
                              generator, task)


def _recipe(name: str, help: str, agent: str, reward: str | None = None,
            presets: str | None = "seqgan", tasks: tuple[str, ...] = ("unconditional",),
            components: Any = adversarial_components) -> Recipe:
    return Recipe(name=name, help=help, components=components,
                  build=build_adversarial, check=check_adversarial, distributable=True,
                  tasks=tasks, reward=reward, agent=agent, presets=presets)


ANY_TASK = ("unconditional", "infill", "prompted", "arithmetic")
PROMPTED = ("prompted", "arithmetic", "unconditional")
RECIPES = [
    _recipe("seqgan", "SeqGAN: policy gradient against a CNN discriminator, Monte-Carlo "
            "rollouts", "pg", "discriminator"),
    _recipe("rankgan", "RankGAN: policy gradient against a ranker", "pg", "ranker", "rankgan"),
    _recipe("pg-bleu", "policy gradient against BLEU to the training data (SeqGAN's PG-BLEU)",
            "pg", "bleu", "pg-bleu"),
    _recipe("constant", "the control: policy gradient against a constant reward", "pg",
            "constant", "constant"),
    _recipe("pg", "REINFORCE against --reward", "pg", tasks=ANY_TASK),
    _recipe("a2c", "advantage actor-critic (GAE) against --reward", "a2c", tasks=ANY_TASK),
    _recipe("ppo", "PPO-clip against --reward", "ppo", tasks=ANY_TASK),
    _recipe("grpo", "GRPO: group-normalised rewards under a clipped ratio, against --reward",
            "grpo", tasks=PROMPTED, presets=None, components=group_components),
    _recipe("rloo", "RLOO: REINFORCE with a leave-one-out group baseline, against --reward",
            "rloo", tasks=PROMPTED, presets=None, components=group_components),
    _recipe("reinforce-pp", "REINFORCE++ (--group-baseline: REINFORCE++-baseline): returns "
            "whitened over the batch, against --reward", "reinforce_pp", tasks=PROMPTED,
            presets=None, components=group_components),
    _recipe("maskgan", "MaskGAN: actor-critic in-filling against a per-word discriminator and "
            "its critic, from a maskmle run", "a2c", "token_discriminator", "maskgan",
            ("infill",)),
]
