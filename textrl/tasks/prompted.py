"""Prompted generation: a prompt, then ``group_size`` completions of it, each scored by the
reward with the prompt's row (its ``prompt`` and any other columns: an ``answer`` to check,
a ``reference`` to compare with).

Prompts come from a JSON-lines or CSV file (``--prompts FILE``, a ``prompt`` column and any
others), or from the corpus: the first ``--prompt-words`` tokens of a sentence are its
prompt and the rest its ``reference`` completion. A sequence is the prompt followed by the
completion, in textrl's mask convention, so every left-to-right policy reads the prompt as
its own prefix (no context reaches the policy) and only the completion's positions are
actions: an MLE loss counts them, an agent acts on them, a reward pays them.

>>> import torch
>>> from textrl.data.tokenizers import get_tokenizer
>>> from textrl.data.vocab import Vocab
>>> vocab = Vocab.from_corpus([["the", "cat", "sat"]])
>>> task = PromptedTask(PromptedConfig(prompt_words=1), TextCodec(vocab, get_tokenizer("word")))
>>> tokens = torch.tensor([vocab.encode(["the", "cat", "sat"]) + [vocab.eos_id]])
>>> context = task.condition(tokens, torch.tensor([4]), None)
>>> context.rows[0]
{'prompt': 'the', 'reference': 'cat sat'}
>>> task.chosen(tokens, torch.tensor([4]), context).int().tolist()
[[0, 1, 1, 1]]
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch

from textrl.data.corpus import Split, length_mask
from textrl.data.tokenizers import Tokenizer, get_tokenizer
from textrl.data.vocab import Vocab
from textrl.device import device_of, seeded_generator
from textrl.errors import UserError
from textrl.files import read_json_lines
from textrl.metrics.bleu import self_bleu
from textrl.metrics.nll import nll_test
from textrl.models.base import Policy, Sample
from textrl.models.modes import eval_mode
from textrl.oracle import OracleLSTM
from textrl.rewards.reference_bleu import ReferenceBLEU
from textrl.settings import check_at_least
from textrl.tasks.base import Batch, Generate, RealSampler, Task

VALIDATION_PROMPTS = 200  # completions scored at each validation of a corpus-prompted run


class TextCodec:
    """A run's vocabulary and tokenizer: prompts in, completions out as text. ``lowercase``:
    the run's text was lowercased (``--lowercase``), so a prompt is too."""

    def __init__(self, vocab: Vocab, tokenizer: Tokenizer, lowercase: bool = False):
        self.vocab, self.tokenizer, self.lowercase = vocab, tokenizer, lowercase

    def tokenize(self, text: str) -> list[str]:
        return self.tokenizer.tokenize(text.lower() if self.lowercase else text)

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode(self.tokenize(text))

    def prompt_ids(self, text: str, where: str, max_len: int) -> list[int]:
        """``text`` as a prompt's ids, or a UserError that starts with ``where``: an empty
        prompt, one that leaves no room in ``max_len`` for a token and EOS, or a token the
        vocabulary lacks or keeps for itself. An error, not <unk>: the
        policy would complete another prompt than the one written (and the reward, which
        reads the text, would judge it against the written one); a special token typed in
        the text (<eos>, <pad>) would end or hide the prompt."""
        tokens = self.tokenize(text)
        if not tokens:
            raise UserError(f"{where}: an empty prompt; give the text to complete")
        marks = {self.vocab.pad_id, self.vocab.bos_id, self.vocab.eos_id} - {None}
        unknown = dict.fromkeys(t for t in tokens if self.vocab.stoi.get(t) in {None, *marks})
        if unknown:
            shown = ", ".join(repr(self.tokenizer.detokenize([t])) for t in unknown)
            raise UserError(f"{where}: the run's vocabulary has no {shown}; write the prompt "
                            "with the words or characters of its training text")
        if len(tokens) > max_len - 2:
            raise UserError(f"{where} has {len(tokens)} tokens; the run writes at most {max_len} "
                            f"(--max-len), so a prompt may have {max_len - 2}: shorten it")
        return self.vocab.encode(tokens)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.detokenize(self.vocab.decode(ids))


class PromptBatch(NamedTuple):
    """The prompts of a batch, one row per sequence (rows of one group share a prompt).

    - ``tokens [B, P]``: the prompts' ids, left-aligned, padded after ``lengths [B]``;
    - ``group [B]``: which prompt draw the row belongs to (a group baseline's unit);
    - ``rows``: each row's columns as text (``prompt`` and whatever else its source had);
    - ``text``: the run's :class:`~textrl.tasks.prompted.TextCodec` (shared by every row).
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    group: torch.Tensor
    rows: list[dict[str, str]]
    text: TextCodec

    def completions(self, tokens: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        """The text each row of ``tokens [B, T]`` (``lengths [B]``) wrote after its prompt."""
        return [self.text.decode(row[start:length]) for row, start, length in
                zip(tokens.tolist(), self.lengths.tolist(), lengths.tolist(), strict=True)]

    def column(self, name: str) -> list[str]:
        """Every row's ``name`` column (a KeyError names the columns there are)."""
        try:
            return [row[name] for row in self.rows]
        except KeyError:
            raise UserError(f"the prompts have no {name!r} column (they have "
                            f"{', '.join(sorted(self.rows[0]))})") from None

    def repeat(self, k: int) -> PromptBatch:
        """Each row ``k`` times in a row, each prompt its own group."""
        index = torch.arange(len(self.lengths), device=self.lengths.device).repeat_interleave(k)
        return PromptBatch(self.tokens[index], self.lengths[index], index,
                           [self.rows[i] for i in index.tolist()], self.text)


def read_prompts(path: str) -> list[dict[str, str]]:
    """The rows of a JSON-lines (``.jsonl``/``.json``) or CSV file, each with a non-empty
    ``prompt``; every other column is kept as text."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"--prompts {path}: no such file")
    text = file.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV may start with a BOM
    if file.suffix in (".jsonl", ".json"):
        rows = read_json_lines(file, text, '{"prompt": "2+2=", "answer": "4"}')
    elif file.suffix == ".csv":
        rows = list(enumerate(csv.DictReader(text.splitlines()), 2))
    else:
        raise UserError(f"--prompts {path}: give a .jsonl or .csv file")
    if not rows:
        raise UserError(f"--prompts {path}: no prompts in the file")
    out = []
    for number, row in rows:
        if "prompt" not in row:
            raise UserError(f"{path}:{number}: no 'prompt' column (columns: "
                            f"{', '.join(map(str, row)) or 'none'}); name the prompt's column "
                            "'prompt'")
        if not str(row["prompt"] or "").strip():
            raise UserError(f"{path}:{number}: empty prompt; every row needs a prompt")
        out.append({str(k): "" if v is None else str(v) for k, v in row.items()})
    return out


@dataclass
class PromptedConfig:
    """Prompted generation: a prompt, then --group-size completions, scored with the prompt's
    columns."""

    prompts: str | None = None
    """JSON-lines or CSV file with a 'prompt' column (its other columns reach the reward);
    unset: the first --prompt-words tokens of each training sentence, the rest its
    'reference'"""
    prompt_words: int = 3
    """tokens of a corpus sentence that make its prompt (without --prompts, and for MLE)"""
    group_size: int = 4
    """completions per prompt (TRL's num_generations); a group-baseline agent needs >= 2"""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("prompt_words", "group_size"))
        if self.prompts is not None:
            self.prompts = str(Path(self.prompts).expanduser().resolve())
            read_prompts(self.prompts)  # a bad file fails before anything is built


class PromptedTask(Task):
    """Prompts, ``group_size`` completions each; the completion's positions are the actions.

    Rows of one prompt are adjacent and share a ``group`` id, so group baselines (GRPO,
    RLOO) read them from the rollout; Monte-Carlo rollouts do not apply (a completion's
    reward is paid at its last token).
    """

    name = "prompted"
    needs = frozenset({"unconditional", "likelihood"})
    monte_carlo = False

    def __init__(self, config: PromptedConfig, text: TextCodec, max_len: int = 50):
        self.config, self.text, self.group_size = config, text, config.group_size
        self.max_len = max_len
        self.table: PromptBatch | None = None
        if config.prompts is not None:
            self.table = self.encode(read_prompts(config.prompts), max_len, config.prompts)

    def encode(self, rows: list[dict[str, str]], max_len: int, where: str) -> PromptBatch:
        """Prompts as ids, each leaving room in ``max_len`` for a token and EOS."""
        ids = [self.text.prompt_ids(row["prompt"], f"{where}: prompt {number}", max_len)
               for number, row in enumerate(rows, 1)]
        width = max(len(p) for p in ids)
        tokens = torch.full((len(ids), width), self.text.vocab.fill_id, dtype=torch.long)
        for i, prompt in enumerate(ids):
            tokens[i, :len(prompt)] = torch.tensor(prompt)
        lengths = torch.tensor([len(p) for p in ids])
        return PromptBatch(tokens, lengths, torch.arange(len(ids)), rows, self.text)

    def prompt_lengths(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``[B]``: how many leading tokens of each real sentence are its prompt (at least
        its last token, EOS, is left to complete)."""
        return (lengths - 1).clamp(max=self.config.prompt_words).clamp(min=0)

    def condition(self, tokens: torch.Tensor, lengths: torch.Tensor,
                  generator: torch.Generator | None) -> PromptBatch:
        """The prompts of real sentences, each with its ``reference`` completion."""
        prompt_lengths = self.prompt_lengths(tokens, lengths)
        rows = [{"prompt": self.text.decode(row[:p]), "reference": self.text.decode(row[p:n])}
                for row, p, n in zip(tokens.tolist(), prompt_lengths.tolist(), lengths.tolist(),
                                     strict=True)]
        width = max(int(prompt_lengths.max()), 1) if len(lengths) else 1
        prompts = tokens[:, :width] * length_mask(prompt_lengths, width)
        return PromptBatch(prompts, prompt_lengths, torch.arange(len(lengths),
                                                                 device=lengths.device),
                           rows, self.text)

    def chosen(self, tokens: torch.Tensor, lengths: torch.Tensor, context: PromptBatch
               ) -> torch.Tensor:
        return completion_mask(tokens, lengths, context.lengths)

    def scored_positions(self, tokens: torch.Tensor, lengths: torch.Tensor,
                         context: PromptBatch | None = None) -> torch.Tensor:
        """The completions, given their prompts (a real sentence's: after its first
        ``prompt_lengths``)."""
        prompts = self.prompt_lengths(tokens, lengths) if context is None else context.lengths
        return completion_mask(tokens, lengths, prompts.to(tokens.device))

    def draw(self, n: int, real: RealSampler, generator: torch.Generator) -> PromptBatch:
        """``n`` prompts, one group each: from the file, or from real sentences."""
        if self.table is None:
            return self.condition(*real(n), generator)
        index = torch.randint(len(self.table.lengths), (n,), generator=generator,
                              device=generator.device).cpu()
        rows = [self.table.rows[i] for i in index.tolist()]
        device = generator.device
        return PromptBatch(self.table.tokens[index].to(device), self.table.lengths[index].to(device),
                           torch.arange(n, device=device), rows, self.text)

    def contexts(self, n: int, real: RealSampler, generator: torch.Generator
                 ) -> tuple[PromptBatch, torch.Tensor]:
        if n % self.group_size:
            raise UserError(f"a batch of {n} completions (--batch-size, in each torchrun "
                            f"process its share) is not a multiple of --group-size "
                            f"{self.group_size}: every prompt gets --group-size completions, "
                            "all in one process")
        context = self.draw(n // self.group_size, real, generator).repeat(self.group_size)
        positions = torch.arange(self.max_len, device=context.lengths.device)
        return context, positions >= context.lengths[:, None]

    def generate(self, policy: Policy, n: int, max_len: int, context: PromptBatch | None,
                 temperature: float = 1.0, generator: torch.Generator | None = None) -> Sample:
        """Each row's prompt, continued by ``policy``: rows with prompts of one length are
        drawn together, as one prefix."""
        if context is None:
            return super().generate(policy, n, max_len, None, temperature, generator)
        device = device_of(policy)
        tokens = torch.full((n, max_len), policy.pad_id, dtype=torch.long, device=device)
        lengths = torch.zeros(n, dtype=torch.long, device=device)
        log_probs = torch.zeros(n, max_len, device=device)
        prompt_lengths = context.lengths.to(device)
        for length in prompt_lengths.unique().tolist():
            rows = torch.nonzero(prompt_lengths == length).flatten()
            prefix = context.tokens.to(device)[rows, :length] if length else None
            part = policy.sample(len(rows), max_len, temperature, prefix=prefix,
                                 generator=generator)
            tokens[rows], lengths[rows], log_probs[rows] = part
        return Sample(tokens, lengths, log_probs)

    def policy_context(self, context: Any) -> None:
        return None  # the prompt is the sequence's own prefix

    def groups(self, context: PromptBatch | None) -> torch.Tensor | None:
        return None if context is None else context.group

    def pairs(self, n: int, real: RealSampler, generate: Generate, generator: torch.Generator
              ) -> tuple[Batch, Batch, PromptBatch | None]:
        """Real sentences, and completions of their own prompts (rows aligned: GAIL on
        prompted completions); with a prompts file, completions of its prompts (unpaired)."""
        sentences = real(n)
        if self.table is not None:
            return sentences, generate(n, self.draw(n, real, generator)), None
        context = self.condition(*sentences, generator)
        return sentences, generate(n, context), context

    def reported_reward(self, rewards: torch.Tensor, lengths: torch.Tensor,
                        acted: torch.Tensor) -> float:
        """The mean of each completion's reward (summed over its tokens)."""
        return (rewards * acted).sum(1).mean().item()

    def validate(self, policy: Policy, split: Split, oracle: OracleLSTM | None,
                 n_samples: int, seed: int) -> dict[str, float]:
        """``nll_valid``: per completion token of ``split``, prompted by its own prompts; and,
        prompted by the corpus, the completion metrics of ``VALIDATION_PROMPTS`` of them."""
        out = {"nll_valid": self.completion_nll(policy, split)}
        if self.table is None:
            out |= self.completion_metrics(policy, split, min(n_samples, VALIDATION_PROMPTS),
                                           seed)
        return out

    def completion_nll(self, policy: Policy, split: Split) -> float:
        """Mean NLL per completion token of ``split`` (each sentence after its prompt)."""
        return nll_test(policy, split, positions=self.scored_positions(split.tokens,
                                                                        split.lengths))

    def metrics(self, policy: Policy, split: Split, seed: int) -> dict[str, float]:
        """Prompted by the corpus, the completion metrics of up to 1,000 prompts of
        ``split`` (none with a prompts file: it has no references)."""
        return {} if self.table is not None else self.completion_metrics(policy, split, 1000,
                                                                         seed)

    @torch.no_grad()
    def completion_metrics(self, policy: Policy, split: Split, n: int, seed: int
                           ) -> dict[str, float]:
        """Completions of the prompts of the first ``n`` sentences of ``split``, drawn with
        ``seed``: ``completion_bleu4`` (sentence BLEU-4 against each one's own reference,
        averaged), ``completion_self_bleu4`` (each non-empty one against the others) and
        ``completion_length`` (tokens, EOS included)."""
        n = min(n, len(split))
        context = self.condition(split.tokens[:n], split.lengths[:n], None)
        sample = seeded_sample(self, policy, context, self.max_len, seed, temperature=1.0)
        tokenize = self.text.tokenizer.tokenize
        written = [tokenize(text) for text in context.completions(sample.tokens, sample.lengths)]
        written = [words for words in written if words]  # an empty completion has no n-grams
        out = {"completion_bleu4": ReferenceBLEU(4)(sample.tokens, sample.lengths,
                                                    context).mean().item(),
               "completion_length": (sample.lengths - context.lengths).float().mean().item()}
        if len(written) > 1:
            out["completion_self_bleu4"] = self_bleu(written, 4)
        return out

    def sample_contexts(self, split: Split, n: int, generator: torch.Generator) -> PromptBatch:
        """Prompts of random sentences of ``split`` (of the prompts file, when there is one)."""
        def sentences(m: int) -> Batch:
            rows = torch.randint(len(split), (m,), generator=generator, device=generator.device)
            return split.tokens[rows], split.lengths[rows]
        return self.draw(n, sentences, generator)


def completion_mask(tokens: torch.Tensor, lengths: torch.Tensor,
                    prompt_lengths: torch.Tensor) -> torch.Tensor:
    """``BoolTensor[B, T]``: the real positions from each row's prompt length on."""
    positions = torch.arange(tokens.shape[1], device=tokens.device)
    return length_mask(lengths, tokens.shape[1]).bool() & (positions >= prompt_lengths[:, None])


def build_prompted(config: PromptedConfig, *, corpus: Any = None, data: Any = None,
                   **_: Any) -> PromptedTask:
    return PromptedTask(config, codec_of(corpus, data), corpus.max_len)


def codec_of(corpus: Any, data: Any) -> TextCodec:
    """The run's vocabulary and tokenizer (word tokens when the run records none)."""
    if corpus is None:
        raise ValueError("a prompted task is built with the run's corpus")
    if data is None:
        return TextCodec(corpus.vocab, get_tokenizer("word"))
    return TextCodec(corpus.vocab, get_tokenizer(data.tokenizer, data.keep_spaces), data.lowercase)


def seeded_sample(task: PromptedTask, policy: Policy, context: PromptBatch, max_len: int,
                  seed: int, temperature: float) -> Sample:
    """Completions of ``context`` drawn with ``seed`` (0 temperature: greedy)."""
    with eval_mode(policy):
        return task.generate(policy, len(context.lengths), max_len, context, temperature,
                             seeded_generator(seed, device_of(policy)))
