"""texar's learning-rate rule (--lr-patience): back to the best weights and optimiser state,
half the rate, stop at the last halving; through the one run loop, with resume."""

import io
import json
import math

import pytest
import torch
import yaml
from torch import nn

from textrl.errors import UserError
from textrl.recipes import recipe_config, train
from textrl.training import RunDir
from textrl.training.plateau import LRPlateauConfig, PlateauHalving

# Settings whose validation NLL worsens at epochs 3 and 4 (seed 0): two halvings, then stop.
STALLING = {"oracle": "random:1", "n_train": 32, "n_valid": 16, "n_test": 16, "epochs": 8,
            "hidden_dim": 8, "emb_dim": 8, "eval_samples": 16, "batch_size": 8, "lr": 0.05,
            "eval_every": 1, "lr_patience": 1, "lr_halvings": 2}


def adam_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    optimizer.zero_grad()
    model(torch.ones(4, 2)).pow(2).sum().backward()
    optimizer.step()


def test_a_plateau_restores_the_best_weights_and_optimiser_and_halves_the_rate():
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    rule = PlateauHalving(LRPlateauConfig(lr_patience=2, lr_halvings=3), model, optimizer)
    adam_step(model, optimizer)
    assert rule.observe(1.0) == {"lr": 0.1}
    best_weight = model.weight.detach().clone()
    best_moment = optimizer.state_dict()["state"][0]["exp_avg"].clone()
    for halving, lr in enumerate((0.05, 0.025), 1):  # twice, with no better evaluation between
        for nll in (1.5, 1.2):
            adam_step(model, optimizer)
            assert not torch.equal(model.weight, best_weight)
            assert rule.observe(nll)["lr"] == (lr if nll == 1.2 else lr * 2)
        assert all(group["lr"] == lr for group in optimizer.param_groups)
        assert torch.equal(model.weight, best_weight)
        assert torch.equal(optimizer.state_dict()["state"][0]["exp_avg"], best_moment)
        assert optimizer.state_dict()["state"][0]["step"] == 1 and rule.halvings == halving
    assert not rule.stopped
    # Saved and loaded through a file (no shared tensors), the rule goes on the same way.
    buffer = io.BytesIO()
    torch.save(rule.state_dict(), buffer)
    buffer.seek(0)
    copy = PlateauHalving(rule.config, model, optimizer)
    copy.load_state_dict(torch.load(buffer, weights_only=True))
    assert [copy.observe(x)["lr"] for x in (1.1, 1.1)] == [0.025, 0.0125] and copy.stopped
    off = PlateauHalving(LRPlateauConfig(), model, optimizer)
    assert [off.observe(x) for x in (1.0, 2.0, 3.0)] == [{}, {}, {}] and not off.stopped


def test_a_better_evaluation_resets_the_count():
    model = nn.Linear(2, 1)
    rule = PlateauHalving(LRPlateauConfig(lr_patience=2), model,
                          torch.optim.Adam(model.parameters(), lr=0.1))
    assert [rule.observe(x)["lr"] for x in (1.0, 1.5, 0.9, 1.2, 0.9)] == [0.1] * 4 + [0.05]


def read_log(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def untimed(log):
    return [{k: v for k, v in row.items() if k != "time_s"} for row in log]


def test_the_rule_stops_a_run_and_resumes_bit_identically(tmp_path):
    full = tmp_path / "full"
    train(recipe_config("mle", None, STALLING), full, progress=False)
    log = read_log(full)
    assert [r["epoch"] for r in log] == [1, 2, 3, 4]  # stopped at the 2nd halving, not epoch 8
    assert [r["lr"] for r in log] == [0.05, 0.05, 0.025, 0.0125]
    assert log[2]["nll_valid"] > log[1]["nll_valid"] < log[3]["nll_valid"]
    last, best = (RunDir(full).load_checkpoint(best)["model"]["state_dict"] for best in (0, 1))
    assert all(torch.equal(last[k], best[k]) for k in last)  # ended on the restored best
    # Resumed after the first halving, it makes the same decisions and the same model.
    half = tmp_path / "half"
    train(recipe_config("mle", None, STALLING | {"epochs": 3}), half, progress=False)
    train(recipe_config("mle", None, STALLING, saved=RunDir(half).load_config()), half,
          resume=True, progress=False)
    assert untimed(read_log(half)) == untimed(log)
    resumed = RunDir(half).load_checkpoint()
    assert all(torch.equal(last[k], resumed["model"]["state_dict"][k]) for k in last)
    moments = (state["trainer"]["agent"]["optimizer"]["state"][0]["exp_avg"]
               for state in (RunDir(full).load_checkpoint(), resumed))
    assert torch.equal(*moments)
    # A stopped run stays stopped when resumed with more epochs.
    train(recipe_config("mle", None, STALLING | {"epochs": 10}, saved=RunDir(full).load_config()),
          full, resume=True, progress=False)
    assert len(read_log(full)) == 4


def test_a_run_from_before_the_rule_resumes(tmp_path):
    run = tmp_path / "old"
    settings = {k: v for k, v in STALLING.items() if k not in ("lr_patience", "lr_halvings")}
    settings["epochs"] = 1
    train(recipe_config("mle", None, settings), run, progress=False)
    path = run / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    for key in ("lr_patience", "lr_halvings"):
        del state["config"][key]
    del state["trainer"]["lr_rule"]
    torch.save(state, path)
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({k: v for k, v in config.items()
                                                     if not k.startswith("lr_")}))
    train(recipe_config("mle", None, settings | {"epochs": 2}, saved=RunDir(run).load_config()),
          run, resume=True, progress=False)
    assert [r["epoch"] for r in read_log(run)] == [1, 2]


@pytest.mark.parametrize("bad", [{"lr_patience": -1}, {"lr_halvings": 0}])
def test_bad_rule_settings_are_user_errors(bad):
    with pytest.raises(UserError, match=next(iter(bad)).replace("_", "-")):
        recipe_config("vae", None, {"data": "x.txt"} | bad)


def test_the_vae_paper_preset_follows_texars_rule(tmp_path):
    config = recipe_config("vae", "paper", {"data": str(tmp_path / "x.txt")})
    assert (config.lr_patience, config.lr_halvings) == (2, 5)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "log", "big", "red"]
    g = torch.Generator().manual_seed(5)
    data = tmp_path / "x.txt"  # random words: the validation NLL soon stops improving
    data.write_text("\n".join(" ".join(words[i] for i in torch.randint(12, (int(n),), generator=g))
                              for n in torch.randint(2, 9, (60,), generator=g)) + "\n")
    settings = {"data": str(data), "emb_dim": 8, "hidden_dim": 8, "latent_dim": 2, "epochs": 5,
                "lr": 0.2, "lr_patience": 1, "batch_size": 8}
    train(recipe_config("vae", None, settings), tmp_path / "vae", progress=False)
    log = read_log(tmp_path / "vae")
    lr, best = 0.2, math.inf
    for row in log:  # halved exactly at the evaluations that are no better than the best
        lr, best = (lr, row["nll_valid"]) if row["nll_valid"] < best else (lr / 2, best)
        assert row["lr"] == lr
    assert [row["lr"] for row in log] == [0.2, 0.2, 0.1, 0.1, 0.05]
    half = tmp_path / "half"
    train(recipe_config("vae", None, settings | {"epochs": 2}), half, progress=False)
    train(recipe_config("vae", None, settings, saved=RunDir(half).load_config()), half,
          resume=True, progress=False)
    assert untimed(read_log(half)) == untimed(log)


def test_the_rule_is_refused_under_torchrun(monkeypatch, tmp_path):
    monkeypatch.setattr("textrl.distributed.active", lambda: True)
    with pytest.raises(UserError, match="one process"):
        train(recipe_config("mle", None, STALLING), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    LRPlateauConfig().check_one_process()  # the fixed rate runs anywhere
