import json
import subprocess
import sys

import pytest

from textrl.cli import main


def cli(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def assert_user_error(capsys, *args, match):
    code, out, err = cli(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("textrl: error: "), err
    assert match in lines[0] and "Traceback" not in err
    return lines[0]


def train_text(tmp_path, data, *extra):
    return ("train", "mle", "--data", data, "--out", tmp_path / "run", "--quiet", *extra)


def test_missing_file(capsys, tmp_path):
    line = assert_user_error(capsys, *train_text(tmp_path, tmp_path / "missing.txt"),
                             match="missing.txt: no such file")
    assert "check the path" in line


def test_empty_binary_non_utf8_and_blank_files(capsys, tmp_path):
    cases = {"empty.txt": (b"", "the file is empty"),
             "bin.txt": (b"\x89PNG\r\n\x1a\n\x00\x00", "bin.txt:3: binary"),
             "latin.txt": ("ok\nna\xefve\n".encode("latin1"), "latin.txt:2: not valid UTF-8"),
             "blank.txt": (b"\n  \n\n", "no usable line (all lines are blank)")}
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        assert_user_error(capsys, *train_text(tmp_path, tmp_path / name), match=message)


def test_overlong_lines(capsys, tmp_path, text_file, sentences):
    data = text_file([*sentences, "a " * 30])
    code, out, err = cli(capsys, *train_text(tmp_path, data, "--max-len", "12", "--epochs", "1"))
    assert code == 0 and "1 truncated to the max length" in err
    data = text_file(["a " * 30, "b " * 30], "long.txt")
    assert_user_error(capsys, *train_text(tmp_path, data, "--max-len", "5", "--overlong",
                                          "drop", "--out", tmp_path / "r2"),
                      match="all 2 lines are longer than the max length")


def test_other_user_errors(capsys, tmp_path):
    assert_user_error(capsys, "train", "mle", "--oracle", "random", "--data", "x", "--out",
                      tmp_path, match="not both")
    assert_user_error(capsys, "train", "mle", "--oracle", tmp_path / "nope.pkl", "--out",
                      tmp_path / "r", match="nope.pkl: no such file")
    assert_user_error(capsys, "train", "mle", "--out", tmp_path / "r", "--resume",
                      match="no checkpoint.pt to resume")
    assert_user_error(capsys, "evaluate", tmp_path / "nothing", match="no such run directory")
    assert_user_error(capsys, "sample", tmp_path, "-n", "0", match="must be >= 1")
    (tmp_path / "c.yaml").write_text("epochz: 3\n")
    assert_user_error(capsys, "train", "mle", "--config", tmp_path / "c.yaml", "--out",
                      tmp_path / "r", match="--epochz is not a setting of `textrl train mle`")
    assert_user_error(capsys, "train", "mle", "--tokenizer", "bpe", "--out", tmp_path / "r",
                      match="--tokenizer 'bpe'")
    code, _, err = cli(capsys, "train", "mle")  # argparse: missing --out
    assert code == 2 and "--out" in err


def test_console_script_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "textrl.cli", "train", "mle", "--data",
                           "missing.txt", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"textrl: error: {tmp_path / 'missing.txt'}: no such file; check the path"]


def test_text_run_end_to_end(capsys, tmp_path, text_file, sentences):
    data = text_file(sentences)
    (tmp_path / "c.yaml").write_text("hidden_dim: 16\nemb_dim: 8\n")
    code, out, _ = cli(capsys, *train_text(tmp_path, data, "--epochs", "2", "--config",
                                           tmp_path / "c.yaml", "--eval-every", "1"))
    assert code == 0 and "nll_valid" in json.loads(out)
    run = tmp_path / "run"
    assert {"config.yaml", "vocab.json", "checkpoint.pt", "metrics.jsonl",
            "learning_curve.png"} <= {p.name for p in run.iterdir()}
    code, out, _ = cli(capsys, "sample", run, "-n", "4", "--temperature", "0.8")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4
    vocab = set(" ".join(sentences).split()) | {"<unk>"}
    assert all(set(line.split()) <= vocab for line in lines)
    code, out, _ = cli(capsys, "evaluate", run, "--json")
    result = json.loads(out)
    assert code == 0 and result["nll_test"] > 0 and "nll_oracle" not in result
    assert result["settings"]["config"]["hidden_dim"] == 16
    code, out, _ = cli(capsys, *train_text(tmp_path, data, "--epochs", "3", "--resume"))
    assert code == 0 and len((run / "metrics.jsonl").read_text().splitlines()) == 3
    data.write_text("changed\n" * 20)
    assert_user_error(capsys, "evaluate", run, match="data files changed")


def test_oracle_run_end_to_end(capsys, tmp_path):
    run = tmp_path / "o"
    code, out, _ = cli(capsys, "train", "mle", "--oracle", "random", "--epochs", "1",
                       "--n-train", "64", "--eval-samples", "32", "--seed", "2", "--out", run,
                       "--quiet")
    assert code == 0
    code, out, _ = cli(capsys, "evaluate", run, "--json", "--samples", "100")
    result = json.loads(out)
    assert result["nll_oracle"] > 5 and result["settings"]["samples"] == 100
    code, out, _ = cli(capsys, "sample", run, "-n", "2")
    assert [len(line.split()) for line in out.splitlines()] == [20, 20]
