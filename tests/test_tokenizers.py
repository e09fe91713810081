import pytest

from textrl.data import TOKENIZERS, PunctTokenizer, get_tokenizer


def test_punctuation_is_split_off_words():
    assert PunctTokenizer().tokenize("Hello, world!") == ["Hello", ",", "world", "!"]


def test_13a_keeps_numbers_whole():
    # 13a leaves a comma or period between digits alone; a splitter that cut every
    # punctuation mark would break "3.5" and "1,000" apart.
    assert PunctTokenizer().tokenize("3.5 cups, 1,000 ways.") == [
        "3.5", "cups", ",", "1,000", "ways", "."]


def test_detokenize_joins_with_single_spaces():
    tok = PunctTokenizer()
    assert tok.detokenize(tok.tokenize("Hello,   world!")) == "Hello , world !"


@pytest.mark.parametrize("line", ["", "   "])
def test_empty_line_gives_no_tokens(line):
    assert PunctTokenizer().tokenize(line) == []


def test_get_tokenizer_13a():
    tok = get_tokenizer("13a")
    assert isinstance(tok, PunctTokenizer)
    assert tok.name == "13a"
    assert tok.tokenize("yes.") == ["yes", "."]


def test_every_listed_name_is_served():
    assert TOKENIZERS == ("word", "char", "13a")
    assert [get_tokenizer(name).name for name in TOKENIZERS] == list(TOKENIZERS)


def test_unknown_name_lists_the_tokenizers():
    with pytest.raises(ValueError, match="unknown tokenizer 'bpe'") as error:
        get_tokenizer("bpe")
    assert all(name in str(error.value) for name in TOKENIZERS)
