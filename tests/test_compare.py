"""`textrl compare` on run folders written by hand (config.yaml + metrics.jsonl), as a user's
own script would write them: grouping of seeds, mean ± sd, learning curves, TensorBoard, and
the refusals."""

import gzip
import json
import lzma
import statistics
import struct
import sys

import numpy as np
import pytest
import yaml
from test_cli import assert_user_error, cli

from textrl.compare import LoggedRun, group_runs, settings_key
from textrl.curves import band, series


def write_run(folder, config, records):
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records),
                                          encoding="utf-8")
    return folder


def log(seed, lr, steps=4, completions=True, unit="iteration"):
    """An evaluation at step 0 (no completions yet), then a reward each step."""
    records = [{unit: 0, "nll_oracle": 9.0 + seed}]
    for step in range(1, steps + 1):
        record = {unit: step, "reward": lr * step + seed}
        if completions:
            record["completions"] = 64 * step
        records.append(record)
    records[-1]["nll_oracle"] = 8.0 + seed
    return records


@pytest.fixture
def runs(tmp_path):
    """Two seeds of lr 0.1 (their output folders named in config.yaml, as a user's script
    may), one of lr 0.2."""
    config = {"algorithm": "ppo", "lr": 0.1, "batch_size": 8}
    a0 = write_run(tmp_path / "ppo-lr0.1-s0", config | {"seed": 0, "out": "x/s0"}, log(0, 0.1))
    a1 = write_run(tmp_path / "ppo-lr0.1-s1", config | {"seed": 1, "out": "x/s1"}, log(1, 0.1))
    b0 = write_run(tmp_path / "ppo-lr0.2-s0", config | {"seed": 0, "lr": 0.2}, log(0, 0.2))
    return a0, a1, b0


def width(png):
    """A PNG's width in pixels (its IHDR chunk)."""
    return struct.unpack(">I", png.read_bytes()[16:20])[0]


def test_seeds_grouped_a_different_lr_not(runs):
    a0, a1, b0 = (str(r) for r in runs)
    configs = [yaml.safe_load((r / "config.yaml").read_text()) for r in runs]
    groups = group_runs([a0, a1, b0], configs)
    assert [g.runs for g in groups] == [[a0, a1], [b0]]
    assert groups[0].label.endswith("ppo-lr0.1-s*") and groups[1].label == b0
    assert [g.runs for g in group_runs([a0, a1, b0], configs, per_run=True)] == [[a0], [a1], [b0]]
    assert len(group_runs([a0, b0], configs[::2], ignore=["lr"])) == 1
    # the one key that may differ is the seed (and the output folder): not the lr, not the
    # batch size, and not a setting the seed's runs happen to share
    assert settings_key({"lr": 0.1, "seed": 0}) == settings_key({"lr": 0.1, "seed": 5, "quiet": 1})
    assert settings_key({"lr": 0.1}) != settings_key({"lr": 0.2})
    assert settings_key({"batch_size": 8}) != settings_key({"batch_size": 16})


def test_runs_started_from_their_own_seeds_start_are_one_group(tmp_path):
    starts = [write_run(tmp_path / f"mle-s{s}", {"recipe": "mle", "seed": s}, log(s, 1))
              for s in (0, 1)]
    other = write_run(tmp_path / "mle-big", {"recipe": "mle", "hidden_dim": 64}, log(0, 1))
    configs = [{"recipe": "pg", "init": str(start), "seed": s} for s, start in enumerate(starts)]
    configs.append({"recipe": "pg", "init": str(other), "seed": 0})
    groups = group_runs(["pg0", "pg1", "pg-big"], configs)
    assert [g.runs for g in groups] == [["pg0", "pg1"], ["pg-big"]]


def test_table_mean_sd_and_n(capsys, runs, tmp_path):
    code, out, err = cli(capsys, "compare", *runs, "--curves", "reward", "nll_oracle",
                         "--curves-out", tmp_path / "figs")
    assert code == 0, err
    header, first, second, *paths = out.splitlines()
    assert header.split() == ["run", "n", "step", "completions", "reward", "nll_oracle"]
    rewards = [0.1 * 4 + 0, 0.1 * 4 + 1]  # each seed's last reward
    assert first.split()[1:] == ["2", "4", "256",
                                 f"{statistics.mean(rewards):.4f}", "±",
                                 f"{statistics.stdev(rewards):.4f}", "8.5000", "±", "0.7071"]
    assert second.split() == [str(runs[2]), "1", "4", "256", "0.8000", "8.0000"]
    assert paths == [str(tmp_path / "figs" / "reward.png"), str(tmp_path / "figs" / "nll_oracle.png")]
    code, out, _ = cli(capsys, "compare", *runs, "--curves", "reward", "--json",
                       "--curves-out", tmp_path / "figs")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["n"] == 2 and rows[0]["runs"] == [str(runs[0]), str(runs[1])]
    assert rows[0]["reward"] == pytest.approx(0.9) and rows[0]["reward_sd"] == pytest.approx(2 ** -0.5)
    assert rows[-1] == {"metric": "reward", "png": str(tmp_path / "figs" / "reward.png")}
    code, out, _ = cli(capsys, "compare", *runs, "--curves", "reward", "--per-run",
                       "--curves-out", tmp_path / "figs")
    assert [line.split()[:2] for line in out.splitlines()[1:4]] == [[str(r), "1"] for r in runs]


def test_curves_with_and_without_the_completions_panel(capsys, runs, tmp_path):
    mine = [write_run(tmp_path / f"mine/s{s}", {"algorithm": "mine", "seed": s},
                      log(s, 0.3, steps=3 + s, completions=False, unit="step")) for s in (0, 1)]
    code, out, err = cli(capsys, "compare", *runs, *mine, "--curves", "reward",
                         "--curves-out", tmp_path / "both")
    png = tmp_path / "both" / "reward.png"
    assert code == 0 and out.splitlines()[-1] == str(png) and png.stat().st_size > 0
    assert width(png) == int(2 * 5.5 * 110)  # steps and completions
    assert err.count(f"{tmp_path / 'mine/s0'}, {tmp_path / 'mine/s1'} log no completions") == 1
    assert "over different ranges" in err  # the user's seeds ran 3 and 4 steps
    code, out, err = cli(capsys, "compare", *mine, "--curves", "reward", "nll_oracle",
                         "--curves-out", tmp_path / "steps")
    assert code == 0 and width(tmp_path / "steps" / "reward.png") == int(5.5 * 110)
    assert err.count("no run logs completions") == 1  # said once, not once a metric


def test_series_and_band():
    run = LoggedRun("r", {}, log(0, 1.0, steps=3), "iteration")
    x, y = series(run, "nll_oracle", "completions")
    assert x.tolist() == [0, 192] and y.tolist() == [9.0, 8.0]  # step 0: nothing sampled yet
    x, y = series(run, "reward", "step")
    assert x.tolist() == [1, 2, 3] and y.tolist() == [1.0, 2.0, 3.0]
    assert series(LoggedRun("r", {}, log(0, 1.0, completions=False), "iteration"),
                  "reward", "completions") is None
    # seeds logged at different x: interpolated onto the union, never extrapolated
    grid, mean, sd, counts = band([(np.array([0.0, 2.0]), np.array([0.0, 2.0])),
                                   (np.array([0.0, 1.0, 3.0]), np.array([2.0, 2.0, 2.0]))])
    assert grid.tolist() == [0, 1, 2, 3] and counts.tolist() == [2, 2, 2, 1]
    assert mean.tolist() == [1.0, 1.5, 2.0, 2.0]
    assert sd == pytest.approx([2 ** 0.5, 0.5 ** 0.5, 0.0, 0.0])


def test_tensorboard_scalars(capsys, runs, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code, _, err = cli(capsys, "compare", *runs, "--tensorboard", tmp_path / "tb")
    assert code == 0 and "3 runs" in err
    folder = tmp_path / "tb" / "ppo-lr0.1-s" / "ppo-lr0.1-s1"
    events = EventAccumulator(str(folder))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("reward")][-1] == (4, pytest.approx(1.4))
    assert [e.step for e in events.Scalars("by_completions/nll_oracle")] == [0, 256]


def test_bad_input_says_the_fix(capsys, runs, tmp_path, monkeypatch):
    assert_user_error(capsys, "compare", *runs, "--curves", "kl",
                      match="no run logged 'kl' in its metrics.jsonl; the runs log: completions, "
                            "iteration, nll_oracle, reward")
    (tmp_path / "no-log").mkdir()
    (tmp_path / "no-log" / "config.yaml").write_text("seed: 0\n")
    assert_user_error(capsys, "compare", runs[0], tmp_path / "no-log", "--curves", "reward",
                      match="no-log: no metrics.jsonl; write the run's log there")
    (tmp_path / "no-config").mkdir()
    assert_user_error(capsys, "compare", tmp_path / "no-config", "--curves", "reward",
                      match="no-config: no config.yaml; a run folder holds config.yaml")
    write_run(tmp_path / "no-step", {"seed": 0}, [{"reward": 1.0}])
    assert_user_error(capsys, "compare", tmp_path / "no-step", "--curves", "reward",
                      match="give every record its step")
    broken = write_run(tmp_path / "broken", {"seed": 0}, [{"step": 1, "reward": 1.0}])
    (broken / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2, \n')
    assert_user_error(capsys, "compare", broken, "--curves", "reward",
                      match="metrics.jsonl:2: not JSON")
    assert_user_error(capsys, "compare", runs[0], runs[0] / ".", "--curves", "reward",
                      match="are the same run folder")
    assert_user_error(capsys, "compare", *runs, "--curves", "reward", "--plot", tmp_path / "qd.png",
                      match="give them in two commands")
    (tmp_path / "file").write_text("")
    assert_user_error(capsys, "compare", *runs, "--curves", "reward", "--curves-out",
                      tmp_path / "file", match="exists and is not a folder")
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # not installed
    assert_user_error(capsys, "compare", *runs, "--tensorboard", tmp_path / "tb",
                      match="--tensorboard needs the tensorboard package")


@pytest.mark.parametrize(("suffix", "compress", "kind"), [(".xz", lzma.compress, "xz"),
                                                         (".gz", gzip.compress, "gzip")])
def test_an_archived_log_reads_as_the_plain_one(capsys, runs, tmp_path, suffix, compress, kind):
    """benchmarks/out keeps a finished run's log as metrics.jsonl.xz (metrics.jsonl.gz before):
    compare reads it as is."""
    code, plain, err = cli(capsys, "compare", *runs, "--curves", "reward", "--json",
                           "--curves-out", tmp_path / "plain")
    assert code == 0, err
    for run in runs:
        log_file = run / "metrics.jsonl"
        (run / f"metrics.jsonl{suffix}").write_bytes(compress(log_file.read_bytes()))
        log_file.unlink()
    code, archived, err = cli(capsys, "compare", *runs, "--curves", "reward", "--json",
                              "--curves-out", tmp_path / "plain")
    assert code == 0, err
    assert archived == plain and len(plain.splitlines()) == 3
    (runs[0] / f"metrics.jsonl{suffix}").write_bytes(compress(b"\xff not UTF-8"))
    assert_user_error(capsys, "compare", *runs, "--curves", "reward",
                      match=f"metrics.jsonl{suffix}: not a readable {kind} file of UTF-8 text")
    for broken in (b"not compressed", compress(b'{"step": 1}\n')[:-8]):  # or cut short
        (runs[0] / f"metrics.jsonl{suffix}").write_bytes(broken)
        assert_user_error(capsys, "compare", *runs, "--curves", "reward",
                          match=f"metrics.jsonl{suffix}: not a readable {kind} file")
