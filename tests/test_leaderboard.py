"""The leaderboard (benchmarks/leaderboard.py): every textrl number on the page is read from a
result file under benchmarks/out, and a missing or changed file shows; new result records
carry their provenance (benchmarks/provenance.py)."""

from __future__ import annotations

import gzip
import json
import lzma
import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# `benchmarks` is a folder of scripts, not an installed package; its scripts import each other
# by module name (`from cli_runs import ...`), so both folders go on the path.
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import cli_runs  # noqa: E402

from benchmarks import leaderboard  # noqa: E402
from benchmarks.leaderboard_rows import Row, Source  # noqa: E402

PAPERS = yaml.safe_load(leaderboard.PAPERS.read_text())


def numbers(m: leaderboard.Measured) -> list[leaderboard.Traced]:
    return [*(t for field in m.last for t in field), *m.best]


# Rows whose benchmark has not written its results yet: "no artifact" until it does.
NOT_RUN_YET = {"ptb-smollm2"}


def test_every_number_on_the_page_traces_to_a_result_file():
    lines = leaderboard.board(leaderboard.OUT)
    assert len(lines) <= 30
    assert leaderboard.check_traces(lines) == []
    page = leaderboard.render(lines, PAPERS)
    for row, m, also in lines:
        if not m.records and row.id in NOT_RUN_YET:
            assert not list(leaderboard.OUT.glob(row.source.files))  # no file, not a typo
            assert f"**{row.id}**<br>" in page and f"expected: out/{row.source.files}" in page
            continue
        assert m.records, f"{row.system} ({row.dataset}): no artifact under benchmarks/out"
        assert numbers(m), f"{row.system} ({row.dataset}): records without its fields"
        for _, path, _ in numbers(m):
            assert path.is_relative_to(leaderboard.OUT)
        # The cell on the page is the mean ± sd of exactly the traced numbers.
        assert leaderboard.cell(m.last, row.source.scale, row.digits) in page
        for _, a in also:
            assert all(path.is_relative_to(leaderboard.OUT) for _, path, _ in numbers(a))
        if row.paper:
            assert row.paper in PAPERS


def test_a_missing_result_file_is_no_artifact_and_a_changed_number_is_caught(tmp_path):
    out = tmp_path / "out"
    shutil.copytree(leaderboard.OUT, out, ignore=shutil.ignore_patterns("*.png", "*.log"))
    (out / "mle_oracle/results.jsonl").unlink()
    lines = leaderboard.board(out)
    row, m, _ = next(line for line in lines if line[0].source.files == "mle_oracle/results.jsonl")
    assert not m.records and not numbers(m)
    assert leaderboard.verdict(row, PAPERS[row.paper], m) == "no artifact"
    page = leaderboard.render(lines, PAPERS, out)
    mine = next(line for line in page.splitlines() if line.startswith(f"| {row.system} | "))
    assert "**no artifact**" in mine and "expected: out/mle_oracle/results.jsonl" in mine
    assert leaderboard.check_traces(lines) == []

    # A number on the board that its file no longer holds is reported, not published.
    results = out / "poems/results.jsonl"
    results.write_text(results.read_text().replace('"bleu2": 0.', '"bleu2": 1.'))
    missing = leaderboard.check_traces(lines)
    assert missing and all("poems/results.jsonl" in line for line in missing)


def test_a_dotted_field_reads_a_nested_value_and_is_traced_to_it(tmp_path):
    results = tmp_path / "runs/results.jsonl"
    results.parent.mkdir()
    results.write_text('{"run": "a-seed0", "evaluation": {"nll_test": 5.5}}\n'
                       '{"run": "a-seed1", "evaluation": {"nll_test": 6.5}}\n'
                       '{"run": "b-seed0", "evaluation": {}}\n')
    source = Source("runs/results.jsonl", lambda r: True, ("evaluation.nll_test",))
    m = leaderboard.measure(tmp_path, source)
    assert [v for v, _, _ in m.last[0]] == [5.5, 6.5]  # b-seed0 has no such field
    assert leaderboard.cell(m.last, 1.0, 2) == "6.00 ± 0.71 (n=2)"
    row = Row("a", "d", "m ↓", None, source, "", "")
    assert leaderboard.check_traces([(row, m, [])]) == []
    results.write_text(results.read_text().replace("6.5", "7.5"))
    assert leaderboard.check_traces([(row, m, [])]) == [
        f"{results}: no record with evaluation.nll_test = 6.5"]


@pytest.mark.parametrize(("suffix", "compress"), [(".xz", lzma.compress), (".gz", gzip.compress)])
def test_a_kept_log_reads_as_the_plain_one_and_is_traced_to_it(tmp_path, suffix, compress):
    """benchmarks/out keeps a finished run's log compressed, RUN/metrics.jsonl.xz (.gz before):
    the leaderboard and the benchmark scripts read it as the plain file a live run writes."""
    log = "".join(json.dumps({"epoch": e, "nll_oracle": v}) + "\n"
                  for e, v in enumerate([9.5, 9.1, 9.2]))
    results = tmp_path / "runs/results.jsonl"
    plain, kept = tmp_path / "runs/plain-seed0", tmp_path / "runs/kept-seed0"
    for run in plain, kept:
        run.mkdir(parents=True)
    (plain / "metrics.jsonl").write_text(log)
    (kept / f"metrics.jsonl{suffix}").write_bytes(compress(log.encode()))
    results.write_text('{"run": "plain-seed0", "nll_oracle": 9.2}\n'
                       '{"run": "kept-seed0", "nll_oracle": 9.2}\n')
    assert cli_runs.read_log(kept) == cli_runs.read_log(plain) == list(map(json.loads,
                                                                            log.splitlines()))
    source = Source("runs/results.jsonl", lambda r: True, ("nll_oracle",), "nll_oracle")
    m = leaderboard.measure(tmp_path, source)
    assert m.best == [(9.1, plain / "metrics.jsonl", "nll_oracle"),
                      (9.1, kept / f"metrics.jsonl{suffix}", "nll_oracle")]
    assert m.evaluations == [2, 2]
    assert leaderboard.check_traces([(Row("a", "d", "m ↓", None, source, "", ""), m, [])]) == []
    # A live run's plain log is read before a kept copy beside it; a kept JSON file reads too.
    (kept / "metrics.jsonl").write_text(log.replace("9.1", "8.1"))
    assert leaderboard.best_logged(kept, "nll_oracle")[0][:2] == (8.1, kept / "metrics.jsonl")
    (tmp_path / f"results.json{suffix}").write_bytes(compress(b'{"rows": [1, 2]}'))
    assert leaderboard.load(tmp_path / "results.json") == [{"rows": [1, 2]}]


@pytest.mark.parametrize("key", sorted(PAPERS))
def test_each_paper_number_names_its_paper_table_and_setup(key):
    entry = PAPERS[key]
    assert {"paper", "table", "value", "setup", "selection"} <= set(entry)
    assert entry["selection"] in ("best", "last", "unknown")
    if entry.get("comparable", True) is False:
        assert entry["why"]


def test_a_new_result_record_keeps_its_fields_and_gains_its_provenance(tmp_path):
    record = {"run": "mle-seed0", "threads": 1, "nll_oracle": 9.0}
    cli_runs.append_result(tmp_path / "results.jsonl", record)
    written = leaderboard.load(tmp_path / "results.jsonl")[0]
    assert {k: written[k] for k in record} == record
    assert set(written["provenance"]) == {"commit", "dirty", "date", "cpu", "cores",
                                          "torch_threads", "torch", "device", "command"}
    assert written["provenance"]["torch_threads"] == 1  # the runs' threads, not this process's
