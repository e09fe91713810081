"""--device: every part of a run on one device, checkpoints readable on any other. Runs on
the CPU here, and on CUDA too where torch sees a GPU."""

import json

import pytest
import torch

from tests.test_runs import SMALL_MLE, run_cli, user_error
from textrl.device import resolve_device
from textrl.errors import UserError
from textrl.training import RunDir, load_run

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
TINY_SEQGAN = ["--n-rollouts", "2", "--batch-size", "8", "--d-pretrain-steps", "1", "--d-steps",
               "1", "--d-epochs", "1", "--d-samples", "32", "--eval-samples", "16",
               "--d-emb-dim", "8"]


def test_device_names_resolve_or_say_what_to_use():
    assert resolve_device("cpu") == torch.device("cpu")
    auto = resolve_device("auto").type
    assert auto == "cuda" if torch.cuda.is_available() else auto in ("mps", "cpu")
    with pytest.raises(UserError, match="not a device"):
        resolve_device("gpu0")
    with pytest.raises(UserError, match="runs on auto, cpu"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            resolve_device("cuda:1")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_the_cli_refuses_a_missing_gpu_with_one_line(tmp_path, capsys):
    user_error(["train", "mle", *SMALL_MLE, "--epochs", "1", "--device", "cuda",
                "--out", tmp_path / "m"], capsys, "--device cuda: this machine has no CUDA GPU")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("device", DEVICES)
def test_mle_and_adversarial_runs_on_a_device_load_anywhere(device, mle_run, tmp_path, capsys):
    mle = tmp_path / "mle"
    code, out, err = run_cli(["train", "mle", *SMALL_MLE, "--epochs", "1", "--device", device,
                              "--out", mle], capsys)
    assert code == 0, err
    assert json.loads(out)["nll_oracle"] > 0
    rl = tmp_path / "seqgan"
    code, out, err = run_cli(["train", "seqgan", "--init", mle, "--iterations", "2", "--device",
                              device, "--quiet", "--out", rl, *TINY_SEQGAN], capsys)
    assert code == 0, err
    for run in (mle, rl):
        loaded = load_run(run, device="cpu")
        assert {p.device.type for p in loaded.model.parameters()} == {"cpu"}
        assert loaded.corpus.train.tokens.device.type == "cpu"
    on_device = load_run(rl, device=device)
    assert {p.device.type for p in on_device.model.parameters()} == {torch.device(device).type}
    assert on_device.oracle.device.type == torch.device(device).type
    code, out, _ = run_cli(["sample", rl, "-n", "2", "--device", device], capsys)
    assert code == 0 and len(out.splitlines()) == 2
    code, out, _ = run_cli(["evaluate", rl, "--samples", "8", "--json", "--device", device],
                           capsys)
    assert code == 0 and json.loads(out)["nll_oracle"] > 0


def test_resuming_on_another_kind_of_device_restarts_the_stream_and_says_so(tmp_path, capsys):
    out = tmp_path / "m"
    cpu = ["--device", "cpu"]  # auto would take a GPU where there is one
    assert run_cli(["train", "mle", *SMALL_MLE, *cpu, "--epochs", "1", "--out", out],
                   capsys)[0] == 0
    run = RunDir(out)
    state = run.load_checkpoint()
    state["rng"] |= {"device": "cuda", "generator": torch.zeros(16, dtype=torch.uint8)}
    run.save_checkpoint(state)
    code, stdout, err = run_cli(["train", "mle", *SMALL_MLE, *cpu, "--epochs", "2", "--resume",
                                 "--out", out], capsys)
    assert code == 0 and json.loads(stdout)["epoch"] == 2
    assert "last trained on cuda in 1 process(es) and resumes on cpu in 1" in err
