"""Tokenizers: a line of text <-> a list of token strings."""

from __future__ import annotations

from typing import Protocol

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


def get_tokenizer(name: str, keep_spaces: bool = False) -> Tokenizer:
    """``"word"`` or ``"char"``."""
    if name == "word":
        return WordTokenizer()
    if name == "char":
        return CharTokenizer(keep_spaces=keep_spaces)
    raise ValueError(f"unknown tokenizer {name!r}: use 'word' or 'char'")
