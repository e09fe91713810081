import json

import pytest
import torch
from test_cli import assert_user_error, cli

from textrl.metrics.diversity import distinct_n, length_stats
from textrl.metrics.nll import nll_test
from textrl.models import LMConfig, RecurrentLM
from textrl.oracle import OracleLSTM


def test_distinct_n_and_lengths():
    samples = [["a", "b", "a", "b"], ["a", "b"], []]
    assert distinct_n(samples, 1) == pytest.approx(2 / 6)
    assert distinct_n(samples, 2) == pytest.approx(2 / 4)  # ab, ba, ab | ab
    assert distinct_n([["a"]], 2) == 0.0
    assert length_stats(samples) == {"length_mean": 2.0, "length_sd": pytest.approx(1.63299, 1e-4),
                                     "length_min": 0, "length_max": 4}
    with pytest.raises(ValueError):
        length_stats([])


def test_nll_test_at_a_temperature():
    corpus = OracleLSTM.random(seed=0, vocab_size=15, seq_len=5).corpus(8, 4, 16, seed=0)
    policy = RecurrentLM(LMConfig(vocab_size=15))
    assert nll_test(policy, corpus.test, temperature=1.0) == pytest.approx(nll_test(policy, corpus.test))
    logits, _ = policy(policy.teacher_inputs(corpus.test.tokens))
    expected = -torch.log_softmax(logits / 0.5, -1).gather(2, corpus.test.tokens[..., None]).mean()
    assert nll_test(policy, corpus.test, temperature=0.5) == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match="temperature"):
        policy.log_prob(corpus.test.tokens, corpus.test.lengths, temperature=0.0)


@pytest.fixture
def text_runs(tmp_path, text_file, sentences, capsys):
    data = text_file(sentences)
    runs = []
    for seed in (0, 1):
        out = tmp_path / f"run{seed}"
        code, _, _ = cli(capsys, "train", "mle", "--data", data, "--out", out, "--epochs", "1",
                         "--seed", seed, "--hidden-dim", "16", "--quiet")
        assert code == 0
        runs.append(out)
    return runs


def test_evaluate_with_references(capsys, tmp_path, text_runs, text_file):
    code, out, _ = cli(capsys, "evaluate", text_runs[0], "--json", "--samples", "50")
    result = json.loads(out)
    assert code == 0 and result["settings"]["references"] == "test split"
    for key in ("bleu2", "bleu4", "bleu5", "sacrebleu4", "self_bleu4", "distinct2", "length_mean",
                "nll_test"):
        assert key in result
    refs = text_file(["the cat sat on a mat", "a dog ran"], "refs.txt")
    code, out, _ = cli(capsys, "evaluate", text_runs[0], "--json", "--samples", "50",
                       "--references", refs, "--seed", "3")
    result = json.loads(out)
    assert result["settings"]["references_count"] == 2 and result["settings"]["seed"] == 3
    assert result["settings"]["sacrebleu_signature"].startswith("nrefs:2|")
    code, again, _ = cli(capsys, "evaluate", text_runs[0], "--json", "--samples", "50",
                         "--references", refs, "--seed", "3")
    assert json.loads(again) == result  # seeded: the same numbers
    (tmp_path / "blank.txt").write_text("\n\n")
    assert_user_error(capsys, "evaluate", text_runs[0], "--references", tmp_path / "blank.txt",
                      match="no usable line")


def test_compare_table_plot_and_refusal(capsys, tmp_path, text_runs, text_file):
    plot = tmp_path / "qd.png"
    code, out, _ = cli(capsys, "compare", *text_runs, "--temperatures", "0.8", "1.2",
                       "--samples", "40", "--plot", plot, "--per-run")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:4] == ["run", "temperature", "bleu4", "self_bleu4"]
    assert len(lines) == 1 + 2 * 2 and plot.stat().st_size > 0
    per_run = [float(line.split()[2]) for line in lines[1:]]  # bleu4 of run0, run0, run1, run1
    # the two runs differ only in their seed: one group, a row per temperature, mean ± sd
    code, out, _ = cli(capsys, "compare", *text_runs, "--temperatures", "0.8", "1.2",
                       "--samples", "40")
    header, *rows = out.splitlines()
    assert header.split()[:5] == ["run", "n", "temperature", "bleu4", "self_bleu4"]
    assert [row.split()[:3] for row in rows] == [[str(tmp_path / "run*"), "2", t]
                                                 for t in ("0.8000", "1.2000")]
    for i, row in enumerate(rows):  # the cells are rounded to 4 decimals
        assert float(row.split()[3]) == pytest.approx((per_run[i] + per_run[i + 2]) / 2, abs=2e-4)
    other = text_file(["some other text here", "and more of it"] * 10, "other.txt")
    cli(capsys, "train", "mle", "--data", other, "--out", tmp_path / "other", "--epochs", "1",
        "--quiet")
    assert_user_error(capsys, "compare", text_runs[0], tmp_path / "other",
                      match="trained on different data (data differ)")
    assert_user_error(capsys, "compare", *text_runs, "--temperatures", "-1",
                      match="--temperature must be a finite number >= 0")
    assert_user_error(capsys, "compare", *text_runs, "--temperatures", "0", "1",
                      match="temperatures > 0")
    assert_user_error(capsys, "compare", *text_runs, "--plot", tmp_path / "no" / "qd.png",
                      match="its folder does not exist")


def test_maskgan_metrics_scorer_and_ngrams_found_in_validation(capsys, tmp_path, text_runs):
    from textrl.metrics.diversity import ngrams_found

    assert ngrams_found([["a", "b", "c", "a", "b"]], [["a", "b"]], 2) == pytest.approx(2 / 4)
    assert ngrams_found([["a"]], [["a", "b"]], 2) == 0.0
    code, out, _ = cli(capsys, "evaluate", text_runs[0], "--json", "--samples", "40",
                       "--scorer", text_runs[1])
    result = json.loads(out)
    assert code == 0 and result["scorer_nll"] > 0 and result["settings"]["scorer"]
    # the samples (seed 0, temperature 1) scored by the scorer's own likelihood
    from textrl.data.corpus import Split
    from textrl.device import seeded_generator
    from textrl.training import load_run

    run, scorer = load_run(text_runs[0]), load_run(text_runs[1], with_data=False)
    sample = run.model.sample(40, run.corpus.max_len, 1.0, generator=seeded_generator(0))
    expected = nll_test(scorer.model, Split(sample.tokens, sample.lengths))
    assert result["scorer_nll"] == pytest.approx(expected, rel=1e-6)
    assert result["scorer_ppl"] == pytest.approx(2.718281828 ** result["scorer_nll"], rel=1e-6)
    assert 0 < result["in_valid1"] <= 1 and result["in_valid4"] <= result["in_valid1"]
    # Scored by itself, the samples' NLL is the model's own: a sanity anchor for the scorer.
    code, out, _ = cli(capsys, "evaluate", text_runs[0], "--json", "--samples", "40",
                       "--scorer", text_runs[0])
    own = json.loads(out)["scorer_nll"]
    assert own != result["scorer_nll"]
    other = tmp_path / "other.txt"
    other.write_text("x y z\nz y x\n" * 10)
    assert cli(capsys, "train", "mle", "--data", other, "--out", tmp_path / "o", "--epochs", "1",
               "--quiet")[0] == 0
    assert_user_error(capsys, "evaluate", text_runs[0], "--scorer", tmp_path / "o",
                      match="another vocabulary")
