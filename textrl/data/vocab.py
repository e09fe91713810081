"""Vocabulary: ids <-> tokens, with the special tokens PAD, BOS, EOS, UNK.

Two conventions share one mask rule (see :mod:`textrl.data.corpus`):

* text: ``Vocab.from_corpus(...)`` has all four specials; sequences end with EOS.
* oracle: ``Vocab.integers(5000)`` has no specials; sequences have a fixed length and the
  start token is the real token 0, as in SeqGAN.

The special ids are whatever the vocabulary says they are: ``from_corpus`` puts them first,
and a tokenizer with its own ids (every Hugging Face tokenizer, where some may be missing or
shared, as GPT-2's one ``<|endoftext|>``) gives them with ``specials``.
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
ROLES = ("pad", "bos", "eos", "unk")


class Vocab:
    """Maps tokens to ids and back.

    >>> v = Vocab.from_corpus([["a", "b", "a"]], min_freq=1)
    >>> v.encode(["a", "z"])
    [4, 3]
    >>> v.decode([4, 5, v.eos_id])
    ['a', 'b']
    """

    def __init__(self, tokens: Sequence[str], has_specials: bool = True,
                 specials: dict[str, int | None] | None = None):
        """``specials`` maps ``pad``, ``bos``, ``eos``, ``unk`` to their ids (a missing or
        ``None`` one: the vocabulary has none); without it, a vocabulary ``has_specials`` finds
        the tokens ``<pad> <bos> <eos> <unk>`` wherever they are."""
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary tokens must be unique")
        if specials is None:
            missing = [t for t in SPECIALS if t not in self.stoi] if has_specials else []
            if missing:
                raise ValueError(f"a vocabulary with specials needs the tokens {SPECIALS}; "
                                 f"{', '.join(missing)} missing")
            specials = ({role: self.stoi[t] for role, t in zip(ROLES, SPECIALS, strict=True)}
                        if has_specials else {})
        unknown = set(specials) - set(ROLES)
        if unknown:
            raise ValueError(f"special roles are {ROLES}, got {sorted(unknown)}")
        self.specials = {role: specials.get(role) for role in ROLES}
        for role, index in self.specials.items():
            if index is not None and not 0 <= index < len(self.itos):
                raise ValueError(f"the {role} id {index} is outside the vocabulary of "
                                 f"{len(self.itos)}")
        self.has_specials = any(i is not None for i in self.specials.values())

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

    @property
    def pad_id(self) -> int | None:
        return self.specials["pad"]

    @property
    def bos_id(self) -> int | None:
        return self.specials["bos"]

    @property
    def eos_id(self) -> int | None:
        return self.specials["eos"]

    @property
    def unk_id(self) -> int | None:
        return self.specials["unk"]

    @property
    def fill_id(self) -> int:
        """What fills a sequence after its end: PAD, or 0 in a vocabulary without one (the
        length, not the id, says where a sequence ends)."""
        return self.pad_id if self.pad_id is not None else 0

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token strings to ids; unknown tokens map to UNK (a KeyError without one)."""
        if self.unk_id is not None:
            unk = self.unk_id
            return [self.stoi.get(t, unk) for t in tokens]
        return [self.stoi[t] for t in tokens]

    def decode(self, ids: Iterable[int], stream: bool = False) -> list[str]:
        """Ids to token strings, stopping at EOS and skipping PAD and BOS; with ``stream``
        (a window of a token stream, where EOS separates sentences) every id is a word."""
        if stream:
            return [self.itos[int(i)] for i in ids]
        out = []
        skipped = {self.pad_id, self.bos_id} - {None}
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i not in skipped:
                out.append(self.itos[i])
        return out

    def texts(self, tokens: torch.Tensor, lengths: torch.Tensor, tokenizer: Tokenizer,
              stream: bool = False) -> list[str]:
        """The rows of ``tokens [N, T]``, each cut at its length (``lengths [N]``), decoded
        (see ``decode`` for ``stream``) and joined back into text by ``tokenizer``."""
        return [tokenizer.detokenize(self.decode(row[:length], stream)) for row, length in
                zip(tokens.tolist(), lengths.tolist(), strict=True)]

    def to_dict(self) -> dict:
        return {"tokens": self.itos, "has_specials": self.has_specials,
                "specials": self.specials}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        """What ``to_dict`` wrote (a vocabulary saved before ``specials`` existed has them
        first, or none)."""
        return cls(data["tokens"], has_specials=bool(data["has_specials"]),
                   specials=data.get("specials"))

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: not a textrl vocabulary file ({exc}); "
                            "point to the vocab.json of a textrl run") from exc
