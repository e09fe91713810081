"""Text files -> padded id tensors, and the one mask convention of textrl.

A batch of sequences is ``tokens: LongTensor[B, T]`` and ``lengths: LongTensor[B]``.
Position ``t`` of row ``b`` is real when ``t < lengths[b]`` (``length_mask``); the rest is
padding, whatever id it holds. The start token is never stored: models feed ``start_id``
before position 0. This serves both conventions:

* EOS-terminated text: the EOS id is the last real position of each row.
* fixed-length oracle sequences (SeqGAN): no EOS, every length equals T, and the start
  token is the real token 0.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from tqdm import tqdm

from textrl.data.tokenizers import Tokenizer
from textrl.data.vocab import Vocab
from textrl.errors import DataError, plural


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``BoolTensor[B, max_len]``: True on real positions (``t < lengths[b]``)."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_lines(path: str | os.PathLike) -> list[str]:
    """The lines of a UTF-8 text file, or a DataError that names the file, line and fix."""
    path = Path(path)
    if not path.exists():
        hint = "" if path.is_absolute() else f" (relative paths start at {Path.cwd()})"
        raise DataError(f"{path}: no such file; check the path{hint}")
    if path.is_dir():
        raise DataError(f"{path}: is a directory; give a text file with one sentence per line")
    raw = path.read_bytes()
    if not raw:
        raise DataError(f"{path}: the file is empty; give a text file with one sentence per line")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise DataError(f"{path}:{line}: binary data (a NUL byte); give a UTF-8 text file "
                        "with one sentence per line")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                        "convert the file, e.g. `iconv -f latin1 -t utf-8`") from None
    return text.splitlines()


@dataclass
class LoadReport:
    """What happened to the lines of one file."""

    path: str
    lines: int = 0
    blank: int = 0
    truncated: int = 0
    dropped: int = 0

    def summary(self) -> str:
        kept = self.lines - self.blank - self.dropped
        parts = [f"{self.path}: {plural(kept, 'sentence')} from {plural(self.lines, 'line')}"]
        if self.blank:
            parts.append(f"{self.blank} blank skipped")
        if self.truncated:
            parts.append(f"{self.truncated} truncated to the max length")
        if self.dropped:
            parts.append(f"{self.dropped} over the max length dropped")
        return ", ".join(parts)


def tokenize_lines(
    lines: Sequence[str],
    tokenizer: Tokenizer,
    report: LoadReport,
    lowercase: bool = False,
    max_tokens: int | None = None,
    overlong: str = "truncate",
) -> list[list[str]]:
    """Tokenized sentences; blank lines skipped, over-long ones cut or dropped (counted)."""
    if overlong not in ("truncate", "drop"):
        raise ValueError("overlong must be 'truncate' or 'drop'")
    out = []
    for line in lines:
        report.lines += 1
        tokens = tokenizer.tokenize(line.lower() if lowercase else line)
        if not tokens:
            report.blank += 1
            continue
        if max_tokens is not None and len(tokens) > max_tokens:
            if overlong == "drop":
                report.dropped += 1
                continue
            report.truncated += 1
            tokens = tokens[:max_tokens]
        out.append(tokens)
    if not out:
        why = "all lines are blank" if report.blank == report.lines else (
            f"all {plural(report.dropped, 'line')} are longer than the max length")
        raise DataError(f"{report.path}: no usable line ({why}); give sentences one per line"
                        " or raise --max-len")
    return out


@dataclass
class Split:
    """Padded sequences: ``tokens [N, T]``, ``lengths [N]``."""

    tokens: torch.Tensor
    lengths: torch.Tensor

    def __len__(self) -> int:
        return self.tokens.shape[0]

    @property
    def mask(self) -> torch.Tensor:
        return length_mask(self.lengths, self.tokens.shape[1])

    def to(self, device: torch.device | str) -> Split:
        return Split(self.tokens.to(device), self.lengths.to(device))

    def batches(self, batch_size: int, generator: torch.Generator,
                part: Callable[[int], slice] | None = None
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch: ``(tokens [b, w], lengths [b])`` batches of ``batch_size`` rows in an
        order drawn from ``generator``, each as wide as its longest sentence; ``part(b)``
        keeps a slice of each batch's rows (a process's share under torchrun)."""
        order = torch.randperm(len(self), generator=generator, device=self.tokens.device)
        for lo in range(0, len(self), batch_size):
            idx = order[lo:lo + batch_size]
            if part is not None:
                idx = idx[part(len(idx))]
            lengths = self.lengths[idx]
            width = int(lengths.max()) if len(lengths) else self.tokens.shape[1]
            yield self.tokens[idx, :width], lengths


def stream_windows(sentences: Sequence[Sequence[str]], vocab: Vocab, window: int,
                   source: str | os.PathLike = "the data") -> Split:
    """The sentences as one stream of ids, EOS after each, cut into ``[N, window]`` rows."""
    ids = [i for sentence in sentences for i in [*vocab.encode(sentence), vocab.eos_id]]
    rows = len(ids) // window
    if rows == 0:
        raise DataError(f"{source}: {len(ids)} tokens make no window of {window}; give more "
                        "text or a shorter --windows")
    tokens = torch.tensor(ids[:rows * window]).view(rows, window)
    return Split(tokens, torch.full((rows,), window))


def encode_sentences(sentences: Sequence[Sequence[str]], vocab: Vocab, max_len: int) -> Split:
    """Token lists -> ``Split``; each sentence gets EOS, so ``max_len`` must leave room for it."""
    tokens = torch.full((len(sentences), max_len), vocab.fill_id, dtype=torch.long)
    lengths = torch.empty(len(sentences), dtype=torch.long)
    for i, sentence in enumerate(sentences):
        ids = vocab.encode(sentence) + [vocab.eos_id]
        if len(ids) > max_len:
            raise ValueError(f"sentence {i} has {len(ids)} ids with EOS, over max_len={max_len}")
        tokens[i, : len(ids)] = torch.tensor(ids)
        lengths[i] = len(ids)
    return Split(tokens, lengths)


@dataclass
class Corpus:
    """Train / valid / test splits over one vocabulary, in textrl's mask convention."""

    vocab: Vocab
    train: Split
    valid: Split
    test: Split
    reports: list[LoadReport] = field(default_factory=list)
    stream: bool = False  # fixed-length windows of one token stream: EOS is an ordinary token

    @property
    def max_len(self) -> int:
        """The padded width of every split: tokens incl. EOS for text, the oracle's length."""
        return self.train.tokens.shape[1]

    @property
    def start_id(self) -> int:
        """Fed before position 0: BOS for text, the real token 0 for the oracle (SeqGAN)."""
        return self.vocab.bos_id if self.vocab.bos_id is not None else 0

    @property
    def eos_id(self) -> int | None:
        """What ends a sequence; ``None`` for windows of a stream (they have a fixed length
        and EOS inside them separates sentences)."""
        return None if self.stream else self.vocab.eos_id

    def to(self, device: torch.device | str) -> Corpus:
        """The corpus with every split on ``device``."""
        return replace(self, train=self.train.to(device), valid=self.valid.to(device),
                       test=self.test.to(device))

    @classmethod
    def from_files(
        cls,
        train: str | os.PathLike,
        tokenizer: Tokenizer,
        valid: str | os.PathLike | None = None,
        test: str | os.PathLike | None = None,
        lowercase: bool = False,
        max_len: int = 50,
        overlong: str = "truncate",
        min_freq: int = 1,
        max_size: int | None = None,
        split_fractions: tuple[float, float] = (0.1, 0.1),
        seed: int = 0,
        windows: int | None = None,
        vocab: Vocab | None = None,
    ) -> Corpus:
        """Load one-sentence-per-line UTF-8 files.

        ``max_len`` counts EOS. A split whose file is not given is carved from the train
        file by ``split_fractions`` (valid, test) after a shuffle seeded with ``seed``.
        The vocabulary is ``vocab`` when given (a pretrained tokenizer's, fixed whatever the
        data holds), else counted from the training split only. With ``windows=N`` each split
        is one token stream, EOS after every sentence, cut into rows of N tokens (the last
        partial row dropped; ``max_len`` then does not apply): MaskGAN's PTB.
        """
        if max_len < 2:
            raise DataError(f"max length {max_len} leaves no room for a token and EOS; use >= 2")
        if windows is not None:
            max_len, overlong = 1 << 30, "truncate"  # whole sentences go into the stream
        files = {"train": train, "valid": valid, "test": test}
        reports, parts = [], {}
        for name, path in tqdm(files.items(), desc="reading the data", unit="file", leave=False,
                               delay=2.0):
            if path is None:
                continue
            report = LoadReport(str(path))
            parts[name] = tokenize_lines(read_lines(path), tokenizer, report, lowercase,
                                         max_len - 1, overlong)
            reports.append(report)
        missing = [name for name in ("valid", "test") if name not in parts]
        if missing:
            sentences = parts["train"]
            order = list(range(len(sentences)))
            random.Random(seed).shuffle(order)
            sizes = {"valid": split_fractions[0], "test": split_fractions[1]}
            start = 0
            for name in missing:
                n = round(sizes[name] * len(sentences))
                if n == 0 or len(sentences) - start - n < 1:
                    raise DataError(f"{train}: {len(sentences)} sentences are too few to carve a "
                                    f"{name} split; give --{name} FILE or more data")
                parts[name] = [sentences[i] for i in order[start:start + n]]
                start += n
            parts["train"] = [sentences[i] for i in sorted(order[start:])]
        if vocab is None:
            vocab = Vocab.from_corpus(parts["train"], min_freq=min_freq, max_size=max_size)
        if windows is not None:
            splits = {name: stream_windows(parts[name], vocab, windows, files[name] or train)
                      for name in files}
            return cls(vocab, splits["train"], splits["valid"], splits["test"], reports, True)
        splits = {name: encode_sentences(parts[name], vocab, max_len) for name in files}
        return cls(vocab, splits["train"], splits["valid"], splits["test"], reports)
