import json

import pytest
import torch
import yaml

from textrl.cli import main
from textrl.errors import UserError
from textrl.models import LMConfig, RecurrentLM
from textrl.recipes import (
    RECIPES,
    build_trainer,
    choices_of,
    components,
    recipe_config,
    reward_component,
    setting_names,
    train,
)
from textrl.rewards import LearnedReward
from textrl.training import AdversarialTrainer, load_run

TINY = {"iterations": 2, "batch_size": 8, "n_rollouts": 2, "d_emb_dim": 8,
        "d_filter_sizes": [2, 3], "d_num_filters": [4, 4], "d_pretrain_steps": 1, "d_steps": 1,
        "d_epochs": 1, "d_samples": 32, "d_batch_size": 16, "eval_every": 1, "eval_samples": 32,
        "checkpoint_every": 1, "bleu_n": 2, "ppo_minibatch": 4}


def tiny(recipe, reward="discriminator"):
    """TINY's settings that belong to ``recipe`` (with ``reward``, for those that take any)."""
    recipe = RECIPES[recipe]
    names = setting_names(components(recipe, choices_of(recipe, {"reward": reward})))
    return {k: v for k, v in TINY.items() if k in names}


def tiny_config(recipe, **overrides):
    reward = overrides.get("reward", "discriminator")
    return recipe_config(recipe, "cpu", tiny(recipe, reward) | overrides)


@pytest.fixture
def tiny_yaml(tmp_path):
    def write(recipe, reward="discriminator"):
        path = tmp_path / f"tiny-{recipe}.yaml"
        path.write_text(yaml.safe_dump(tiny(recipe, reward)))
        return path
    return write


def records(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_rollout_policy_copies_embeddings_and_mixes_the_rest():
    policy = RecurrentLM(LMConfig(vocab_size=7, hidden_dim=4))
    rollout = RecurrentLM(LMConfig(vocab_size=7, hidden_dim=4))
    before = {n: p.clone() for n, p in rollout.named_parameters()}
    rollout.blend_from(policy, rate=0.8)
    for (name, beta), theta in zip(rollout.named_parameters(), policy.parameters(), strict=True):
        want = theta if name.startswith("embedding.") else 0.8 * before[name] + 0.2 * theta
        torch.testing.assert_close(beta, want)


@pytest.mark.parametrize("recipe, extra", [
    ("seqgan", {}), ("rankgan", {}), ("pg-bleu", {}), ("constant", {}),
    ("pg", {"reward": "oracle", "n_rollouts": 0}), ("a2c", {"reward": "oracle"}),
    ("ppo", {"reward": "discriminator", "reward_form": "airl"}),
    ("seqgan", {"real_data": "oracle"}),
])
def test_every_recipe_trains_and_logs(recipe, extra, mle_run, tmp_path):
    config = tiny_config(recipe, init=str(mle_run), **extra)
    assert config.recipe == recipe
    last = train(config, tmp_path / recipe, progress=False)
    log = records(tmp_path / recipe)
    assert [r["iteration"] for r in log] == [0, 1, 2]
    assert last["iteration"] == 2 and "nll_oracle" in last and "reward" in last
    if issubclass(reward_component(config.choices.reward).cls, LearnedReward):
        assert "d_loss" in log[0] and "d_loss" in log[2]
    best = torch.load(tmp_path / recipe / "best.pt", weights_only=True)
    assert best["nll_valid"] == min(r["nll_valid"] for r in log)
    start = torch.load(mle_run / "checkpoint.pt", weights_only=True)["model"]["state_dict"]
    end = torch.load(tmp_path / recipe / "checkpoint.pt", weights_only=True)["model"]["state_dict"]
    assert not torch.equal(start["head.weight"], end["head.weight"])  # the agent updated it


def test_seqgan_on_text_starts_from_the_best_mle_weights(tiny_yaml, tmp_path, monkeypatch):
    # The validation sentences run the training pattern backwards, so validation NLL is
    # best after epoch 1 and the last weights are not the best ones.
    words = ["a", "b", "c", "d", "e", "f", "g", "h"]
    train_file, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    train_file.write_text("\n".join(" ".join(words[(i + k) % 8] for k in range(i % 4 + 2))
                               for i in range(60)) + "\n")
    valid.write_text("\n".join(" ".join(words[(i - k) % 8] for k in range(i % 4 + 2))
                               for i in range(20)) + "\n")
    mle = tmp_path / "mle"
    train(recipe_config("mle", None, {"data": str(train_file), "valid": str(valid), "test": str(valid),
                                      "max_len": 8, "epochs": 3, "eval_every": 1,
                                      "batch_size": 16, "lr": 0.05, "dropout": 0.25}),
          mle, progress=False)
    best = torch.load(mle / "best.pt", weights_only=True)["model"]["state_dict"]
    last = torch.load(mle / "checkpoint.pt", weights_only=True)["model"]["state_dict"]
    assert not all(torch.equal(best[k], last[k]) for k in best)
    started_from = {}
    original = AdversarialTrainer.__init__

    def spy(self, policy, *rest):
        started_from.update({k: v.clone() for k, v in policy.state_dict().items()})
        original(self, policy, *rest)

    monkeypatch.setattr(AdversarialTrainer, "__init__", spy)
    config = tiny_config("seqgan", init=str(mle), init_checkpoint="best", iterations=1)
    record = train(config, tmp_path / "seqgan", progress=False)
    assert all(torch.equal(started_from[k], best[k]) for k in best)
    assert "nll_oracle" not in record and record["nll_valid"] > 0
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "seqgan", "--init", str(mle), "--real-data", "oracle",
              "--out", str(tmp_path / "y")])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "seqgan", "--init", str(mle), "--oracle", "random",
              "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2


def test_without_init_pretrains_mle_into_the_run_and_resumes_it(tmp_path, monkeypatch):
    # The default pretraining data (10,000 oracle samples) made smaller; the plumbing is
    # what is under test.
    import textrl.recipes

    small = {"n_train": 64, "n_valid": 32, "n_test": 32, "eval_samples": 32, "eval_every": 1,
             "batch_size": 32}
    original = textrl.recipes.recipe_config

    def smaller(name, preset="cpu", overrides=None, saved=None):
        if name == "mle":
            overrides = small | (overrides or {})
        return original(name, preset, overrides, saved)

    monkeypatch.setattr(textrl.recipes, "recipe_config", smaller)
    out = tmp_path / "seqgan"
    # A run stopped during its pretraining: OUT/mle holds 1 of the 2 epochs.
    train(smaller("mle", None, {"oracle": "random:1", "epochs": 1, "seed": 0}), out / "mle",
          progress=False)
    train(tiny_config("seqgan", oracle="random:1", pretrain_epochs=2), out, progress=False)
    assert [r["epoch"] for r in records(out / "mle")] == [1, 2]  # continued, not restarted
    start = torch.load(out / "mle" / "checkpoint.pt", weights_only=True)
    assert start["step"] == 2
    assert [r["iteration"] for r in records(out)] == [0, 1, 2]


@pytest.mark.parametrize("recipe", ["seqgan", "rankgan"])
def test_resume_continues_bit_identically(recipe, mle_run, tmp_path):
    overrides = {"init": str(mle_run), "iterations": 4, "checkpoint_every": 2}
    train(tiny_config(recipe, **overrides), tmp_path / "straight", progress=False)
    train(tiny_config(recipe, **overrides | {"iterations": 2}), tmp_path / "split", progress=False)
    train(tiny_config(recipe, **overrides), tmp_path / "split", resume=True, progress=False)
    a = torch.load(tmp_path / "straight/checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "split/checkpoint.pt", weights_only=True)
    for key in a["model"]["state_dict"]:
        assert torch.equal(a["model"]["state_dict"][key], b["model"]["state_dict"][key])
    for key in a["trainer"]["reward"]["model"]:
        assert torch.equal(a["trainer"]["reward"]["model"][key],
                           b["trainer"]["reward"]["model"][key])
    strip = [{k: v for k, v in r.items() if not k.endswith("_s")} for r in records(tmp_path / "straight")]
    assert strip == [{k: v for k, v in r.items() if not k.endswith("_s")}
                     for r in records(tmp_path / "split")]


def test_cli_trains_evaluates_and_refuses_bad_input(capsys, mle_run, tiny_yaml, tmp_path):
    out = tmp_path / "run"
    base = ["train", "constant", "--init", str(mle_run), "--config", str(tiny_yaml("constant")),
            "--out", str(out), "--quiet"]
    with pytest.raises(SystemExit) as exit_info:
        main(base + ["--iterations", "1"])
    assert exit_info.value.code == 0
    assert json.loads(capsys.readouterr().out)["iteration"] == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(out), "--json", "--samples", "20"])
    assert exit_info.value.code == 0 and "nll_oracle" in json.loads(capsys.readouterr().out)
    cases = [
        (base, "already holds a run"),
        (base + ["--resume", "--lr", "0.5"], "different lr"),
        (["train", "seqgan", "--init", str(tmp_path / "none"), "--out", str(tmp_path / "x")],
         "no such run directory"),
        (["train", "seqgan", "--init", str(mle_run), "--config", "gpu", "--out", str(tmp_path / "y")],
         "--config gpu"),
        (["train", "ppo", "--init", str(mle_run), "--reward", "nope", "--out", str(tmp_path / "z")],
         "--reward 'nope'"),
        (["train", "seqgan", "--init", str(mle_run), "--oracle", "random:2", "--config",
          str(tiny_yaml("seqgan")), "--out", str(tmp_path / "w")], "is not the oracle"),
        (["train", "pg-bleu", "--init", str(mle_run), "--ranker-gamma", "3", "--out",
          str(tmp_path / "v")], "unrecognized arguments: --ranker-gamma"),
        (["train", "seqgan", "--init", str(mle_run), "--config", str(tiny_yaml("pg-bleu")),
          "--out", str(tmp_path / "u")], "--bleu-n is not a setting of `textrl train seqgan`"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and "Traceback" not in err, err
    with pytest.raises(SystemExit) as exit_info:
        main(base + ["--resume", "--iterations", "2"])
    assert exit_info.value.code == 0
    assert [r["iteration"] for r in records(out)] == [0, 1, 2]


def test_config_validation():
    with pytest.raises(UserError, match="--itrations is not a setting of `textrl train seqgan`"):
        recipe_config("seqgan", "cpu", {"itrations": 3})
    with pytest.raises(UserError, match="d-filter-sizes"):
        recipe_config("seqgan", "cpu", {"d_filter_sizes": [1, 2], "d_num_filters": [3]})
    with pytest.raises(UserError, match="rollout-update-rate"):
        recipe_config("seqgan", "cpu", {"rollout_update_rate": 1.5})
    with pytest.raises(UserError, match="--d-lr is not a setting of `textrl train pg-bleu`"):
        recipe_config("pg-bleu", "cpu", {"d_lr": 0.5})


def test_pg_bleu_paper_preset_is_the_authors_reward(mle_run):
    corpus = load_run(mle_run).corpus

    def build(config):
        return reward_component("bleu").build(config.parts["reward"], corpus=corpus,
                                              seed=config.seed)

    config = recipe_config("pg-bleu", "paper", {"seed": 3})
    assert (config.bleu_n, config.bleu_smoothing, config.n_rollouts, config.lr) == (
        3, "nltk3.2", 1, 0.001)
    chosen = build(config).scorer.n_references
    assert 0.2 * len(corpus.train.tokens) < chosen < 0.6 * len(corpus.train.tokens)
    assert build(config).scorer.n_references == chosen  # seeded
    every = build(recipe_config("pg-bleu", "paper", {"bleu_reference_fraction": 1.0}))
    assert every.scorer.n_references == len(corpus.train.tokens)
    with pytest.raises(UserError, match="fraction"):
        recipe_config("pg-bleu", "paper", {"bleu_reference_fraction": 0.0})


@pytest.mark.parametrize("rollout_policy", ["live", "delayed"])
def test_live_rollouts_follow_the_policy_and_a_delayed_copy_waits_for_its_update(
        rollout_policy, mle_run, tmp_path):
    config = tiny_config("seqgan", init=str(mle_run), rollout_policy=rollout_policy)
    trainer = build_trainer(config, tmp_path)
    assert (trainer.rollout_policy is trainer.policy) == (rollout_policy == "live")
    tokens, lengths = trainer.real(4)

    def q_values():
        trainer.generator.manual_seed(0)
        return trainer.scored(tokens, lengths)

    before = q_values()
    with torch.no_grad():
        for parameter in trainer.policy.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    moved = q_values()
    assert not torch.equal(before, moved) if rollout_policy == "live" else torch.equal(before, moved)
    trainer.train_step(1)  # the delayed copy moves towards the policy at the iteration's end
    if rollout_policy == "delayed":
        assert not torch.equal(before, q_values())
