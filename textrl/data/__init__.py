"""Vocabulary, tokenizers and corpora in textrl's one mask convention."""

from textrl.data.corpus import Corpus, LoadReport, Split, length_mask, read_lines
from textrl.data.tokenizers import (
    TOKENIZERS,
    CharTokenizer,
    PunctTokenizer,
    Tokenizer,
    WordTokenizer,
    get_tokenizer,
)
from textrl.data.vocab import Vocab

__all__ = ["TOKENIZERS", "CharTokenizer", "Corpus", "LoadReport", "PunctTokenizer", "Split",
           "Tokenizer", "Vocab", "WordTokenizer", "get_tokenizer", "length_mask", "read_lines"]
