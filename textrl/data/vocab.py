"""Vocabulary: ids <-> tokens, with the special tokens PAD, BOS, EOS, UNK.

Two conventions share one mask rule (see :mod:`textrl.data.corpus`):

* text: ``Vocab.from_corpus(...)`` has all four specials; sequences end with EOS.
* oracle: ``Vocab.integers(5000)`` has no specials; sequences have a fixed length and the
  start token is the real token 0, as in SeqGAN.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from textrl.data.tokenizers import Tokenizer
from textrl.errors import DataError

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


class Vocab:
    """Maps tokens to ids and back.

    >>> v = Vocab.from_corpus([["a", "b", "a"]], min_freq=1)
    >>> v.encode(["a", "z"])
    [4, 3]
    >>> v.decode([4, 5, v.eos_id])
    ['a', 'b']
    """

    def __init__(self, tokens: Sequence[str], has_specials: bool = True):
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary tokens must be unique")
        self.has_specials = has_specials
        if has_specials and tuple(self.itos[:4]) != SPECIALS:
            raise ValueError(f"a vocabulary with specials must start with {SPECIALS}")

    @classmethod
    def from_corpus(
        cls, sentences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocab:
        """Most frequent tokens first (ties broken alphabetically, so the order is stable).

        ``max_size`` counts the specials too.
        """
        counts = Counter(tok for sentence in sentences for tok in sentence)
        ranked = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        ranked = [t for t in ranked if t not in SPECIALS]
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(SPECIALS))]
        return cls(list(SPECIALS) + ranked)

    @classmethod
    def integers(cls, size: int) -> Vocab:
        """The oracle's vocabulary: tokens "0".."size-1", no specials."""
        return cls([str(i) for i in range(size)], has_specials=False)

    def __len__(self) -> int:
        return len(self.itos)

    def _special(self, index: int) -> int | None:
        return index if self.has_specials else None

    @property
    def pad_id(self) -> int | None:
        return self._special(0)

    @property
    def bos_id(self) -> int | None:
        return self._special(1)

    @property
    def eos_id(self) -> int | None:
        return self._special(2)

    @property
    def unk_id(self) -> int | None:
        return self._special(3)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token strings to ids; unknown tokens map to UNK (a KeyError without specials)."""
        if self.has_specials:
            unk = self.unk_id
            return [self.stoi.get(t, unk) for t in tokens]
        return [self.stoi[t] for t in tokens]

    def decode(self, ids: Iterable[int], stream: bool = False) -> list[str]:
        """Ids to token strings, stopping at EOS and skipping PAD and BOS; with ``stream``
        (a window of a token stream, where EOS separates sentences) every id is a word."""
        if stream:
            return [self.itos[int(i)] for i in ids]
        out = []
        for i in ids:
            i = int(i)
            if self.has_specials:
                if i == self.eos_id:
                    break
                if i in (self.pad_id, self.bos_id):
                    continue
            out.append(self.itos[i])
        return out

    def texts(self, tokens: torch.Tensor, lengths: torch.Tensor, tokenizer: Tokenizer,
              stream: bool = False) -> list[str]:
        """The rows of ``tokens [N, T]``, each cut at its length (``lengths [N]``), decoded
        (see ``decode`` for ``stream``) and joined back into text by ``tokenizer``."""
        return [tokenizer.detokenize(self.decode(row[:length], stream)) for row, length in
                zip(tokens.tolist(), lengths.tolist(), strict=True)]

    def to_dict(self) -> dict:
        return {"tokens": self.itos, "has_specials": self.has_specials}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        return cls(data["tokens"], has_specials=bool(data["has_specials"]))

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: not a textrl vocabulary file ({exc}); "
                            "point to the vocab.json of a textrl run") from exc
