"""The SeqGAN synthetic-data oracle: an LSTM with known parameters that plays "real data".

Equations (SeqGAN's ``target_lstm``; row vectors, ``x`` the embedded previous token)::

    i = σ(x Wi + h Ui + bi)    f = σ(x Wf + h Uf + bf)    o = σ(x Wo + h Uo + bo)
    c = f * c + i * tanh(x Wc + h Uc + bc)                 h = o * tanh(c)
    p(next token) = softmax(h W + b)

The start token is 0 (also a real token), the initial state is zero and every sequence has
``seq_len`` tokens.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from textrl.data.corpus import Corpus, Split
from textrl.data.vocab import Vocab
from textrl.errors import DataError
from textrl.models.generation import continue_sequences

GATES = ("i", "f", "o", "c")
PARAM_NAMES = ("embedding", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wo", "Uo", "bo",
               "Wc", "Uc", "bc", "W_out", "b_out")

# The only callables a SeqGAN parameter pickle needs: numpy array reconstruction.
_RECONSTRUCT = np.zeros(1).__reduce__()[0]
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _Refused(pickle.UnpicklingError):
    pass


class _NumpyArraysOnly(pickle.Unpickler):
    """Refuses every global but numpy array reconstruction, so no pickled code can run."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused(f"refused to load {module}.{name}") from None


def load_numpy_pickle(path: str | os.PathLike) -> object:
    """Unpickle a file that may hold only numpy arrays (in lists, tuples, dicts)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the SeqGAN oracle parameter pickle "
                        "(e.g. target_params_py3.pkl) or 'random'")
    try:
        # latin1 reads the numpy buffers of pickles written by Python 2 (SeqGAN's original).
        return _NumpyArraysOnly(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except _Refused as exc:
        raise DataError(f"{path}: not a plain parameter pickle ({exc}); only numpy arrays "
                        "are accepted, never code") from None
    except Exception as exc:  # a corrupt or truncated pickle raises many kinds of error
        raise DataError(f"{path}: unreadable pickle ({type(exc).__name__}: {exc})") from None


class OracleLSTM:
    """SeqGAN's oracle: ``sample`` plays the real data, ``nll`` scores a generator's samples.

    >>> oracle = OracleLSTM.random(seed=0, vocab_size=50, seq_len=8)
    >>> x = oracle.sample(4, generator=torch.Generator().manual_seed(0))
    >>> x.shape, oracle.nll(x) > 0
    (torch.Size([4, 8]), True)
    """

    def __init__(self, params: dict[str, torch.Tensor], seq_len: int = 20, source: str = ""):
        self.embedding = params["embedding"]
        self.W = torch.cat([params[f"W{g}"] for g in GATES], dim=1)  # [E, 4H]
        self.U = torch.cat([params[f"U{g}"] for g in GATES], dim=1)  # [H, 4H]
        self.b = torch.cat([params[f"b{g}"] for g in GATES])  # [4H]
        self.W_out, self.b_out = params["W_out"], params["b_out"]  # [H, V], [V]
        self.seq_len = seq_len
        self.start_id = 0
        self.source = source

    @property
    def vocab_size(self) -> int:
        return self.embedding.shape[0]

    @property
    def device(self) -> torch.device:
        return self.embedding.device

    def to(self, device: torch.device | str) -> OracleLSTM:
        """The oracle with every parameter on ``device`` (itself, moved)."""
        for name in ("embedding", "W", "U", "b", "W_out", "b_out"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    @property
    def hidden_dim(self) -> int:
        return self.U.shape[0]

    @classmethod
    def random(cls, seed: int = 0, vocab_size: int = 5000, emb_dim: int = 32,
               hidden_dim: int = 32, seq_len: int = 20) -> OracleLSTM:
        """Every parameter ~ N(0, 1), as in the SeqGAN paper, from ``seed``."""
        g = torch.Generator().manual_seed(seed)
        shapes = {"embedding": (vocab_size, emb_dim), "W_out": (hidden_dim, vocab_size),
                  "b_out": (vocab_size,)}
        for gate in GATES:
            shapes |= {f"W{gate}": (emb_dim, hidden_dim), f"U{gate}": (hidden_dim, hidden_dim),
                       f"b{gate}": (hidden_dim,)}
        params = {name: torch.randn(shapes[name], generator=g) for name in PARAM_NAMES}
        return cls(params, seq_len, source=f"random:{seed}")

    @classmethod
    def from_seqgan_pickle(cls, path: str | os.PathLike, seq_len: int = 20) -> OracleLSTM:
        """Read the SeqGAN authors' ``target_params`` pickle (15 numpy arrays)."""
        arrays = load_numpy_pickle(path)
        if not (isinstance(arrays, (list, tuple)) and len(arrays) == len(PARAM_NAMES)
                and all(isinstance(a, np.ndarray) for a in arrays)):
            raise DataError(f"{path}: expected a list of {len(PARAM_NAMES)} numpy arrays "
                            f"({', '.join(PARAM_NAMES)}); is this SeqGAN's target_params file?")
        params = {n: torch.from_numpy(np.asarray(a, dtype=np.float32)) for n, a in
                  zip(PARAM_NAMES, arrays, strict=True)}
        v, e = params["embedding"].shape
        h = params["Ui"].shape[0]
        expected = {"W_out": (h, v), "b_out": (v,)}
        for gate in GATES:
            expected |= {f"W{gate}": (e, h), f"U{gate}": (h, h), f"b{gate}": (h,)}
        for name, shape in expected.items():
            if tuple(params[name].shape) != shape:
                raise DataError(f"{path}: parameter {name} has shape "
                                f"{tuple(params[name].shape)}, expected {shape}")
        return cls(params, seq_len, source=str(Path(path).resolve()))

    @classmethod
    def from_spec(cls, spec: str) -> OracleLSTM:
        """``"random"`` / ``"random:SEED"`` or a path to the authors' pickle."""
        if spec == "random" or spec.startswith("random:"):
            seed = spec.partition(":")[2]
            if seed and not seed.isdigit():
                raise DataError(f"oracle {spec!r}: the seed after 'random:' must be an integer")
            return cls.random(seed=int(seed or 0))
        return cls.from_seqgan_pickle(spec)

    pad_id = 0
    eos_id = None

    def _step(self, token: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        z = self.embedding[token] @ self.W + h @ self.U + self.b
        i, f, o, g = z.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h @ self.W_out + self.b_out, h, c

    def step(self, token: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        """``token [B]`` -> ``(logits [B, V], (h, c))``: what the generation loop drives."""
        logits, h, c = self._step(token, *state)
        return logits, (h, c)

    @staticmethod
    def select_state(state: tuple[torch.Tensor, torch.Tensor], rows: slice | torch.Tensor):
        return tuple(s[rows] for s in state)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               chunk: int = 512) -> torch.Tensor:
        """``LongTensor[n, seq_len]`` drawn from the oracle."""
        # Chunks of 512 rows keep the [chunk, V] softmax in cache (4096 rows run 3x slower).
        out = []
        for lo in range(0, n, chunk):
            b = min(chunk, n - lo)
            zeros = self.b.new_zeros(b, self.hidden_dim)
            first = torch.full((b,), self.start_id, dtype=torch.long, device=self.device)
            logits, state = self.step(first, (zeros, zeros.clone()))
            tokens = torch.zeros(b, self.seq_len, dtype=torch.long, device=self.device)
            continue_sequences(self, logits, state, tokens, torch.zeros_like(first),
                               generator=generator)
            out.append(tokens)
        return torch.cat(out) if out else torch.empty(0, self.seq_len, dtype=torch.long,
                                                     device=self.device)

    @torch.no_grad()
    def log_prob(self, tokens: torch.Tensor, chunk: int = 512) -> torch.Tensor:
        """``[N, T]`` log-probability of each token under the oracle."""
        if tokens.dim() != 2 or tokens.shape[1] > self.seq_len:
            raise ValueError(f"expected tokens [N, T<={self.seq_len}], got {tuple(tokens.shape)}")
        if tokens.numel() and (tokens.min() < 0 or tokens.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size})")
        out = []
        for lo in range(0, tokens.shape[0], chunk):
            x = tokens[lo:lo + chunk].to(self.device)
            h = self.b.new_zeros(x.shape[0], self.hidden_dim)
            c = torch.zeros_like(h)
            prev = torch.full((x.shape[0],), self.start_id, dtype=torch.long, device=self.device)
            cols = []
            for t in range(x.shape[1]):
                logits, h, c = self._step(prev, h, c)
                cols.append(torch.log_softmax(logits, 1).gather(1, x[:, t:t + 1]).squeeze(1))
                prev = x[:, t]
            out.append(torch.stack(cols, dim=1))
        return torch.cat(out) if out else torch.empty(0, tokens.shape[1], device=self.device)

    def nll(self, tokens: torch.Tensor) -> float:
        """SeqGAN's NLL-oracle: mean per-token negative log-likelihood of ``tokens [N, T]``."""
        if tokens.shape[0] == 0:
            raise ValueError("cannot score an empty batch")
        return float(-self.log_prob(tokens).mean())

    def corpus(self, n_train: int = 10_000, n_valid: int = 1_000, n_test: int = 1_000,
               seed: int = 0) -> Corpus:
        """Oracle samples as a corpus: fixed length, no EOS, start token 0."""
        g = torch.Generator().manual_seed(seed)
        full = torch.full((1,), self.seq_len, dtype=torch.long)

        def split(n: int) -> Split:
            return Split(self.sample(n, generator=g), full.expand(n).clone())

        return Corpus(Vocab.integers(self.vocab_size), split(n_train), split(n_valid), split(n_test))
