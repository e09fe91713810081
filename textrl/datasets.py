"""What a run trains and is evaluated on: the data settings, the corpus they build, and the
fingerprints that tell whether two runs (or a run and its files) saw the same data.

Every trainer and evaluation reads data through here, so a run directory is loadable from
its checkpoint's ``DataConfig`` alone, whatever kind of run wrote it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from textrl.data import arithmetic
from textrl.data.corpus import Corpus, encode_sentences, file_sha256, read_lines
from textrl.data.grammar import MAX_TOKENS, sample_expressions
from textrl.data.tokenizers import HF_PREFIX, TOKENIZERS, get_tokenizer, is_pretrained
from textrl.data.vocab import SPECIALS, Vocab
from textrl.errors import UserError
from textrl.oracle import OracleLSTM
from textrl.settings import check_at_least, check_choices


@dataclass
class DataConfig:
    """An oracle's samples or text files, and how text becomes token ids."""

    oracle: str | None = None
    """'random', 'random:SEED' or the SeqGAN authors' target_params pickle"""
    data: str | None = None
    """training text, one sentence per line (UTF-8); 'grammar' (embedded arithmetic
    expressions, textrl.data.grammar; sizes from --n-train/--n-valid/--n-test); or
    'arithmetic[:DIGITS]' (worked additions such as 17+25=42, textrl.data.arithmetic: the
    first --n-train of the training problems, 500 held-out test problems); exclusive with
    --oracle"""
    valid: str | None = None
    """validation text (default: 10% carved from --data)"""
    test: str | None = None
    """test text (default: 10% carved from --data)"""
    tokenizer: str = "word"
    """word (whitespace), char, 13a (sacrebleu's: punctuation split off words), or hf:PATH (a
    Hugging Face tokenizer's folder or GGUF file: its whole vocabulary and special tokens)"""
    keep_spaces: bool = False
    """char tokenizer: spaces are tokens"""
    lowercase: bool = False
    """lowercase the text"""
    max_len: int = 50
    """text: max tokens per sentence including EOS (an oracle fixes its own length)"""
    overlong: str = "truncate"
    """truncate or drop sentences over --max-len"""
    min_freq: int = 1
    """drop tokens rarer than this from the vocabulary"""
    max_vocab: int | None = None
    """vocabulary size cap, specials included"""
    n_train: int = 10_000
    """oracle (or grammar) samples to train on"""
    n_valid: int = 1_000
    """oracle (or grammar) samples to validate on"""
    n_test: int = 1_000
    """oracle (or grammar) samples to test on"""
    data_seed: int = 0
    """seed of the oracle samples and of the train/valid/test split"""
    windows: int | None = None
    """text as one token stream, EOS after each sentence, cut into fixed windows of this many
    tokens (MaskGAN's PTB: 20); unset: one sentence per sequence"""

    @property
    def embedded(self) -> bool:
        """Data textrl draws itself (the grammar, arithmetic) rather than reads from files."""
        return self.data == GRAMMAR or arithmetic.is_arithmetic(self.data)

    @property
    def oracle_is_random(self) -> bool:
        return self.oracle is not None and (self.oracle == "random" or self.oracle.startswith("random:"))

    def __post_init__(self) -> None:
        if self.oracle is not None and self.data is not None:
            raise UserError("give --oracle or --data, not both")
        if self.oracle is None and self.data is None:
            self.oracle = "random"
        if self.embedded and (self.valid or self.test or self.windows):
            raise UserError(f"--data {self.data} draws its own splits: drop --valid, --test and "
                            "--windows")
        if arithmetic.is_arithmetic(self.data):
            arithmetic.digits_of(self.data)
            if self.tokenizer == DataConfig.tokenizer:
                # one token a character, decoded without spaces between them: 17+25=42
                self.tokenizer, self.keep_spaces = "char", True
            if self.tokenizer != "char":
                raise UserError(f"--data {self.data} is read a character at a time: drop "
                                f"--tokenizer {self.tokenizer}")
        if self.data == GRAMMAR and self.max_len < 4:
            raise UserError(f"--data grammar needs --max-len >= 4 (3 tokens and EOS), got "
                            f"{self.max_len}")
        # Absolute paths: the run directory works from any folder it is used from.
        for name in ("data", "valid", "test") if not self.embedded else ():
            if getattr(self, name) is not None:
                setattr(self, name, absolute(getattr(self, name)))
        if self.oracle is not None and not self.oracle_is_random:
            self.oracle = absolute(self.oracle)
        check_choices(self, {"overlong": ("truncate", "drop")})
        if is_pretrained(self.tokenizer):
            self._check_pretrained()
        else:
            check_choices(self, {"tokenizer": TOKENIZERS})
        check_at_least(self, 1, ("n_train", "n_valid", "n_test", "max_len", "min_freq"))
        if self.windows is not None:
            if self.oracle is not None:
                raise UserError("--windows cuts text into fixed windows; an oracle's samples "
                                "already have a fixed length (drop --windows)")
            check_at_least(self, 2, ("windows",))

    def _check_pretrained(self) -> None:
        """A pretrained tokenizer reads text files into its own fixed vocabulary."""
        self.tokenizer = HF_PREFIX + absolute(self.tokenizer[len(HF_PREFIX):])
        source = self.oracle or (self.data if self.embedded else None)
        if source is not None:
            what = f"the embedded {source}" if self.embedded else f"the {source} oracle"
            raise UserError(f"text tokenised with {self.tokenizer} needs a text file (--data "
                            f"FILE); {what} brings its own vocabulary")
        if self.min_freq != 1 or self.max_vocab is not None:
            raise UserError(f"--tokenizer {self.tokenizer} keeps its tokenizer's whole vocabulary: "
                            "drop --min-freq and --max-vocab")


GRAMMAR = "grammar"  # --data grammar: the embedded expression dataset


def absolute(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def build_corpus(config: DataConfig) -> tuple[Corpus, OracleLSTM | None]:
    """The run's data: oracle samples, or text files split and encoded."""
    if config.oracle is not None:
        oracle = OracleLSTM.from_spec(config.oracle)
        return oracle.corpus(config.n_train, config.n_valid, config.n_test, config.data_seed), oracle
    if config.data == GRAMMAR:
        return grammar_corpus(config), None
    if arithmetic.is_arithmetic(config.data):
        return arithmetic_corpus(config), None
    tokenizer = get_tokenizer(config.tokenizer, config.keep_spaces)
    corpus = Corpus.from_files(
        config.data, tokenizer, config.valid, config.test, config.lowercase, config.max_len,
        config.overlong, config.min_freq, config.max_vocab, seed=config.data_seed,
        windows=config.windows, vocab=tokenizer.vocabulary())
    return corpus, None


def policy_tokenizer(policy: Any) -> str | None:
    """The tokenizer a policy family's settings fix for its data (``policy.data_tokenizer()``,
    e.g. ``hf:DIR`` for a pretrained model that reads its own tokenizer's ids), or ``None``:
    the data's own ``--tokenizer``."""
    declared = getattr(policy, "data_tokenizer", None)
    return declared() if declared is not None else None


def tokenised_for(policy: Any, data: DataConfig) -> DataConfig:
    """``data`` tokenised the way the policy family's settings ``policy`` require: with the
    tokenizer it fixes (:func:`policy_tokenizer`), which a ``--tokenizer`` of the user's may
    not contradict; as given when it fixes none."""
    fixed = policy_tokenizer(policy)
    if fixed is None or data.tokenizer == fixed:
        return data
    if data.tokenizer != DataConfig.tokenizer:
        raise UserError(f"--tokenizer {data.tokenizer}: this policy reads text tokenised by its "
                        f"own tokenizer ({fixed}); drop --tokenizer")
    return replace(data, tokenizer=fixed)


def grammar_corpus(config: DataConfig) -> Corpus:
    """The embedded expressions (:mod:`textrl.data.grammar`): one seeded stream cut into
    train, valid and test, at most ``max_len - 1`` tokens each (and at most MAX_TOKENS)."""
    longest = min(MAX_TOKENS, config.max_len - 1)
    sizes = (config.n_train, config.n_valid, config.n_test)
    expressions = sample_expressions(sum(sizes), config.data_seed, longest)
    parts = [expressions[:sizes[0]], expressions[sizes[0]:sizes[0] + sizes[1]],
             expressions[sizes[0] + sizes[1]:]]
    vocab = Vocab.from_corpus(parts[0])
    return Corpus(vocab, *(encode_sentences(part, vocab, longest + 1) for part in parts))


def arithmetic_corpus(config: DataConfig) -> Corpus:
    """Worked additions (:mod:`textrl.data.arithmetic`): the first ``n_train`` of the training
    pool, ``n_valid`` of the validation pairs and every held-out test pair, over the fixed
    vocabulary of digits, ``+`` and ``=``."""
    digits = arithmetic.digits_of(config.data)
    pool, valid, test = arithmetic.split_pairs(digits, config.data_seed)
    if config.n_train > len(pool):
        raise UserError(f"--n-train {config.n_train}: --data {config.data} has {len(pool)} "
                        "training problems")
    vocab = Vocab(list(SPECIALS) + list(arithmetic.SYMBOLS))
    width = arithmetic.max_tokens(digits) + 1
    parts = (pool[:config.n_train], valid[:config.n_valid], test)
    return Corpus(vocab, *(encode_sentences([arithmetic.worked(p) for p in part], vocab, width)
                           for part in parts))


def report_changes(corpus: Corpus) -> None:
    """Tell the user, on stderr, which lines were truncated, dropped or blank."""
    for report in corpus.reports:
        if report.truncated or report.dropped or report.blank:
            tqdm.write(report.summary(), file=sys.stderr)


def data_fingerprint(config: DataConfig) -> dict[str, str]:
    """sha256 of each data file, so evaluation can refuse data that changed since training."""
    if config.oracle is not None or config.embedded:
        return {}
    paths = [config.data, config.valid, config.test]
    return {str(Path(p).resolve()): file_sha256(p) for p in paths if p is not None}


def data_identity(config: DataConfig, oracle: OracleLSTM | None) -> dict:
    """What two runs must share for their numbers to be comparable."""
    if oracle is not None:
        return {"oracle": oracle.source, "n_train": config.n_train, "n_valid": config.n_valid,
                "n_test": config.n_test, "data_seed": config.data_seed}
    if config.embedded:
        return {"data": config.data, "n_train": config.n_train, "n_valid": config.n_valid,
                "n_test": config.n_test, "max_len": config.max_len, "data_seed": config.data_seed}
    return {"data": data_fingerprint(config), "tokenizer": config.tokenizer,
            "keep_spaces": config.keep_spaces, "lowercase": config.lowercase,
            "max_len": config.max_len, "data_seed": config.data_seed, "windows": config.windows}


def read_references(path: str | Path, config: DataConfig) -> list[list[str]]:
    """A references file tokenized like the run's training data."""
    tokenizer = get_tokenizer(config.tokenizer, config.keep_spaces)
    refs = [tokenizer.tokenize(line.lower() if config.lowercase else line)
            for line in read_lines(path)]
    refs = [r for r in refs if r]
    if not refs:
        raise UserError(f"{path}: no usable line (all lines are blank); give references one "
                        "sentence per line")
    return refs
