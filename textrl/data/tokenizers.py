"""Tokenizers: a line of text <-> a list of token strings."""

from __future__ import annotations

from typing import Protocol

from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

SPACE = "▁"  # stands for a space when spaces are tokens, so no token is blank


class Tokenizer(Protocol):
    name: str

    def tokenize(self, line: str) -> list[str]: ...

    def detokenize(self, tokens: list[str]) -> str: ...


class WordTokenizer:
    """Whitespace-separated words.

    >>> WordTokenizer().tokenize("the  cat sat")
    ['the', 'cat', 'sat']
    """

    name = "word"

    def tokenize(self, line: str) -> list[str]:
        return line.split()

    def detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


class CharTokenizer:
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


class PunctTokenizer:
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


TOKENIZERS = ("word", "char", "13a")


def get_tokenizer(name: str, keep_spaces: bool = False) -> Tokenizer:
    """One of ``TOKENIZERS``; ``keep_spaces`` applies to ``"char"`` only."""
    if name == "word":
        return WordTokenizer()
    if name == "char":
        return CharTokenizer(keep_spaces=keep_spaces)
    if name == "13a":
        return PunctTokenizer()
    raise ValueError(f"unknown tokenizer {name!r}: use one of {', '.join(TOKENIZERS)}")
