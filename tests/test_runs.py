"""Runs a user can trust and watch: divergence, restarts, paths, bad values, resume at every
phase, samples and TensorBoard during training. Each defect is checked through the CLI."""

import json
import math

import pytest
import torch
import yaml

from textrl.agents import BehaviourCloning, PolicyGradient
from textrl.cli import build_parser, main
from textrl.recipes import recipe_config, train
from textrl.training import AdversarialTrainer, RunDir

SMALL_MLE = ["--oracle", "random:1", "--n-train", "64", "--n-valid", "16", "--n-test", "16",
             "--eval-samples", "16", "--eval-every", "1", "--batch-size", "32", "--quiet"]
TINY_RL = {"iterations": 3, "batch_size": 8, "n_rollouts": 2, "d_emb_dim": 8,
           "d_filter_sizes": [2, 3], "d_num_filters": [4, 4], "d_pretrain_steps": 3, "d_steps": 1,
           "d_epochs": 1, "d_samples": 32, "d_batch_size": 16, "eval_every": 1,
           "eval_samples": 32, "checkpoint_every": 1, "d_every": 1}


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in argv])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def user_error(argv, capsys, message):
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and message in err and "Traceback" not in err, err
    return err


def strict_json_lines(path):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


def test_divergence_stops_the_run_with_one_line_and_keeps_the_checkpoint(tmp_path, capsys,
                                                                         monkeypatch):
    out = tmp_path / "inf"
    err = user_error(["train", "mle", *SMALL_MLE, "--epochs", "2", "--lr", "1e30", "--out", out],
                     capsys, "training diverged at epoch 1")
    assert len(err.strip().splitlines()) == 1 and "--lr" in err
    assert not (out / "checkpoint.pt").exists()
    # Divergence in epoch 2: epoch 1's checkpoint stays as it was, and --resume continues.
    out = tmp_path / "late"
    calls = {"n": 0}
    original = BehaviourCloning.update

    def nan_in_epoch_two(self, *args, **kwargs):
        calls["n"] += 1
        stats = original(self, *args, **kwargs)
        return stats | {"loss": math.nan} if calls["n"] == 3 else stats  # 2 batches an epoch

    monkeypatch.setattr(BehaviourCloning, "update", nan_in_epoch_two)
    user_error(["train", "mle", *SMALL_MLE, "--epochs", "3", "--out", out], capsys,
               "training diverged at epoch 2 (train_nll is nan); the checkpoint of epoch 1 is kept")
    kept = RunDir(out).load_checkpoint()
    assert kept["step"] == 1
    assert strict_json_lines(out / "metrics.jsonl")[-1]["epoch"] == 1
    monkeypatch.setattr(BehaviourCloning, "update", original)
    code, stdout, _ = run_cli(["train", "mle", *SMALL_MLE, "--epochs", "3", "--resume", "--out",
                               out], capsys)
    assert code == 0 and json.loads(stdout)["epoch"] == 3


def test_rl_divergence_is_caught_too(mle_run, tmp_path, capsys, monkeypatch):
    original = PolicyGradient.update

    def nan_gradient(self, rollout):
        return original(self, rollout._replace(rewards=rollout.rewards * math.nan))

    monkeypatch.setattr(PolicyGradient, "update", nan_gradient)
    user_error(["train", "constant", "--init", mle_run, "--iterations", "2", "--n-rollouts", "0",
                "--eval-samples", "16", "--quiet", "--out", tmp_path / "rl"], capsys,
               "training diverged at iteration 1 (policy-gradient update: loss is nan)")


def test_a_collapsed_rl_policy_stops_the_run(mle_run, tmp_path, capsys):
    # At lr 1e6 the constant-reward policy turns deterministic: every number stays finite,
    # but the validation NLL goes far past a uniform policy's.
    user_error(["train", "constant", "--init", mle_run, "--lr", "1e6", "--iterations", "2",
                "--n-rollouts", "0", "--eval-every", "1", "--eval-samples", "16", "--quiet",
                "--out", tmp_path / "rl"], capsys, "the policy has collapsed")


def test_a_fresh_run_never_appends_to_an_old_log(tmp_path, capsys):
    out = tmp_path / "r"
    assert run_cli(["train", "mle", *SMALL_MLE, "--epochs", "2", "--out", out], capsys)[0] == 0
    (out / "checkpoint.pt").unlink()
    user_error(["train", "mle", *SMALL_MLE, "--epochs", "1", "--out", out], capsys,
               "holds the metrics.jsonl of an earlier run")
    assert [r["epoch"] for r in strict_json_lines(out / "metrics.jsonl")] == [1, 2]


def test_runs_work_from_any_folder_and_sampling_needs_no_data(tmp_path, capsys, monkeypatch,
                                                              sentences):
    home = tmp_path / "home"
    home.mkdir()
    (home / "train.txt").write_text("\n".join(sentences) + "\n")
    monkeypatch.chdir(home)
    assert run_cli(["train", "mle", "--data", "train.txt", "--epochs", "1", "--max-len", "10",
                    "--quiet", "--out", "run"], capsys)[0] == 0
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["sample", "home/run", "-n", "2"], capsys)
    assert code == 0 and len(out.splitlines()) == 2, err
    assert run_cli(["evaluate", "home/run", "--samples", "20", "--json"], capsys)[0] == 0
    assert run_cli(["train", "mle", "--epochs", "2", "--resume", "--quiet", "--out", "home/run"],
                   capsys)[0] == 0
    (home / "train.txt").unlink()
    code, out, _ = run_cli(["sample", "home/run", "-n", "3"], capsys)
    assert code == 0 and len(out.splitlines()) == 3


@pytest.mark.parametrize("setting, value, message", [
    ("epochs", "three", "--epochs must be a whole number, got 'three'"),
    ("lr", "abc", "--lr must be a finite number, got 'abc'"),
    ("hidden_dim", 3.5, "--hidden-dim must be a whole number, got 3.5"),
    ("lr", float("nan"), "--lr must be a finite number, got nan"),
])
def test_bad_values_in_a_config_file_name_the_file_and_the_setting(setting, value, message,
                                                                    tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({setting: value}))
    user_error(["train", "mle", "--config", config, "--out", tmp_path / "x"], capsys,
               f"{config}: {message}")
    assert not (tmp_path / "x").exists()


def test_bad_values_on_the_command_line(mle_run, tmp_path, capsys):
    user_error(["train", "mle", "--lr", "nan", "--out", tmp_path / "x"], capsys,
               "--lr must be a finite number, got nan")
    for command in ("sample", "evaluate"):
        user_error([command, mle_run, "--temperature", "nan"], capsys,
                   "--temperature must be a finite number")
    user_error(["train", "seqgan", "--init", tmp_path / "missing", "--out", tmp_path / "y"], capsys,
               "no such run directory")
    assert not (tmp_path / "y").exists()  # a failed start leaves no folder behind


def test_adversarial_runs_keep_their_best_weights(mle_run, tmp_path, capsys):
    out = tmp_path / "c"
    code, _, err = run_cli(["train", "constant", "--init", mle_run, "--iterations", "2",
                            "--n-rollouts", "0", "--eval-every", "1", "--eval-samples", "16",
                            "--quiet", "--out", out], capsys)
    assert code == 0, err
    best = torch.load(out / "best.pt", weights_only=True)
    log = strict_json_lines(out / "metrics.jsonl")
    assert best["nll_valid"] == min(r["nll_valid"] for r in log)
    code, stdout, _ = run_cli(["sample", out, "-n", "2", "--checkpoint", "best"], capsys)
    assert code == 0 and len(stdout.splitlines()) == 2


def test_resume_cannot_shrink_a_finished_run(tmp_path, capsys):
    out = tmp_path / "r"
    assert run_cli(["train", "mle", *SMALL_MLE, "--epochs", "3", "--out", out], capsys)[0] == 0
    before = (out / "config.yaml").read_text()
    user_error(["train", "mle", "--epochs", "2", "--resume", "--out", out], capsys,
               "asks for 2 epochs, but 3 are done")
    assert (out / "config.yaml").read_text() == before


def test_samples_tensorboard_curve_and_time(tmp_path, capsys):
    out = tmp_path / "r"
    code, stdout, err = run_cli(["train", "mle", *SMALL_MLE, "--epochs", "2", "--sample-every", "1",
                                 "--tensorboard", tmp_path / "tb", "--out", out], capsys)
    assert code == 0, err
    samples = strict_json_lines(out / "samples.jsonl")
    assert [s["epoch"] for s in samples] == [1, 2] and len(samples[0]["samples"]) == 3
    assert "[epoch 1]" in err
    log = strict_json_lines(out / "metrics.jsonl")
    assert json.loads(stdout)["time_s"] == pytest.approx(sum(r["time_s"] for r in log))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert {"train_nll", "nll_valid", "nll_oracle"} <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("nll_valid")] == [1, 2]
    assert (out / "learning_curve.png").stat().st_size > 0


def test_version_and_sample_counts(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.startswith("textrl ")
    parser = build_parser()
    evaluate = parser.parse_args(["evaluate", "r"])
    compare = parser.parse_args(["compare", "r"])
    assert evaluate.samples == compare.samples  # the same run scores the same by default


def rl_config(mle_run, **changes):
    return recipe_config("seqgan", "cpu", TINY_RL | {"init": str(mle_run)} | changes)


def killed(monkeypatch, cls, method, on_call):
    """Make ``cls.method`` raise KeyboardInterrupt on its ``on_call``-th call."""
    original, calls = getattr(cls, method), {"n": 0}

    def wrapper(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == on_call:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, wrapper)


def final_state(out):
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    log = [{k: v for k, v in r.items() if not k.endswith("_s")}
           for r in RunDir(out).read_log()]
    return state, log


@pytest.mark.parametrize("phase, cls, method, on_call", [
    ("reward pretraining", AdversarialTrainer, "pretrain_round", 2),
    ("g-step", PolicyGradient, "update", 2),
    ("d-step", AdversarialTrainer, "d_phase", 5),  # after 3 pretraining rounds: iteration 2
])
def test_a_run_killed_in_any_phase_resumes_to_the_same_run(phase, cls, method, on_call, mle_run,
                                                           tmp_path, monkeypatch):
    train(rl_config(mle_run), tmp_path / "straight", progress=False)
    with monkeypatch.context() as patch:
        killed(patch, cls, method, on_call)
        with pytest.raises(KeyboardInterrupt):
            train(rl_config(mle_run), tmp_path / "killed", progress=False)
    if phase != "reward pretraining":  # drawn at each evaluation, not only at the end
        assert (tmp_path / "killed" / "learning_curve.png").exists()
    train(rl_config(mle_run), tmp_path / "killed", resume=True, progress=False)
    (a, log_a), (b, log_b) = final_state(tmp_path / "straight"), final_state(tmp_path / "killed")
    assert log_a == log_b, phase
    for key, value in a["model"]["state_dict"].items():
        assert torch.equal(value, b["model"]["state_dict"][key]), phase
    for key, value in a["trainer"]["reward"]["model"].items():
        assert torch.equal(value, b["trainer"]["reward"]["model"][key]), phase
