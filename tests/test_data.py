import pytest
import torch

from textrl.data import CharTokenizer, Corpus, Vocab, WordTokenizer, length_mask, read_lines
from textrl.data.corpus import LoadReport, encode_sentences, tokenize_lines
from textrl.data.tokenizers import get_tokenizer
from textrl.errors import DataError


@pytest.mark.parametrize("line", ["the cat sat", "a", "x y  z"])
def test_word_tokenizer_round_trip(line):
    tok = WordTokenizer()
    assert tok.detokenize(tok.tokenize(line)) == " ".join(line.split())


def test_char_tokenizer_round_trips():
    poem = "秦 川 雄 帝 宅 ， 函 谷 壮 皇 居 。"
    assert CharTokenizer().detokenize(CharTokenizer().tokenize(poem)) == poem
    assert CharTokenizer().tokenize(poem)[:3] == ["秦", "川", "雄"]
    spaced = CharTokenizer(keep_spaces=True)
    assert spaced.detokenize(spaced.tokenize("hello  big world")) == "hello big world"
    assert "▁" in spaced.tokenize("a b")


def test_vocab_specials_and_frequency_order():
    v = Vocab.from_corpus([["b", "a", "b"], ["c", "b", "a"]], min_freq=2)
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)
    assert v.itos[4:] == ["b", "a"]  # c is rarer than min_freq
    assert v.encode(["a", "c"]) == [5, v.unk_id]
    assert v.decode([5, 4, v.eos_id, 5]) == ["a", "b"]
    assert v.decode([v.bos_id, 4, v.pad_id]) == ["b"]
    assert len(Vocab.from_corpus([["a", "b", "c"]], max_size=5)) == 5


def test_vocab_texts_cut_each_row_at_its_length():
    v = Vocab.from_corpus([["b", "a", "b"]])  # b = 4, a = 5
    tokens = torch.tensor([[4, 5, v.eos_id, 4], [5, v.eos_id, 4, 4]])
    tokenizer = get_tokenizer("word")
    assert v.texts(tokens, torch.tensor([2, 4]), tokenizer) == ["b a", "a"]
    # a window of a token stream: EOS is a word, and only the length ends the row
    assert v.texts(tokens, torch.tensor([4, 3]), tokenizer, stream=True) == [
        "b a <eos> b", "a <eos> b"]
    assert v.texts(tokens[:0], torch.tensor([], dtype=torch.long), tokenizer) == []


def test_vocab_json_round_trip_and_bad_file(tmp_path):
    v = Vocab.from_corpus([["中", "文", "中"]])
    v.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json").itos == v.itos
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="bad.json"):
        Vocab.load(tmp_path / "bad.json")


def test_integer_vocab_has_no_specials():
    v = Vocab.integers(5)
    assert v.pad_id is None and v.eos_id is None
    assert v.decode([0, 4, 0]) == ["0", "4", "0"]  # 0 is a real token, never skipped


def test_mask_eos_terminated_text():
    v = Vocab.from_corpus([["a", "b", "c"]])
    split = encode_sentences([["a"], ["a", "b", "c"]], v, max_len=5)
    assert split.lengths.tolist() == [2, 4]  # EOS counts
    assert split.tokens[0].tolist() == [v.stoi["a"], v.eos_id, 0, 0, 0]
    assert split.mask.tolist() == [[True, True, False, False, False],
                                   [True, True, True, True, False]]


def test_mask_fixed_length_oracle_sequences():
    tokens = torch.tensor([[0, 3, 0], [2, 0, 1]])  # 0 is a real token here
    mask = length_mask(torch.full((2,), 3), 3)
    assert mask.all()
    assert length_mask(torch.tensor([0]), 3).tolist() == [[False, False, False]]
    assert tokens[mask].numel() == 6


def test_read_lines_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_lines(tmp_path / "missing.txt")
    with pytest.raises(DataError, match="is a directory"):
        read_lines(tmp_path)
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_lines(tmp_path / "empty.txt")
    (tmp_path / "bin.txt").write_bytes(b"ok\nok\n\x00\x01\x02")
    with pytest.raises(DataError, match=r"bin.txt:3: binary"):
        read_lines(tmp_path / "bin.txt")
    (tmp_path / "latin.txt").write_bytes("fine\ncaf\xe9\n".encode("latin1"))
    with pytest.raises(DataError, match=r"latin.txt:2: not valid UTF-8.*iconv"):
        read_lines(tmp_path / "latin.txt")


def test_overlong_lines_counted():
    report = LoadReport("x")
    out = tokenize_lines(["a b c d", "a", "", "a b c"], WordTokenizer(), report, max_tokens=2)
    assert out == [["a", "b"], ["a"], ["a", "b"]]
    assert (report.lines, report.blank, report.truncated) == (4, 1, 2)
    report = LoadReport("x")
    out = tokenize_lines(["a b c d", "a"], WordTokenizer(), report, max_tokens=2, overlong="drop")
    assert out == [["a"]] and report.dropped == 1
    assert "1 over the max length dropped" in report.summary()
    with pytest.raises(DataError, match="no usable line"):
        tokenize_lines(["a b c"], WordTokenizer(), LoadReport("y"), max_tokens=1, overlong="drop")
    with pytest.raises(DataError, match="all lines are blank"):
        tokenize_lines(["", "  "], WordTokenizer(), LoadReport("z"))


def test_corpus_seeded_split(text_file, sentences):
    path = text_file(sentences)
    a = Corpus.from_files(path, WordTokenizer(), seed=3)
    b = Corpus.from_files(path, WordTokenizer(), seed=3)
    c = Corpus.from_files(path, WordTokenizer(), seed=4)
    assert torch.equal(a.test.tokens, b.test.tokens)
    assert not torch.equal(a.test.tokens, c.test.tokens)
    assert (len(a.train), len(a.valid), len(a.test)) == (48, 6, 6)
    assert a.start_id == a.vocab.bos_id and a.eos_id == a.vocab.eos_id
    decoded = {" ".join(a.vocab.decode(row)) for s in (a.train, a.valid, a.test)
               for row in s.tokens.tolist()}
    assert decoded == set(sentences)


def test_corpus_separate_files_and_unknown_tokens(text_file):
    train = text_file(["a b", "b c"], "train.txt")
    test = text_file(["a z"], "test.txt")
    valid = text_file(["c"], "valid.txt")
    corpus = Corpus.from_files(train, WordTokenizer(), valid=valid, test=test)
    assert corpus.test.tokens[0, 1] == corpus.vocab.unk_id  # vocab from train only
    assert len(corpus.train) == 2


def test_corpus_too_small_to_split(text_file):
    with pytest.raises(DataError, match="too few"):
        Corpus.from_files(text_file(["a b", "c"]), WordTokenizer())


def test_a_tokenizer_s_own_special_ids_make_a_vocabulary():
    # GPT-2 style: one <|endoftext|> serves as BOS and EOS, no PAD, no UNK, not at ids 0-3.
    tokens = ["hello", "world", "<|endoftext|>", "!"]
    vocab = Vocab(tokens, specials={"bos": 2, "eos": 2})
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (None, 2, 2, None)
    assert vocab.has_specials and vocab.fill_id == 0
    assert vocab.decode([0, 1, 2, 3]) == ["hello", "world"]  # stops at EOS
    with pytest.raises(KeyError):
        vocab.encode(["unknown"])  # no UNK to map it to
    again = Vocab.from_dict(vocab.to_dict())
    assert again.specials == vocab.specials and again.itos == tokens
    # specials found wherever they stand; a vocabulary saved before `specials` still loads
    moved = Vocab(["a", "<pad>", "<bos>", "<eos>", "<unk>"])
    assert (moved.pad_id, moved.bos_id, moved.eos_id, moved.unk_id) == (1, 2, 3, 4)
    old = Vocab.from_dict({"tokens": ["<pad>", "<bos>", "<eos>", "<unk>", "a"],
                           "has_specials": True})
    assert (old.pad_id, old.eos_id) == (0, 2) and old.encode(["b"]) == [3]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        Vocab(tokens, specials={"eos": 9})
    with pytest.raises(ValueError, match="<unk> missing"):
        Vocab(["<pad>", "<bos>", "<eos>", "a"])
