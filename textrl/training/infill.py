"""In-filling runs (MaskGAN): the mask settings, the seq2seq policy's settings and masked
likelihood."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from textrl.data.corpus import Corpus, Split, length_mask
from textrl.data.masks import STRATEGIES, make_mask, template
from textrl.data.tokenizers import Tokenizer
from textrl.data.vocab import Vocab
from textrl.errors import UserError
from textrl.models.modes import eval_mode
from textrl.models.seq2seq import Infill, Seq2SeqConfig, Seq2SeqGenerator
from textrl.settings import check_at_least, check_choices


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


@dataclass
class Seq2SeqPolicyConfig:
    """The in-filling generator's size (MaskGAN's paper: 2 x 650 LSTMs, 650-d embeddings)."""

    emb_dim: int = 64
    """embedding size (tied with the output layer)"""
    hidden_dim: int = 64
    """LSTM state size of the encoder and the decoder"""
    num_layers: int = 1
    """LSTM layers"""
    dropout: float = 0.0
    """variational dropout on inputs and outputs (one mask per sentence)"""
    attention: bool = True
    """Luong attention over the template (the paper: it 'was important')"""
    init_std: float | None = None
    """initialise every weight from N(0, std); unset: PyTorch's defaults"""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("emb_dim", "hidden_dim", "num_layers"))
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"--dropout must be in [0, 1), got {self.dropout}")

    def build(self, corpus: Corpus) -> Seq2SeqGenerator:
        vocab = corpus.vocab
        return Seq2SeqGenerator(Seq2SeqConfig(
            len(vocab), self.emb_dim, self.hidden_dim, self.num_layers, self.dropout,
            self.attention, corpus.start_id, corpus.eos_id,
            vocab.pad_id if vocab.has_specials else 0, self.init_std))


@torch.no_grad()
def masked_nll(policy: Seq2SeqGenerator, split: Split, masks: MaskConfig, seed: int,
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
            context = masks.draw(tokens, lengths, policy.mask_id, generator)
            total -= float(policy.log_prob(tokens, lengths, context).sum())
            blanks = length_mask(lengths, tokens.shape[1]).bool() & ~context.present
            count += int(blanks.sum())
    return total / max(count, 1)



MASK_TOKEN = "<m>"


def window_texts(lines: list[str], tokenizer: Tokenizer, window: int) -> list[str]:
    """A file read the way a windows run reads its data: the lines' words with ``<eos>``
    after each, cut into windows of ``window`` words (a last partial window dropped), each
    window one text of space-separated words."""
    words = [w for line in lines for w in [*tokenizer.tokenize(line), "<eos>"]]
    return [" ".join(words[lo:lo + window]) for lo in range(0, len(words) - window + 1, window)]


def fill_texts(model: Seq2SeqGenerator, vocab: Vocab, tokenizer: Tokenizer, texts: list[str],
               max_len: int,
               stream: bool, temperature: float, generator: torch.Generator,
               masks: MaskConfig | None = None) -> list[tuple[str, str]]:
    """``(template, filled)`` for each text: the words at ``<m>`` filled by ``model`` (or,
    with ``masks``, the text's words blanked by a fresh mask first). Unknown words are read
    as ``<unk>`` and shown so. ``stream``: the model reads fixed windows (no EOS)."""
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
        ids = [model.mask_id if w is None else vocab.encode([w])[0] for w in words]
        if not stream:
            ids.append(vocab.eos_id)
        tokens = torch.tensor([ids], device=generator.device)
        lengths = torch.tensor([len(ids)], device=generator.device)
        if masks is None:
            present = tokens != model.mask_id
            context = Infill(tokens, present, lengths)
        else:
            context = masks.draw(tokens, lengths, model.mask_id, generator)
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
