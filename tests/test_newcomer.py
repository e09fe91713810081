"""What a newcomer meets on day one (issue 31): the README's reward example from its folder,
a wrong --init, failed and interrupted starts, --threads, progress bars in long phases, a
reward that returns NaN or raises, the pretraining announced, and the small things."""

import json
import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.*` imports
from tests.test_recipes import TINY, tiny_flags  # noqa: E402
from tests.test_runs import run_cli, user_error  # noqa: E402
from textrl.data.corpus import LoadReport  # noqa: E402


@pytest.fixture(scope="module")
def code_runs(tmp_path_factory):
    """A small autoencoder run and a latent-space GAN run on the embedded grammar."""
    from textrl.cli import main

    root = tmp_path_factory.mktemp("code")
    for argv in (["train", "vae", "--data", "grammar", "--autoencoder", "--kl-anneal", "none",
                  "--n-train", "64", "--n-valid", "16", "--n-test", "16", "--epochs", "1",
                  "--emb-dim", "8", "--hidden-dim", "8", "--latent-dim", "2", "--out",
                  str(root / "ae")],
                 ["train", "latent-gan", "--init", str(root / "ae"), "--iterations", "2",
                  "--blocks", "1", "--width", "8", "--noise-dim", "4", "--eval-every", "1",
                  "--eval-samples", "8", "--checkpoint-every", "2", "--out", str(root / "lgan")]):
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--quiet"])
        assert exit_info.value.code == 0
    return root / "ae", root / "lgan"


def test_a_reward_module_in_the_working_folder_imports(mle_run, tmp_path, capsys, monkeypatch):
    # The `textrl` entry point puts its own folder first on sys.path, not the working one.
    (tmp_path / "my_rewards_here.py").write_text(
        "import torch\n\ndef share(tokens, lengths, context=None):\n"
        "    return torch.ones(len(tokens))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path
                                      if p not in ("", os.getcwd(), str(tmp_path))])
    code, stdout, err = run_cli(["train", "pg", "--reward", "my_rewards_here:share", "--init",
                                 mle_run, "--out", "x", "--quiet", *tiny_flags()], capsys)
    assert code == 0, err
    user_error(["train", "pg", "--reward", "not_here_at_all:share", "--init", mle_run, "--out",
                "y", *tiny_flags()], capsys, "cannot import module 'not_here_at_all'")


@pytest.mark.parametrize("recipe", ["seqgan", "pg", "rankgan"])
def test_an_rl_recipe_refuses_a_start_of_another_kind(recipe, code_runs, tmp_path, capsys):
    for run, model in zip(code_runs, ("SentenceVAE", "LatentGAN"), strict=True):
        err = user_error(["train", recipe, "--init", run, "--out", tmp_path / "x", "--quiet",
                          *tiny_flags(recipe)], capsys, f"a {model} cannot")
        assert len(err.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_a_refused_resume_says_how_to_change_the_setting(mle_run, tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--init", mle_run, "--out", out, "--quiet", *tiny_flags()]
    assert run_cli(["train", "pg", "--reward", "oracle", *common], capsys)[0] == 0
    user_error(["train", "pg", "--reward", "constant", "--resume", *common], capsys,
               "start a new run: choose another --out, or delete")


def test_threads_sets_torch_s_threads(mle_run, capsys):
    before = torch.get_num_threads()
    try:
        assert run_cli(["sample", mle_run, "-n", "1", "--threads", "1"], capsys)[0] == 0
        assert torch.get_num_threads() == 1
        user_error(["sample", mle_run, "--threads", "0"], capsys, "--threads must be >= 1")
    finally:
        torch.set_num_threads(before)


def test_long_phases_show_a_progress_bar(monkeypatch, code_runs):
    import textrl.data.corpus
    import textrl.metrics.latent
    import textrl.models.generation
    from textrl.models import LMConfig, RecurrentLM
    from textrl.training import load_run

    bars = []

    def recording(iterable=None, **kwargs):
        bars.append(kwargs)
        return iterable

    for module in (textrl.models.generation, textrl.metrics.latent, textrl.data.corpus):
        monkeypatch.setattr(module, "tqdm", recording)
    RecurrentLM(LMConfig(vocab_size=7)).sample(1100, 3)  # 3 chunks of 512
    assert any(b["desc"] == "sampling" and not b["disable"] for b in bars)
    ae = load_run(code_runs[0])  # reads its data: a bar over the files
    assert any(b["desc"] == "reading the data" for b in bars) or ae.data.data == "grammar"
    textrl.metrics.latent.vae_likelihood(ae.model, ae.corpus.test, k=0)
    assert any(b["desc"] == "VAE likelihood" for b in bars)


def test_a_reward_that_returns_nan_or_raises_is_named(mle_run, tmp_path, capsys):
    err = user_error(["train", "pg", "--reward", "tests.rewards_example:nan_reward", "--init",
                      mle_run, "--out", tmp_path / "x", "--quiet", *tiny_flags()], capsys,
                     "the reward tests.rewards_example:nan_reward returned nan")
    assert "learning rate" not in err and not (tmp_path / "x").exists()
    err = user_error(["train", "pg", "--reward", "tests.rewards_example:raising_reward",
                      "--init", mle_run, "--out", tmp_path / "y", "--quiet", *tiny_flags()],
                     capsys, "reward tests.rewards_example:raising_reward raised "
                             "ZeroDivisionError: the user's own bug")
    assert "rewards_example.py" in err and "helper_that_fails" in err
    assert "textrl/rewards" not in err  # the user's frames only


def test_interrupted_before_anything_was_saved(mle_run, tmp_path, capsys, monkeypatch):
    from textrl.training import AdversarialTrainer

    def interrupted(self, step):
        raise KeyboardInterrupt

    monkeypatch.setattr(AdversarialTrainer, "train_step", interrupted)
    out = tmp_path / "x"
    code, _, err = run_cli(["train", "pg", "--reward", "oracle", "--init", mle_run, "--out",
                            out, "--quiet", *tiny_flags()], capsys)
    assert code == 130 and "run the same command again" in err and "--resume" not in err
    assert not out.exists()


def test_pretraining_is_announced_and_the_help_shows_real_defaults(capsys):
    code, stdout, _ = run_cli(["train", "seqgan", "--help"], capsys)
    assert code == 0 and "without --init (default: random)" in " ".join(stdout.split())
    code, stdout, _ = run_cli(["sample", "--help"], capsys)
    assert "sampling temperature" in stdout and "--threads" in stdout
    code, stdout, _ = run_cli(["--help"], capsys)
    assert "Train a generator" in " ".join(stdout.split())


def test_the_small_things(mle_run, tmp_path, capsys):
    # a typo is not another flag
    code, _, err = run_cli(["train", "mle", "--oracle", "random", "--epoch", "1", "--out",
                            tmp_path / "x"], capsys)
    assert code == 2 and "--epoch" in err and not (tmp_path / "x").exists()
    # mle has no presets to suggest
    err = user_error(["train", "mle", "--config", "nope.yaml", "--out", tmp_path / "x"], capsys,
                     "--config nope.yaml: no such file; use a YAML path")
    assert "paper" not in err
    # one word for the last checkpoint, everywhere
    assert run_cli(["sample", mle_run, "-n", "1", "--checkpoint", "last"], capsys)[0] == 0
    assert run_cli(["sample", mle_run, "-n", "1", "--checkpoint", "latest"], capsys)[0] == 2
    assert LoadReport("f.txt", lines=2, blank=1).summary() == (
        "f.txt: 1 sentence from 2 lines, 1 blank skipped")
    pg = tmp_path / "pg"
    assert run_cli(["train", "pg", "--reward", "oracle", "--init", mle_run, "--out", pg,
                    "--quiet", *tiny_flags()], capsys)[0] == 0
    user_error(["impute", pg, "1 ___ 3"], capsys, "is an adversarial run of a RecurrentLM")
    assert json.loads((pg / "metrics.jsonl").read_text().splitlines()[-1])["iteration"] == (
        TINY["iterations"])


def test_a_failure_after_a_trained_step_keeps_the_run(mle_run, tmp_path, capsys, monkeypatch):
    from textrl.training import AdversarialTrainer

    original = AdversarialTrainer.train_step

    def fails_at_two(self, step):
        if step == 2:
            raise KeyboardInterrupt
        return original(self, step)

    monkeypatch.setattr(AdversarialTrainer, "train_step", fails_at_two)
    out = tmp_path / "x"
    code, _, err = run_cli(["train", "pg", "--reward", "oracle", "--init", mle_run, "--out", out,
                            "--quiet", *tiny_flags(), "--iterations", "3", "--checkpoint-every",
                            "3"], capsys)
    assert code == 130 and "--resume" in err
    assert (out / "best.pt").exists() and (out / "checkpoint.pt").exists()  # step 0's
    assert '"iteration": 1' in (out / "metrics.jsonl").read_text()
