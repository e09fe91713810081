"""benchmarks/run.py: a leaderboard row by its id, what it needs first, finished seeds never
run twice, a finished row refused unless --force (which writes to fresh folders). Nothing is
trained here: every run is --dry-run or refused before it starts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from benchmarks import run as runner  # noqa: E402
from benchmarks.leaderboard_rows import ROWS  # noqa: E402

OUT = ROOT / "benchmarks/out"


@pytest.fixture(autouse=True)
def _never_train(monkeypatch):
    """No test runs a command: the row commands write to the real benchmarks/out."""
    monkeypatch.setattr(runner, "execute", lambda line, env: pytest.fail(f"would run {line}"))


def dry_run(capsys, *argv: str) -> list[str]:
    """The commands a dry run prints, as ``[row id, command]`` lines."""
    assert runner.main([*argv, "--dry-run"]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]


def refused(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        runner.main([*argv, "--dry-run"])
    assert exit_.value.code == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1
    return message


def copy_results(out: Path, *folders: str) -> None:
    for folder in folders:
        (out / folder).mkdir(parents=True)
        shutil.copy(OUT / folder / "results.jsonl", out / folder / "results.jsonl")


def test_every_row_has_a_unique_short_id_and_its_needs_exist():
    ids = [row.id for row in ROWS]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) and len(i) <= 28 for i in ids)
    for row in ROWS:
        assert set(row.needs) <= set(ids) - {row.id}
        # every command but a one-seed row's names its seeds, so run.py can choose them
        assert runner.written_seeds(row) or row.id == "ptb-smollm2"


def test_list_prints_every_id_as_a_script():
    listed = subprocess.run([sys.executable, "benchmarks/run.py", "--list"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [row.id for row in ROWS]
    seqgan = next(line for line in listed if line.startswith("oracle-seqgan "))
    assert "SeqGAN · SeqGAN oracle" in seqgan


def test_unknown_row_exits_2_and_says_how_to_see_the_ids(capsys):
    assert "run.py --list" in refused(capsys, "no-such-row")
    assert "run.py --list" in refused(capsys)


def test_dry_run_puts_the_dependency_first_for_the_seeds_asked(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "OUT", tmp_path)  # nothing recorded: the starts come first
    lines = dry_run(capsys, "oracle-transformer-seqgan", "--seeds", "3", "4")
    assert [line.split("]")[0] for line in lines] == ["[oracle-transformer-mle",
                                                       "[oracle-transformer-seqgan"]
    assert all("--seeds 3 4 " in line for line in lines)
    assert "bench_mle_oracle.py --variants transformer" in lines[0]


def recording(ran: list[str], out: Path, seeds: tuple[int, ...], code: int = 0):
    """A stand-in for a row's command (``[ROW-ID] cmd``, see ``labelled``): it records the line
    and appends, for each of ``seeds``, a record the row reads (a real one of the row with
    its seed changed), then exits with ``code``."""
    def execute(line: str, env: dict) -> int:
        ran.append(line)
        step = runner.BY_ID[line[1:line.index("]")]]
        real = next(r for path in sorted(OUT.glob(step.source.files)) for r in runner.load(path)
                    if step.source.where(r))
        (out / step.source.files).parent.mkdir(parents=True, exist_ok=True)
        with (out / step.source.files).open("a") as log:
            log.writelines(json.dumps(real | {"seed": seed}) + "\n" for seed in seeds)
        return code
    return execute


def labelled(monkeypatch) -> None:
    monkeypatch.setattr(runner, "command", lambda row, seeds, suffix="": f"[{row.id}] cmd")


def test_a_run_goes_in_order_and_stops_at_a_failure(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "OUT", tmp_path)
    labelled(monkeypatch)
    ran: list[str] = []
    monkeypatch.setattr(runner, "execute", recording(ran, tmp_path, (3,)))
    assert runner.main(["oracle-transformer-seqgan", "--seeds", "3"]) == 0
    assert ran == ["[oracle-transformer-mle] cmd", "[oracle-transformer-seqgan] cmd"]
    ran.clear()
    monkeypatch.setattr(runner, "execute", recording(ran, tmp_path, (), code=3))
    assert runner.main(["oracle-transformer-mle", "--seeds", "4"]) == 3
    assert ran == ["[oracle-transformer-mle] cmd"] and "failed (exit 3)" in capsys.readouterr().err


def test_a_loop_that_exits_0_without_every_seeds_record_failed(monkeypatch, tmp_path, capsys):
    """`for S in 0 1 2; do ...; done` exits with its last pass's status: seed 0 failing and
    seed 2 succeeding is exit 0, so the row's records decide."""
    monkeypatch.setattr(runner, "OUT", tmp_path)
    labelled(monkeypatch)
    ran: list[str] = []
    monkeypatch.setattr(runner, "execute", recording(ran, tmp_path, (2,)))
    assert runner.main(["oracle-transformer-mle", "--seeds", "0", "2"]) == 1
    assert ("exit 0, but no record for seeds 0 in out/transformer_oracle/results.jsonl"
            in capsys.readouterr().err)


def test_a_shell_loop_over_seeds_gets_the_seeds_asked(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runner, "OUT", tmp_path)
    [line] = dry_run(capsys, "ptb-rnnlm", "--seeds", "5")
    assert "for S in 5; do" in line and "0 1 2" not in line


def test_a_finished_row_is_refused_and_a_partial_one_runs_its_missing_seeds(
        monkeypatch, tmp_path, capsys):
    copy_results(tmp_path, "transformer_oracle")  # seeds 0, 1, 2 recorded
    monkeypatch.setattr(runner, "OUT", tmp_path)
    message = refused(capsys, "oracle-transformer-mle", "--seeds", "0", "1", "2")
    assert "finished" in message and "--force" in message
    [line] = dry_run(capsys, "oracle-transformer-mle", "--seeds", "1", "7")
    assert "--seeds 7 " in line


def test_force_reruns_into_fresh_folders_the_row_and_what_it_needs(
        monkeypatch, tmp_path, capsys):
    copy_results(tmp_path, "transformer_oracle", "transformer_adversarial")
    monkeypatch.setattr(runner, "OUT", tmp_path)
    lines = dry_run(capsys, "oracle-transformer-seqgan", "--seeds", "0", "--force")
    assert len(lines) == 2
    assert "--out benchmarks/out/transformer_oracle-rerun1" in lines[0]
    assert "--mle-runs benchmarks/out/transformer_oracle-rerun1" in lines[1]
    assert "--out benchmarks/out/transformer_adversarial-rerun1" in lines[1]
    # a script's default folders (bench_gan_oracle.py's --mle-runs and --out, not written in
    # the row's command) are made explicit before they are renamed
    [line] = dry_run(capsys, "oracle-latent-gan", "--force")
    assert "--mle-runs benchmarks/out/tmp-rerun1 --out benchmarks/out/gan_oracle-rerun1" in line
    # a rerun folder holding the row finished is not reused
    shutil.copytree(tmp_path / "transformer_adversarial",
                    tmp_path / "transformer_adversarial-rerun1")
    lines = dry_run(capsys, "oracle-transformer-seqgan", "--seeds", "0", "--force")
    assert "--out benchmarks/out/transformer_adversarial-rerun2" in lines[-1]


def test_outputs_gone_though_recorded_are_refused_not_retrained(monkeypatch, tmp_path, capsys):
    copy_results(tmp_path, "transformer_oracle")  # records, but no checkpoints (git-ignored)
    monkeypatch.setattr(runner, "OUT", tmp_path)
    message = refused(capsys, "oracle-transformer-seqgan", "--seeds", "0")
    assert "oracle-transformer-mle" in message and "checkpoint" in message
    for seed in (0, 1, 2):
        start = tmp_path / f"transformer_oracle/transformer-seed{seed}"
        start.mkdir()
        (start / "checkpoint.pt").touch()
    [line] = dry_run(capsys, "oracle-transformer-seqgan", "--seeds", "0")
    assert line.startswith("[oracle-transformer-seqgan]")


def test_seeds_are_told_by_field_run_name_or_folder():
    assert runner.seed_of(Path("x/results.jsonl"), {"seed": 2, "run": "a-seed1"}) == 2
    assert runner.seed_of(Path("x/scores.jsonl"), {"run": "maskgan-seed1"}) == 1
    assert runner.seed_of(Path("v/lm_s2/eval.json"), {}) == 2
    assert runner.seed_of(Path("smollm2/results.jsonl"), {"run": "seqgan"}) is None


def test_a_seed_is_read_inside_benchmarks_out_not_from_the_checkout_path(monkeypatch):
    # a checkout under /home/a_s7/ must not make every VAE record seed 7
    monkeypatch.setattr(runner, "OUT", Path("/home/a_s7/textrl/benchmarks/out"))
    assert runner.seed_of(runner.OUT / "vae/lm_s0/eval.json", {}) == 0
    assert runner.seed_of(Path("/home/a_s7/x/results.jsonl"), {"seed": 1}) == 1


def test_seeds_on_a_row_that_takes_none_are_refused(capsys):
    assert "takes no --seeds" in refused(capsys, "ptb-smollm2", "--seeds", "1")


def test_seed_substitution_stops_at_the_seeds():
    row = runner.BY_ID["oracle-mle"]
    fake = type(row)(**{**row.__dict__, "command": "python x.py --seeds 0 1 2 3e-4"})
    assert runner.command(fake, [5]) == "python x.py --seeds 5 3e-4"  # not --seeds 5e-4
    fake = type(row)(**{**row.__dict__, "command": "python x.py --seeds 0 1 2 --lr 3e-4"})
    assert runner.command(fake, [5]) == "python x.py --seeds 5 --lr 3e-4"


def test_one_run_folder_is_trained_by_one_process_at_a_time(tmp_path):
    import fcntl

    from cli_runs import train
    out = tmp_path / "run"
    with open(tmp_path / ".run.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RuntimeError, match="being trained by another process"):
            train(["false"], out, 1)
    with pytest.raises(RuntimeError, match="false --threads 1 failed"):
        train(["false"], out, 1)  # free again: the command itself runs (and fails)


@pytest.mark.parametrize("log", ["metrics.jsonl", "metrics.jsonl.xz", "metrics.jsonl.gz"])
def test_the_leaderboard_never_reads_a_forced_rerun_as_the_original_run(tmp_path, log):
    """Whether the runs' logs are plain or kept compressed (``.xz``; ``.gz`` before)."""
    from benchmarks.leaderboard import run_dir

    for folder in ("ss-rerun1", "ss_seed2"):
        (tmp_path / folder / "ss-seed2").mkdir(parents=True)
        (tmp_path / folder / "ss-seed2" / log).write_text("{}\n")
    (tmp_path / "ss").mkdir()
    found = run_dir(tmp_path / "ss" / "results.jsonl", {"run": "ss-seed2"})
    assert found == tmp_path / "ss_seed2" / "ss-seed2"
