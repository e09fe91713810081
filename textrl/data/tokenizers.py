"""Tokenizers: a line of text <-> a list of token strings.

Text tokenizers (``word``, ``char``, ``13a``) leave the vocabulary to be counted from the
training data. A pretrained model's tokenizer (``hf:PATH``, :class:`HFTokenizer`) brings its
own: its ``vocabulary()`` is the run's, whatever the data holds.
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from textrl.errors import DataError, UserError

if TYPE_CHECKING:
    from textrl.data.vocab import Vocab

SPACE = "▁"  # stands for a space when spaces are tokens, so no token is blank
HF_PREFIX = "hf:"  # --tokenizer hf:PATH: a Hugging Face tokenizer folder or GGUF file


class Tokenizer(Protocol):
    """What turns a line into tokens and back: ``tokenize(line) -> tokens`` and
    ``detokenize(tokens) -> line``; ``name`` is what ``--tokenizer`` calls it."""

    name: str

    def tokenize(self, line: str) -> list[str]: ...

    def detokenize(self, tokens: list[str]) -> str: ...

    def vocabulary(self) -> Vocab | None:
        """The tokenizer's own fixed vocabulary, or ``None``: count one from the data."""
        ...


class TextTokenizer:
    """A tokenizer whose vocabulary is counted from the training data."""

    def vocabulary(self) -> None:
        return None


class WordTokenizer(TextTokenizer):
    """Whitespace-separated words.

    >>> WordTokenizer().tokenize("the  cat sat")
    ['the', 'cat', 'sat']
    """

    name = "word"

    def tokenize(self, line: str) -> list[str]:
        return line.split()

    def detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


class CharTokenizer(TextTokenizer):
    """One token per character.

    By default whitespace only separates characters, so space-separated text such as the
    SeqGAN quatrains ("秦 川 雄 帝") becomes one token per character and decodes back
    space-separated. With ``keep_spaces=True`` a run of whitespace becomes one "▁" token
    and text decodes back with single spaces (character-level English).

    >>> CharTokenizer().tokenize("秦 川 雄")
    ['秦', '川', '雄']
    >>> CharTokenizer(keep_spaces=True).tokenize("ab  c")
    ['a', 'b', '▁', 'c']
    """

    name = "char"

    def __init__(self, keep_spaces: bool = False):
        self.keep_spaces = keep_spaces

    def tokenize(self, line: str) -> list[str]:
        if not self.keep_spaces:
            return [ch for ch in line if not ch.isspace()]
        return list(SPACE.join(line.split()))

    def detokenize(self, tokens: list[str]) -> str:
        if not self.keep_spaces:
            return " ".join(tokens)
        return "".join(tokens).replace(SPACE, " ")


class PunctTokenizer(TextTokenizer):
    """Words with punctuation split off: sacrebleu's ``13a`` tokenizer (mteval-v13a, WMT's).

    Published text-GAN corpora come with punctuation split off words; taking the splitting
    from a kept library, rather than a hand-written regex, keeps it a fixed, citable
    standard. Like the word tokenizer's, ``detokenize`` is lossy: it joins tokens with
    single spaces, so "Hello, world!" decodes as "Hello , world !", and 13a's own
    normalisation (``&amp;`` -> ``&``, "-" + newline dropped) is not undone.

    >>> PunctTokenizer().tokenize("Hello, world!")
    ['Hello', ',', 'world', '!']
    >>> PunctTokenizer().detokenize(['Hello', ',', 'world', '!'])
    'Hello , world !'
    """

    name = "13a"

    def __init__(self) -> None:
        self._13a = Tokenizer13a()

    def tokenize(self, line: str) -> list[str]:
        # 13a returns one string with single spaces between tokens, stripped at both ends.
        return self._13a(line).split()

    def detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


def import_transformers() -> ModuleType:
    """The ``transformers`` package, or a UserError saying how to install it."""
    try:
        import transformers
    except ImportError:
        raise UserError("a Hugging Face model or tokenizer needs the hf extra: pip install "
                        "'textrl[hf]'") from None
    return transformers


def hf_source(path: str | Path) -> tuple[str, dict[str, Any]]:
    """``(folder, from_pretrained keyword arguments)`` of a saved Hugging Face folder, or of
    a GGUF file (read through ``gguf_file``); nothing is ever downloaded."""
    path = Path(path)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise DataError(f"{path}: no such GGUF file")
        return str(path.parent), {"gguf_file": path.name, "local_files_only": True}
    if not path.is_dir():
        raise DataError(f"{path}: no such folder; give the folder of a Hugging Face model "
                        "and tokenizer saved with save_pretrained, or a GGUF file")
    return str(path), {"local_files_only": True}


@functools.lru_cache(maxsize=4)
def _load_hf_tokenizer(path: str) -> Any:
    folder, kwargs = hf_source(path)
    try:
        return import_transformers().AutoTokenizer.from_pretrained(folder, **kwargs)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read a Hugging Face tokenizer there ({exc})") from None


class HFTokenizer:
    """A Hugging Face tokenizer (``--tokenizer hf:PATH``): ``PATH`` is a folder saved with
    ``save_pretrained`` or a GGUF file. Its whole vocabulary and its special ids become the
    run's (a tokenizer without a BOS starts sentences with its EOS, as GPT-2's one
    ``<|endoftext|>`` does); text decodes with its own detokenisation, so it round-trips."""

    def __init__(self, path: str):
        self.name = HF_PREFIX + path
        self.tokenizer = _load_hf_tokenizer(path)

    def tokenize(self, line: str) -> list[str]:
        return self.tokenizer.tokenize(line)

    def detokenize(self, tokens: list[str]) -> str:
        return self.tokenizer.convert_tokens_to_string(tokens)

    def vocabulary(self) -> Vocab:
        """Every id of the tokenizer, added tokens included, with its special ids."""
        from textrl.data.vocab import Vocab

        tok = self.tokenizer
        if tok.eos_token_id is None:
            raise DataError(f"{self.name}: the tokenizer has no EOS token to end a sentence with")
        tokens = tok.convert_ids_to_tokens(list(range(len(tok))))
        bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        return Vocab(tokens, specials={"pad": tok.pad_token_id, "bos": bos,
                                       "eos": tok.eos_token_id, "unk": tok.unk_token_id})


TOKENIZERS = ("word", "char", "13a")


def is_pretrained(name: str) -> bool:
    """Whether the tokenizer ``name`` brings its own vocabulary (``hf:PATH``)."""
    return name.startswith(HF_PREFIX)


def get_tokenizer(name: str, keep_spaces: bool = False) -> Tokenizer:
    """One of ``TOKENIZERS``, or ``hf:PATH``; ``keep_spaces`` applies to ``"char"`` only."""
    if is_pretrained(name):
        return HFTokenizer(name[len(HF_PREFIX):])
    if name == "word":
        return WordTokenizer()
    if name == "char":
        return CharTokenizer(keep_spaces=keep_spaces)
    if name == "13a":
        return PunctTokenizer()
    raise ValueError(f"unknown tokenizer {name!r}: use one of {', '.join(TOKENIZERS)} or "
                     f"{HF_PREFIX}PATH")
