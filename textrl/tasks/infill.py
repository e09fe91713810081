"""In-filling (MaskGAN): a real sentence with some words blanked; the policy reads the
template and writes the blanks, and only the blanks are actions. The masks, masked
likelihood, the ``textrl infill`` command's reading of texts, and the task itself.

The template holds the mask id at blanks; the mask id is ``vocab_size`` (one id past the
vocabulary: an in-filler's extra embedding row, never an output).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from textrl.data.corpus import Split, length_mask
from textrl.data.masks import STRATEGIES, make_mask, template
from textrl.data.tokenizers import Tokenizer
from textrl.data.vocab import Vocab
from textrl.errors import UserError
from textrl.metrics.nll import perplexity
from textrl.models.base import Policy
from textrl.models.modes import eval_mode
from textrl.models.seq2seq import Infill
from textrl.oracle import OracleLSTM
from textrl.settings import check_choices
from textrl.tasks.base import Batch, Generate, RealSampler, Task


@dataclass
class MaskConfig:
    """Which words an in-filling run blanks."""

    mask: str = "contiguous"
    """contiguous (one block: the authors' int(rate*L)-1 words), random (each word), or
    unconditional (all but the first)"""
    mask_rate: float = 0.5
    """share of the words blanked (MaskGAN: 0.5)"""

    def __post_init__(self) -> None:
        check_choices(self, {"mask": STRATEGIES})
        if not 0.0 < self.mask_rate <= 1.0:
            raise UserError(f"--mask-rate must be in (0, 1], got {self.mask_rate}")

    def draw(self, tokens: torch.Tensor, lengths: torch.Tensor, mask_id: int,
             generator: torch.Generator | None) -> Infill:
        """The context of ``tokens [B, T]`` under a fresh mask drawn from ``generator``."""
        present = make_mask(lengths, tokens.shape[1], self.mask, self.mask_rate, generator)
        return Infill(template(tokens, present, mask_id), present, lengths)


class InfillTask(Task):
    """In-filling under ``masks``: contexts are templates of real sentences, actions the
    blanks, and ``nll_valid`` is per blanked word under masks drawn with ``seed`` (the same
    masks at every evaluation). Monte-Carlo rollouts do not apply: every blank is paid its
    own reward."""

    name = "infill"
    needs = frozenset({"template", "likelihood"})
    monte_carlo = False

    def __init__(self, masks: MaskConfig, vocab_size: int, seed: int = 0):
        self.masks, self.mask_id, self.seed = masks, vocab_size, seed

    def condition(self, tokens: torch.Tensor, lengths: torch.Tensor,
                  generator: torch.Generator | None) -> Infill:
        return self.masks.draw(tokens, lengths, self.mask_id, generator)

    def chosen(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Infill
               ) -> torch.Tensor:
        return length_mask(lengths, tokens.shape[1]).bool() & ~context.present

    def contexts(self, n: int, real: RealSampler, generator: torch.Generator
                 ) -> tuple[Infill, torch.Tensor]:
        tokens, lengths = real(n)
        context = self.condition(tokens, lengths, generator)
        return context, self.chosen(tokens, lengths, context)

    def pairs(self, n: int, real: RealSampler, generate: Generate, generator: torch.Generator
              ) -> tuple[Batch, Batch, Infill]:
        """Fills of the real sentences' own templates: rows stay aligned."""
        sentences = real(n)
        context = self.condition(*sentences, generator)
        return sentences, generate(n, context), context

    def reported_reward(self, rewards: torch.Tensor, lengths: torch.Tensor,
                        acted: torch.Tensor) -> float:
        """The mean reward per filled word."""
        return ((rewards * acted).sum() / acted.sum().clamp(min=1)).item()

    def validate(self, policy: Policy, split: Split, oracle: OracleLSTM | None,
                 n_samples: int, seed: int) -> dict[str, float]:
        return {"nll_valid": masked_nll(policy, split, self.masks, self.seed, self.mask_id)}

    def sample_contexts(self, split: Split, n: int, generator: torch.Generator) -> Infill:
        """The MaskGAN authors' unconditional samples: each sentence's first word from a
        random sentence of ``split``, every other word blank."""
        rows = torch.randint(len(split), (n,), generator=generator, device=generator.device)
        tokens, lengths = split.tokens[rows], split.lengths[rows]
        present = make_mask(lengths, tokens.shape[1], "unconditional")
        return Infill(template(tokens, present, self.mask_id), present, lengths)

    def metrics(self, policy: Policy, split: Split, seed: int) -> dict[str, float]:
        """The perplexity per blanked word of ``split`` under both kinds of masks at rate 0.5
        drawn with ``seed``, whatever masks the policy was trained on, so that MaskMLE
        (random masks) and MaskGAN (contiguous) are scored alike: ``masked_ppl_random``,
        ``masked_ppl_contiguous``."""
        return {f"masked_ppl_{kind}": perplexity(masked_nll(policy, split, MaskConfig(kind, 0.5),
                                                            seed, self.mask_id))
                for kind in ("random", "contiguous")}


def build_infill(config: MaskConfig, *, vocab_size: int, seed: int = 0, **_: Any) -> InfillTask:
    return InfillTask(config, vocab_size, seed)


@torch.no_grad()
def masked_nll(policy: Policy, split: Split, masks: MaskConfig, seed: int, mask_id: int,
               batch_size: int = 256) -> float:
    """Mean NLL per blanked word of ``split`` under masks drawn with ``seed`` (the same masks
    at every evaluation): MaskGAN's masked perplexity is its exp."""
    if len(split) == 0:
        raise ValueError("cannot score an empty split")
    generator = torch.Generator(device=split.tokens.device).manual_seed(seed)
    total, count = 0.0, 0
    with eval_mode(policy):
        for lo in range(0, len(split), batch_size):
            tokens, lengths = split.tokens[lo:lo + batch_size], split.lengths[lo:lo + batch_size]
            context = masks.draw(tokens, lengths, mask_id, generator)
            total -= float(policy.log_prob(tokens, lengths, context).sum())
            blanks = length_mask(lengths, tokens.shape[1]).bool() & ~context.present
            count += int(blanks.sum())
    return total / max(count, 1)


MASK_TOKEN = "<m>"


def fill_lines(model: Policy, vocab: Vocab, tokenizer: Tokenizer, lines: list[str],
               max_len: int, stream: bool, temperature: float, generator: torch.Generator,
               masks: MaskConfig) -> list[tuple[str, str]]:
    """``(template, filled)`` for each line of real text, blanked by ``masks`` and filled: a
    line longer than the model reads (``max_len`` words in a window, one fewer before a
    sentence model's EOS) is filled a piece at a time, and a blank line stays blank."""
    room = max_len if stream else max_len - 1
    out = []
    for line in lines:
        words = tokenizer.tokenize(line)
        pieces = [tokenizer.detokenize(words[lo:lo + room]) for lo in range(0, len(words), room)]
        filled = fill_texts(model, vocab, tokenizer, pieces, max_len, stream, temperature,
                            generator, masks)
        out.append((" ".join(t for t, _ in filled), " ".join(f for _, f in filled)))
    return out


def fill_texts(model: Policy, vocab: Vocab, tokenizer: Tokenizer, texts: list[str],
               max_len: int, stream: bool, temperature: float, generator: torch.Generator,
               masks: MaskConfig | None = None) -> list[tuple[str, str]]:
    """``(template, filled)`` for each text: the words at ``<m>`` filled by ``model`` (or,
    with ``masks``, the text's words blanked by a fresh mask first). Unknown words are read
    as ``<unk>`` and shown so. ``stream``: the model reads fixed windows (no EOS)."""
    mask_id = len(vocab)
    out = []
    for number, text in enumerate(texts, 1):
        pieces = text.split(MASK_TOKEN)
        words: list[str | None] = []
        for i, piece in enumerate(pieces):
            if i:
                words.append(None)
            words.extend(tokenizer.tokenize(piece))
        if masks is None and None not in words:
            raise UserError(f"text {number}: no {MASK_TOKEN} in {text!r}; put {MASK_TOKEN} where "
                            "words are missing, or pass --file with --mask to blank real text")
        if masks is not None and None in words:
            raise UserError(f"text {number}: {MASK_TOKEN} in a --file line; --file takes real "
                            "sentences and blanks them with --mask")
        room = max_len if stream else max_len - 1  # a sentence model also writes EOS
        if not 0 < len(words) <= room:
            raise UserError(f"text {number}: {len(words)} words; this model fills 1 to {room}")
        ids = [mask_id if w is None else vocab.encode([w])[0] for w in words]
        if not stream:
            ids.append(vocab.eos_id)
        tokens = torch.tensor([ids], device=generator.device)
        lengths = torch.tensor([len(ids)], device=generator.device)
        if masks is None:
            present = tokens != mask_id
            context = Infill(tokens, present, lengths)
        else:
            context = masks.draw(tokens, lengths, mask_id, generator)
        with eval_mode(model):
            filled = model.sample(1, len(ids), temperature, context=context,
                                  generator=generator).tokens[0]
        shown = [vocab.itos[i] if p else MASK_TOKEN for i, p in
                 zip(context.template[0].tolist(), context.present[0].tolist(), strict=True)]
        if stream:  # EOS inside a window is a word (a sentence boundary), shown as such
            words_out = [vocab.itos[i] for i in filled.tolist()]
        else:
            words_out, shown = vocab.decode(filled.tolist()), shown[:-1]
        out.append((tokenizer.detokenize(shown), tokenizer.detokenize(words_out)))
    return out
