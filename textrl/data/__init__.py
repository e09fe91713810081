"""Vocabulary, tokenizers and corpora in textrl's one mask convention."""

from textrl.data.corpus import Corpus, LoadReport, Split, length_mask, read_lines
from textrl.data.tokenizers import CharTokenizer, Tokenizer, WordTokenizer, get_tokenizer
from textrl.data.vocab import Vocab

__all__ = ["CharTokenizer", "Corpus", "LoadReport", "Split", "Tokenizer", "Vocab",
           "WordTokenizer", "get_tokenizer", "length_mask", "read_lines"]
