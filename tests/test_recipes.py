"""The recipe registry: component wiring, per-recipe flags, user and registered rewards."""

import itertools
import json
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import torch

from textrl.cli import main
from textrl.components import Component
from textrl.models import POLICIES, LMConfig, RecurrentLM
from textrl.recipes import (
    RECIPES,
    Choices,
    build_trainer,
    choices_of,
    components,
    recipe_config,
    train,
)
from textrl.recipes.agents import AGENTS, KLConfig
from textrl.recipes.components import REWARDS
from textrl.rewards import FunctionReward
from textrl.training import RealSentences

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.rewards_example` imports
from tests.rewards_example import (  # noqa: E402
    RepeatPenalty,
    RepeatPenaltyConfig,
    build_repeat_penalty,
)

TINY = {"iterations": 1, "batch_size": 8, "n_rollouts": 0, "eval_every": 1, "eval_samples": 16,
        "checkpoint_every": 1}


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def tiny_flags(recipe="pg", reward="oracle"):
    recipe = RECIPES[recipe]
    names = {f.name for cls in components(recipe, choices_of(recipe, {"reward": reward})).values()
             for f in fields(cls)}
    return [a for k, v in TINY.items() if k in names for a in ("--" + k.replace("_", "-"), str(v))]


def test_field_names_are_unique_within_every_recipe():
    for recipe in RECIPES.values():
        for reward, policy, task in itertools.product(
                [recipe.reward] if recipe.reward else REWARDS,
                POLICIES if recipe.policy else [None], recipe.tasks):
            classes = components(recipe, Choices(policy, task, reward))  # refuses a clash
            names = [f.name for cls in classes.values() for f in fields(cls)]
            assert len(names) == len(set(names)), (recipe.name, reward, policy, task)


def distinct_values(config_class):
    """A config whose float and int fields all differ from each other and from defaults."""
    values = {}
    for i, f in enumerate(fields(config_class)):
        if f.type in ("float", float):
            values[f.name] = 0.011 * (i + 3)
        elif f.type in ("int", int):
            values[f.name] = 7 + i
    return config_class(**values)


def test_agents_receive_each_setting_where_it_belongs():
    # Swapping two same-typed arguments (value_coef and entropy_coef, say) fails here.
    policy = RecurrentLM(LMConfig(vocab_size=5))
    for name, component in AGENTS.items():
        config = distinct_values(component.config)
        if hasattr(config, "epsilon_high"):
            config.epsilon_high = 0.29  # an optional float distinct_values leaves unset
        kl = KLConfig(kl_coef=0.37, kl_in="loss", kl_target=2.5, kl_horizon=99)
        agent = component.build(config, policy=policy, gamma=0.123, kl_settings=kl,
                                generator=torch.Generator(), critic=None)
        assert agent.optimizer.param_groups[0]["lr"] == config.lr, name
        assert agent.grad_clip == config.grad_clip, name
        # a recipe's gamma (0 under Monte-Carlo rollouts) for the agents that discount
        # returns from rollouts; REINFORCE++'s own
        assert getattr(agent, "gamma", 0.123) == getattr(config, "gamma", 0.123) if \
            name == "reinforce_pp" else getattr(agent, "gamma", 0.123) == 0.123, name
        assert (agent.kl.coef, agent.kl.place, agent.kl.target, agent.kl.horizon) == (
            0.37, "loss", 2.5, 99), name
        for attribute, setting in [("gae_lambda", "gae_lambda"), ("value_coef", "value_coef"),
                                   ("entropy_coef", "entropy_coef"), ("clip", "ppo_clip"),
                                   ("epochs", "ppo_epochs"), ("minibatch", "ppo_minibatch"),
                                   ("iterations", "num_iterations")]:
            if hasattr(config, setting):
                assert getattr(agent, attribute) == getattr(config, setting), (name, setting)
        if hasattr(config, "epsilon"):
            assert (agent.low, agent.high) == (1 - config.epsilon, 1 + config.epsilon_high), name
        for setting in ("loss_type", "scale_rewards", "group_baseline"):
            if hasattr(config, setting):
                attribute = "aggregation" if setting == "loss_type" else setting
                assert getattr(agent, attribute) == getattr(config, setting), (name, setting)


def test_rewards_receive_each_setting_where_it_belongs():
    oracle_corpus = __import__("textrl").OracleLSTM.random(0, vocab_size=20, seq_len=5)
    corpus = oracle_corpus.corpus(30, 5, 5)
    real = RealSentences(corpus.train, None, torch.Generator())
    parts = {"vocab_size": 20, "corpus": corpus, "oracle": oracle_corpus, "real": real,
             "batch_size": 9, "seed": 0}
    d_config = REWARDS["discriminator"].config(d_filter_sizes=[1, 2], d_num_filters=[3, 5],
                                               d_dropout=0.3, d_l2=0.4, d_lr=0.002, d_emb_dim=6,
                                               reward_form="airl")
    d = REWARDS["discriminator"].build(d_config, **parts)
    assert (d.dropout.p, d.l2, d.optimizer.param_groups[0]["lr"], d.reward_form) == (
        0.3, 0.4, 0.002, "airl")
    assert d.encoder.embedding.embedding_dim == 6 and d.encoder.features == 8
    r_config = REWARDS["ranker"].config(d_filter_sizes=[1], d_num_filters=[4], d_dropout=0.3,
                                        ranker_gamma=0.7, d_lr=0.003, ranker_references=5)
    ranker = REWARDS["ranker"].build(r_config, **parts)
    assert (ranker.dropout.p, ranker.gamma, ranker.optimizer.param_groups[0]["lr"]) == (
        0.3, 0.7, 0.003)
    assert (ranker.comparison, ranker.references) == (9, 5)
    bleu = REWARDS["bleu"].build(REWARDS["bleu"].config(bleu_n=3, bleu_smoothing="nltk3.2"),
                                 **parts)
    assert (bleu.scorer.n, bleu.scorer.smoothing) == (3, "nltk3.2")


def test_a_recipe_accepts_exactly_its_own_flags(mle_run, tmp_path, capsys):
    code, _, err = run_cli(["train", "pg-bleu", "--ranker-gamma", "3", "--out", str(tmp_path / "x")],
                           capsys)
    assert code == 2 and "unrecognized arguments: --ranker-gamma" in err
    code, out, _ = run_cli(["train", "pg-bleu", "--help"], capsys)
    assert code == 0 and "--bleu-n" in out and "--d-lr" not in out and "--ppo-clip" not in out
    assert "(default: 3)" in out  # the cpu preset's BLEU-3, not the dataclass's 4
    code, out, _ = run_cli(["train", "ppo", "--reward", "ranker", "--help"], capsys)
    assert "--ranker-gamma" in out and "--ppo-clip" in out and "--bleu-n" not in out
    code, out, _ = run_cli(["train", "mle", "--help"], capsys)
    assert "--hidden-dim" in out and "--iterations" not in out
    assert not (tmp_path / "x").exists()


def test_a_new_reward_is_one_file_and_one_registry_line(mle_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(REWARDS, "repeats",
                        Component(RepeatPenaltyConfig, build_repeat_penalty, RepeatPenalty))
    config = recipe_config("pg", "cpu", TINY | {"reward": "repeats", "repeat_weight": 2.5,
                                                 "init": str(mle_run)})
    assert build_trainer(config, tmp_path / "unused").reward.weight == 2.5  # the flag arrives
    out = tmp_path / "repeats"
    code, stdout, err = run_cli(["train", "pg", "--reward", "repeats", "--repeat-weight", "2.5",
                                 "--init", str(mle_run), "--out", str(out), "--quiet",
                                 *tiny_flags("pg", "repeats")], capsys)
    assert code == 0, err
    assert json.loads(stdout)["iteration"] == 1
    saved = (out / "config.yaml").read_text()
    assert "repeat_weight: 2.5" in saved and "reward: repeats" in saved


def test_user_rewards_from_the_command_line(mle_run, tmp_path, capsys):
    for spec in ("tests.rewards_example:distinct_share", "tests.rewards_example:FirstTokenIs"):
        out = tmp_path / spec.split(":")[1]
        code, stdout, err = run_cli(["train", "pg", "--reward", spec, "--init", str(mle_run),
                                     "--out", str(out), "--quiet", *tiny_flags()], capsys)
        assert code == 0, err
        assert "reward" in json.loads(stdout)
    for spec, message in [("tests.no_such_module:fn", "cannot import module"),
                          ("tests.rewards_example:nothing", "has no attribute 'nothing'"),
                          ("tests.rewards_example:wrong_shape", "expected [B] (one per sentence)"),
                          ("rewards_example", "MODULE:FUNCTION")]:
        code, _, err = run_cli(["train", "pg", "--reward", spec, "--init", str(mle_run),
                                "--out", str(tmp_path / "bad"), "--quiet", *tiny_flags()], capsys)
        assert code == 2 and message in err and "Traceback" not in err, (spec, err)


def test_function_reward_checks_the_declared_shape():
    tokens, lengths = torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 2])
    per_token = FunctionReward(lambda t, n, c: torch.ones(2, 3), token_level=True)
    assert per_token(tokens, lengths).shape == (2, 3)
    with pytest.raises(Exception, match=r"expected \[B, T\]"):
        FunctionReward(lambda t, n, c: torch.ones(2), token_level=True)(tokens, lengths)


def test_python_api_trains_a_user_function(mle_run, tmp_path):
    config = recipe_config("pg", "cpu", TINY | {"reward": "tests.rewards_example:distinct_share",
                                                 "init": str(mle_run)})
    last = train(config, tmp_path / "api", progress=False)
    assert last["iteration"] == 1 and 0 < last["reward"] <= 1  # a share of distinct tokens


def test_a_learned_user_reward_is_trained_by_d_steps_and_checkpointed(mle_run, tmp_path, capsys):
    from tests.rewards_example import CountingDiscriminator

    CountingDiscriminator.updates = 0
    out = tmp_path / "counting"
    spec = "tests.rewards_example:CountingDiscriminator"
    code, _, err = run_cli(["train", "pg", "--reward", spec, "--init", str(mle_run), "--out",
                            str(out), "--quiet", *tiny_flags("pg", spec), "--d-pretrain-steps",
                            "2", "--d-steps", "1", "--d-every", "1", "--d-epochs", "1",
                            "--d-samples", "8", "--d-batch-size", "4"],
                           capsys)
    assert code == 0, err
    # 2 pretraining rounds and 1 d-phase, each an epoch of 8 real and 8 generated in pairs of 2
    assert CountingDiscriminator.updates == 3 * 4
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert "d_loss" in log[0] and "d_loss" in log[1]
    state = torch.load(out / "checkpoint.pt", weights_only=True)["trainer"]["reward"]
    assert "out.weight" in state["model"] and state["optimizer"]["state"]


def test_a_reward_class_that_half_conforms_is_refused(mle_run, tmp_path, capsys):
    for spec, message in [
            ("tests.rewards_example:HalfLearned", "defines update() but is not a "
             "textrl.rewards.LearnedReward"),
            ("tests.rewards_example:NoOptimizer", "must set self.optimizer")]:
        code, _, err = run_cli(["train", "pg", "--reward", spec, "--init", str(mle_run), "--out",
                                str(tmp_path / "bad"), "--quiet", *tiny_flags()], capsys)
        assert code == 2 and message in err and "Traceback" not in err, (spec, err)
        assert not (tmp_path / "bad").exists()


def test_a_reward_of_another_task_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "x"
    code, stdout, err = run_cli(["train", "pg", "--reward", "token_discriminator", "--out",
                                 str(out)], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "--reward token_discriminator scores the infill task" in err
    assert "--task infill" in err and not out.exists()


def test_components_sharing_a_setting_name_are_refused_naming_both(monkeypatch, capsys, tmp_path):
    from tests.rewards_example import ClashConfig, RepeatPenalty

    monkeypatch.setitem(REWARDS, "clash", Component(ClashConfig, build_repeat_penalty,
                                                    RepeatPenalty))
    code, _, err = run_cli(["train", "pg", "--reward", "clash", "--help"], capsys)
    assert code == 2 and "Traceback" not in err, err
    assert "ClashConfig and PGConfig both have a setting --lr" in err or (
        "PGConfig and ClashConfig both have a setting --lr" in err), err


def test_a_start_that_fails_leaves_nothing_and_the_command_can_be_rerun(mle_run, tmp_path,
                                                                       capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "pg", "--reward", "tests.rewards_example:wrong_shape",
                            "--init", str(mle_run), "--out", str(out), "--quiet",
                            *tiny_flags()], capsys)
    assert code == 2 and "expected [B] (one per sentence)" in err
    assert not out.exists()
    code, _, err = run_cli(["train", "pg", "--reward", "tests.rewards_example:distinct_share",
                            "--init", str(mle_run), "--out", str(out), "--quiet",
                            *tiny_flags()], capsys)
    assert code == 0, err


def test_a_sentence_reward_is_paid_at_the_last_action():
    from textrl.rewards import ConstantReward, pay

    tokens, lengths = torch.zeros(2, 5, dtype=torch.long), torch.tensor([5, 4])
    acted = torch.tensor([[0, 1, 1, 0, 0], [0, 0, 0, 0, 0]]).bool()  # row 2: nothing chosen
    paid = pay(ConstantReward(2.0), tokens, lengths, acted=acted)
    assert paid.tolist() == [[0, 0, 2, 0, 0], [0, 0, 0, 2, 0]]
    assert pay(ConstantReward(2.0), tokens, lengths)[0].tolist() == [0, 0, 0, 0, 2]


def test_what_a_user_function_declares_is_checked_before_anything_runs(mle_run, tmp_path,
                                                                       capsys):
    out = tmp_path / "x"
    code, _, err = run_cli(["train", "pg", "--reward", "tests.rewards_example:per_token_ones",
                            "--init", str(mle_run), "--n-rollouts", "4", "--out", str(out)],
                           capsys)
    assert code == 2 and "is already paid per token" in err and not out.exists(), err


def test_a_failed_start_removes_only_what_it_made(tmp_path):
    from textrl.training import RunDir

    run = RunDir(tmp_path / "a" / "b" / "run")
    before = run.snapshot()
    run.path.mkdir(parents=True)
    run.vocab.write_text("{}")
    run.discard(before)
    assert not (tmp_path / "a").exists()  # the folders it made went too
    kept = RunDir(tmp_path / "mine")
    kept.path.mkdir()
    kept.config.write_text("lr: 0.5\n")  # the user's --config file, there before the run
    before = kept.snapshot()
    kept.metrics.write_text("{}\n")
    kept.discard(before)
    assert kept.config.exists() and not kept.metrics.exists() and kept.path.exists()
