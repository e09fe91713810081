import json

import pytest
import torch

from textrl.agents import BehaviourCloning, teacher_forcing_prob
from textrl.errors import CheckpointError, UserError
from textrl.metrics import nll_oracle, nll_test
from textrl.models import LMConfig, RecurrentLM, sample_categorical
from textrl.oracle import OracleLSTM
from textrl.recipes import recipe_config, train
from textrl.training import RunDir, load_run


def mle_config(**settings):
    return recipe_config("mle", None, settings)


def train_mle(config, out, resume=False, progress=False):
    return train(config, out, resume=resume, progress=progress)


def test_behaviour_cloning_learns_the_oracle():
    oracle = OracleLSTM.random(seed=0, vocab_size=30, seq_len=8)
    corpus = oracle.corpus(512, 64, 128, seed=0)
    policy = RecurrentLM(LMConfig(vocab_size=30, hidden_dim=32))
    agent = BehaviourCloning(policy, lr=0.01, batch_size=32)
    g = torch.Generator().manual_seed(0)
    before = nll_test(policy, corpus.test)
    oracle_before = nll_oracle(policy, oracle, 500, generator=torch.Generator().manual_seed(1))
    for _ in range(8):
        agent.train_epoch(corpus.train, g)
    assert nll_test(policy, corpus.test) < before - 0.3
    oracle_after = nll_oracle(policy, oracle, 500, generator=torch.Generator().manual_seed(1))
    assert oracle_after < oracle_before - 0.3


def test_scheduled_sampling_inputs():
    policy = RecurrentLM(LMConfig(vocab_size=20, num_layers=2, start_id=3))
    agent = BehaviourCloning(policy)
    tokens = torch.randint(20, (6, 7))
    forced = agent._scheduled_inputs(tokens, 1.0, torch.Generator(), None)
    assert torch.equal(forced, policy.teacher_inputs(tokens))  # p = 1: teacher forcing
    g = torch.Generator().manual_seed(0)
    mixed = agent._scheduled_inputs(tokens, 0.0, g, None)
    assert (mixed[:, 0] == 3).all()  # the first input is always the start token
    # p = 0: every later input is the model's own sample given the inputs before it.
    g = torch.Generator().manual_seed(0)
    state = policy.initial_state(6)
    with torch.no_grad():
        for t in range(6):
            logits, state = policy.step(mixed[:, t], state)
            sampled, _ = sample_categorical(logits, generator=g)
            torch.rand(6, generator=g)
            assert torch.equal(mixed[:, t + 1], sampled)


def test_teacher_forcing_schedules():
    assert teacher_forcing_prob("none", 50, 0.1) == 1.0
    assert teacher_forcing_prob("linear", 10, 0.05) == pytest.approx(0.5)
    assert teacher_forcing_prob("linear", 100, 0.05, floor=0.2) == 0.2
    assert teacher_forcing_prob("exponential", 2, 0.9) == pytest.approx(0.81)
    assert teacher_forcing_prob("inverse_sigmoid", 0, 10) == pytest.approx(10 / 11)
    with pytest.raises(ValueError):
        teacher_forcing_prob("cosine", 1, 1)


def tiny_oracle_config(**kw):
    return mle_config(oracle="random:1", n_train=128, n_valid=32, n_test=32, eval_samples=64,
                      eval_every=1, **kw)


def test_resume_gives_the_same_numbers(tmp_path):
    full = tiny_oracle_config(epochs=4, scheduled_sampling="linear", ss_k=0.2, seed=3)
    final = train_mle(full, tmp_path / "full", progress=False)
    train_mle(full.replace(epochs=2), tmp_path / "cut", progress=False)
    run = RunDir(tmp_path / "cut")
    run.log({"epoch": 3, "train_nll": 99.0})  # logged just before a crash, never checkpointed
    resumed = train_mle(full, tmp_path / "cut", resume=True, progress=False)
    assert resumed["nll_oracle"] == final["nll_oracle"]
    assert resumed["train_nll"] == final["train_nll"]
    a = RunDir(tmp_path / "full").load_checkpoint()["model"]["state_dict"]
    b = run.load_checkpoint()["model"]["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    strip = [{k: v for k, v in r.items() if k != "time_s"} for r in run.read_log()]
    expected = [{k: v for k, v in r.items() if k != "time_s"}
                for r in RunDir(tmp_path / "full").read_log()]
    assert strip == expected
    assert run.plot.stat().st_size > 0 and run.vocab.exists()


def test_resume_refuses_changed_settings(tmp_path):
    config = tiny_oracle_config(epochs=1)
    train_mle(config, tmp_path / "r", progress=False)
    with pytest.raises(CheckpointError, match="different lr"):
        train_mle(config.replace(epochs=2, lr=0.1), tmp_path / "r", resume=True, progress=False)
    with pytest.raises(CheckpointError, match="already holds a run"):
        train_mle(config, tmp_path / "r", progress=False)
    with pytest.raises(CheckpointError, match="no checkpoint.pt to resume"):
        train_mle(config, tmp_path / "fresh", resume=True, progress=False)


def test_checkpoint_is_weights_only_and_corruption_is_reported(tmp_path):
    train_mle(tiny_oracle_config(epochs=1), tmp_path / "r", progress=False)
    run = RunDir(tmp_path / "r")
    state = torch.load(run.checkpoint, weights_only=True)
    assert state["step"] == 1 and state["kind"] == "mle" and state["config"]["oracle"] == "random:1"
    assert not list(run.path.glob(".*.tmp"))  # no temporary file left behind
    run.checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable checkpoint"):
        run.load_checkpoint()
    assert json.loads(run.metrics.read_text().splitlines()[0])["epoch"] == 1


def test_config_validation():
    with pytest.raises(UserError, match="not both"):
        mle_config(oracle="random", data="x.txt")
    with pytest.raises(UserError, match="scheduled-sampling"):
        mle_config(scheduled_sampling="sometimes")
    with pytest.raises(UserError, match="--tokenizer 'bpe': use one of word, char, 13a"):
        mle_config(tokenizer="bpe")
    with pytest.raises(UserError, match="--cell"):
        mle_config(cell="rnn")
    with pytest.raises(UserError, match="--overlong"):
        mle_config(overlong="wrap")
    with pytest.raises(UserError, match="--dropout"):
        mle_config(dropout=1.0)
    with pytest.raises(UserError, match="--lr"):
        mle_config(lr=0)
    with pytest.raises(UserError, match="--epochs must be >= 0"):
        mle_config(epochs=-1)
    with pytest.raises(UserError, match="--epochz is not a setting of `textrl train mle`"):
        mle_config(epochz=3)
    assert mle_config().oracle == "random"


def test_zero_epochs_saves_the_start_evaluated_as_a_run(tmp_path):
    # epochs 0 is how a pretrained model becomes an RL recipe's --init unchanged
    config = tiny_oracle_config(epochs=0, seed=2)
    final = train_mle(config, tmp_path / "r", progress=False)
    run = RunDir(tmp_path / "r")
    (record,) = run.read_log()
    assert final["nll_valid"] == record["nll_valid"]  # what the CLI prints
    assert record["epoch"] == 0 and "nll_valid" in record and "nll_oracle" in record
    assert run.load_checkpoint()["step"] == 0
    loaded = load_run(run.path)
    assert loaded.kind == "mle"
    assert nll_test(loaded.model, loaded.corpus.valid) == pytest.approx(record["nll_valid"])
    pg = recipe_config("pg", None, {"init": str(run.path), "reward": "oracle", "iterations": 1,
                                    "batch_size": 8, "eval_samples": 16, "n_rollouts": 0})
    assert train(pg, tmp_path / "pg", progress=False)["iteration"] == 1
    # an RL recipe without --init and --pretrain-epochs 0 starts from the untrained policy
    untrained = recipe_config("pg", None, {"oracle": "random:1", "pretrain_epochs": 0,
                                           "reward": "oracle", "iterations": 1, "batch_size": 8,
                                           "eval_samples": 16, "n_rollouts": 0})
    train(untrained, tmp_path / "pg0", progress=False)
    assert RunDir(tmp_path / "pg0" / "mle").load_checkpoint()["step"] == 0


def test_best_checkpoint_follows_validation_nll(tmp_path):
    train_mle(tiny_oracle_config(epochs=3), tmp_path / "r", progress=False)
    run = RunDir(tmp_path / "r")
    log = run.read_log()
    best = min(log, key=lambda r: r["nll_valid"])
    state = run.load_checkpoint(best=True)
    assert state["step"] == best["epoch"] and state["nll_valid"] == best["nll_valid"]
    assert "trainer" not in state  # weights only, no optimizer
    loaded = load_run(run.path, best=True)
    assert nll_test(loaded.model, loaded.corpus.valid) == pytest.approx(best["nll_valid"], rel=1e-6)


def test_an_mle_checkpoint_from_before_run_kinds_still_loads(tmp_path):
    # textrl before 2026-11-25 wrote a flat MLE config, the data fingerprint under "data",
    # and no kind: such runs remain usable as --init and by sample/evaluate.
    train_mle(tiny_oracle_config(epochs=1), tmp_path / "r", progress=False)
    run = RunDir(tmp_path / "r")
    state = run.load_checkpoint()
    legacy = {"epoch": state["step"], "vocab": state["vocab"], "model": state["model"],
              "config": state["config"] | state["data"], "data": state["fingerprint"]}
    del legacy["model"]["class"]
    torch.save(legacy, run.checkpoint)
    loaded = load_run(run.path)
    assert loaded.kind == "mle" and loaded.max_len == 20 and loaded.data.oracle == "random:1"
    assert loaded.model.state_dict()["head.bias"].equal(state["model"]["state_dict"]["head.bias"])
    assert load_run(run.path, with_data=False).max_len == 20
