import os
import pickle

import numpy as np
import pytest
import torch
from conftest import ORACLE_PICKLE, needs_oracle_file

from textrl.errors import DataError
from textrl.oracle import PARAM_NAMES, OracleLSTM


def numpy_log_prob(arrays, tokens):
    """SeqGAN's target_lstm written out in numpy, one gate at a time."""
    emb, wi, ui, bi, wf, uf, bf, wo, uo, bo, wc, uc, bc, w_out, b_out = (
        np.asarray(a, dtype=np.float64) for a in arrays)

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    n, length = tokens.shape
    h = np.zeros((n, ui.shape[0]))
    c = np.zeros_like(h)
    prev = np.zeros(n, dtype=np.int64)  # start token 0
    out = np.zeros((n, length))
    for t in range(length):
        x = emb[prev]
        i = sigmoid(x @ wi + h @ ui + bi)
        f = sigmoid(x @ wf + h @ uf + bf)
        o = sigmoid(x @ wo + h @ uo + bo)
        c = f * c + i * np.tanh(x @ wc + h @ uc + bc)
        h = o * np.tanh(c)
        logits = h @ w_out + b_out
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        out[:, t] = logp[np.arange(n), tokens[:, t]]
        prev = tokens[:, t]
    return out


def oracle_arrays(oracle):
    g = torch.Generator().manual_seed(5)
    shapes = {"embedding": (30, 4), "W_out": (3, 30), "b_out": (30,)}
    for gate in "ifoc":
        shapes |= {f"W{gate}": (4, 3), f"U{gate}": (3, 3), f"b{gate}": (3,)}
    return [torch.randn(shapes[name], generator=g).numpy() for name in PARAM_NAMES]


def test_equations_match_numpy_on_small_oracle(tmp_path):
    arrays = oracle_arrays(None)
    path = tmp_path / "small.pkl"
    path.write_bytes(pickle.dumps(arrays))
    oracle = OracleLSTM.from_seqgan_pickle(path, seq_len=7)
    tokens = oracle.sample(50, generator=torch.Generator().manual_seed(0))
    expected = numpy_log_prob(arrays, tokens.numpy())
    np.testing.assert_allclose(oracle.log_prob(tokens).numpy(), expected, rtol=1e-4, atol=1e-5)
    assert oracle.nll(tokens) == pytest.approx(-expected.mean(), rel=1e-5)


@needs_oracle_file
def test_authors_oracle_matches_numpy_and_its_floor():
    with open(ORACLE_PICKLE, "rb") as f:
        arrays = pickle.load(f, encoding="latin1")  # trusted file, test-only reference
    oracle = OracleLSTM.from_seqgan_pickle(ORACLE_PICKLE)
    assert (oracle.vocab_size, oracle.hidden_dim, oracle.seq_len) == (5000, 32, 20)
    tokens = oracle.sample(2000, generator=torch.Generator().manual_seed(0))
    expected = numpy_log_prob(arrays, tokens[:200].numpy())
    np.testing.assert_allclose(oracle.log_prob(tokens[:200]).numpy(), expected, atol=1e-4)
    # The oracle's own samples score its entropy rate: ~5.75 in the LeakGAN table.
    assert oracle.nll(tokens) == pytest.approx(5.75, abs=0.05)


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_refuses_pickle_that_would_run_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps([np.zeros(3), RunsCode(marker)]))
    with pytest.raises(DataError, match=r"refused to load (posix|os|nt)\.system"):
        OracleLSTM.from_seqgan_pickle(path)
    assert not marker.exists()


def test_bad_pickles(tmp_path):
    wrong = tmp_path / "wrong.pkl"
    wrong.write_bytes(pickle.dumps([np.zeros(3)] * 4))
    with pytest.raises(DataError, match="expected a list of 15"):
        OracleLSTM.from_seqgan_pickle(wrong)
    shapes = oracle_arrays(None)
    shapes[1] = np.zeros((5, 5), dtype=np.float32)
    bad_shape = tmp_path / "shape.pkl"
    bad_shape.write_bytes(pickle.dumps(shapes))
    with pytest.raises(DataError, match="Wi has shape"):
        OracleLSTM.from_seqgan_pickle(bad_shape)
    truncated = tmp_path / "cut.pkl"
    truncated.write_bytes(pickle.dumps(oracle_arrays(None))[:100])
    with pytest.raises(DataError, match="unreadable pickle"):
        OracleLSTM.from_seqgan_pickle(truncated)
    with pytest.raises(DataError, match="no such file"):
        OracleLSTM.from_seqgan_pickle(tmp_path / "missing.pkl")


def test_random_oracle_is_seeded():
    a = OracleLSTM.random(seed=1, vocab_size=40, seq_len=5)
    b = OracleLSTM.random(seed=1, vocab_size=40, seq_len=5)
    c = OracleLSTM.random(seed=2, vocab_size=40, seq_len=5)
    assert torch.equal(a.W_out, b.W_out) and not torch.equal(a.W_out, c.W_out)
    x = a.sample(8, generator=torch.Generator().manual_seed(3))
    y = b.sample(8, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x, y) and x.shape == (8, 5)
    assert OracleLSTM.from_spec("random:7").source == "random:7"
    with pytest.raises(DataError, match="integer"):
        OracleLSTM.from_spec("random:x")


def test_oracle_corpus_is_fixed_length_without_eos():
    corpus = OracleLSTM.random(seed=0, vocab_size=20, seq_len=6).corpus(30, 5, 5, seed=0)
    assert corpus.start_id == 0 and corpus.eos_id is None
    assert corpus.train.tokens.shape == (30, 6) and corpus.train.mask.all()


def test_log_prob_rejects_bad_tokens():
    oracle = OracleLSTM.random(seed=0, vocab_size=20, seq_len=6)
    with pytest.raises(ValueError, match="lie in"):
        oracle.log_prob(torch.tensor([[25, 1]]))
    with pytest.raises(ValueError, match="expected tokens"):
        oracle.log_prob(torch.zeros(2, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        oracle.nll(torch.zeros(0, 6, dtype=torch.long))
