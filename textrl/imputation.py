"""Filling missing words of a sentence (Bowman et al. 2016, §5): constrained beam search
for a language model, and approximate iterated conditional modes for a VAE (the missing
words start as ``<unk>``; z is set to the posterior mean of the sentence as it stands; a
constrained beam search under z fills the words; repeat).

A blank is ``___`` in the text; the sentence keeps its length and ends with EOS. Unlike
Bowman's experiment, which decodes right to left to impute a sentence's end, textrl's
models read left to right and the blanks may be anywhere; a blank may be filled with
``<unk>`` when the model rates it highest (PTB's models often do)."""

from __future__ import annotations

from typing import Any

import torch

from textrl.data.tokenizers import Tokenizer
from textrl.data.vocab import Vocab
from textrl.errors import UserError
from textrl.models.base import Policy
from textrl.models.modes import eval_mode

BLANK = "___"


def read_blanks(text: str, vocab: Vocab, tokenizer: Tokenizer, max_len: int) -> list[int | None]:
    """The ids of ``text``'s words with ``None`` at each ``___``; a UserError for a text
    without a blank, or longer than ``max_len - 1`` words."""
    words: list[str | None] = []
    for i, piece in enumerate(text.split(BLANK)):
        if i:
            words.append(None)
        words.extend(tokenizer.tokenize(piece))
    if None not in words:
        raise UserError(f"no {BLANK} in {text!r}; put {BLANK} where a word is missing")
    if len(words) > max_len - 1:
        raise UserError(f"{len(words)} words; this model reads at most {max_len - 1}")
    return [None if w is None else vocab.encode([w])[0] for w in words]


@torch.no_grad()
def constrained_beam_search(policy: Policy, words: list[int | None], beam: int,
                            context: Any = None, banned: tuple[int, ...] = ()) -> list[int]:
    """The most likely completion found by a beam of ``beam``: ``words`` with each ``None``
    filled (never with an id in ``banned``), then EOS, scored as a whole sentence; given
    words are forced. ``context`` is one row's context (a VAE's code ``[1, Z]``)."""
    device = next(iter(policy.parameters())).device
    rows = 1
    state = policy.initial_state(1, context)
    logits, state = policy(torch.full((1, 1), policy.start_id, device=device), state)
    logits = logits[:, -1]
    prefixes = torch.empty(1, 0, dtype=torch.long, device=device)
    scores = torch.zeros(1, device=device)
    for word in [*words, policy.eos_id]:
        logp = logits.log_softmax(-1)  # [rows, V]
        if word is not None:
            chosen = torch.full((rows,), word, device=device)
            scores = scores + logp[:, word]
            parents = torch.arange(rows, device=device)
        else:
            logp[:, [policy.eos_id, policy.pad_id, *banned]] = float("-inf")
            total = (scores[:, None] + logp).flatten()
            scores, flat = total.topk(min(beam, total.numel()))
            parents, chosen = flat // logp.shape[1], flat % logp.shape[1]
        prefixes = torch.cat([prefixes[parents], chosen[:, None]], dim=1)
        state = policy.select_state(state, parents)
        rows = len(parents)
        logits, state = policy.step(chosen, state)
    return prefixes[int(scores.argmax()), :-1].tolist()


def impute(model: Policy, words: list[int | None], vocab: Vocab, beam: int | None = None,
           icm_steps: int = 3) -> list[int]:
    """``words`` with the blanks filled: a language model by one constrained beam search
    (beam 15, as Bowman's RNNLM), a VAE (a model with a ``posterior``) by ``icm_steps`` rounds of
    iterated conditional modes, each a beam of 5 under the posterior mean."""
    banned = (vocab.bos_id,) if vocab.bos_id is not None else ()
    with eval_mode(model):
        if "posterior" not in model.capabilities:  # a language model: no codes to iterate
            return constrained_beam_search(model, words, beam or 15, banned=banned)
        device = model.head.bias.device
        current = [vocab.unk_id if w is None else w for w in words]
        for _ in range(icm_steps):
            tokens = torch.tensor([[*current, vocab.eos_id]], device=device)
            mu, _ = model.encode(tokens, torch.tensor([tokens.shape[1]], device=device))
            current = constrained_beam_search(model, words, beam or 5, mu, banned)
    return current
