"""Checking a completion against its prompt's ``answer`` column: the verifiable reward of the
arithmetic task (and of any prompts file with an ``answer`` column)."""

from __future__ import annotations

from typing import Any

import torch

from textrl.errors import UserError
from textrl.rewards.base import Reward


class AnswerReward(Reward):
    """1 for a completion whose tokens are exactly those of its row's ``answer`` (as the run's
    tokenizer reads it), else 0; with ``partial_credit``, the share of positions where
    completion and answer have the same token, over the longer of the two (``13`` for
    ``12``: 0.5), so only an exact answer earns 1.

    >>> from textrl.data.tokenizers import get_tokenizer
    >>> from textrl.data.vocab import Vocab
    >>> from textrl.tasks.prompted import PromptBatch, TextCodec
    >>> vocab = Vocab.from_corpus([list("0123456789+=")])
    >>> text = TextCodec(vocab, get_tokenizer("char"))
    >>> rows = [{"prompt": "2+2=", "answer": "4"}, {"prompt": "5+7=", "answer": "12"}]
    >>> prompts = PromptBatch(torch.zeros(2, 4, dtype=torch.long), torch.tensor([4, 4]),
    ...                       torch.arange(2), rows, text)
    >>> written = torch.tensor([vocab.encode(list("2+2=4 ")), vocab.encode(list("5+7=13"))])
    >>> AnswerReward()(written, torch.tensor([5, 6]), prompts).tolist()
    [1.0, 0.0]
    >>> AnswerReward(partial_credit=True)(written, torch.tensor([5, 6]), prompts).tolist()
    [1.0, 0.5]
    """

    task = "prompted"

    def __init__(self, partial_credit: bool = False):
        self.partial_credit = partial_credit

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        if not hasattr(context, "completions"):
            raise UserError("--reward answer checks completions against their prompts' "
                            "'answer' column: use --task arithmetic or --task prompted")
        tokenize = context.text.tokenize  # compared as tokens: spacing aside
        got = [tokenize(text) for text in context.completions(tokens, lengths)]
        want = [tokenize(text) for text in context.column("answer")]
        scores = [self.score(g, w) for g, w in zip(got, want, strict=True)]
        return torch.tensor(scores, device=tokens.device)

    def score(self, got: list[str], want: list[str]) -> float:
        if got == want:
            return 1.0
        if not self.partial_credit or not (got or want):
            return 0.0
        same = sum(a == b for a, b in zip(got, want, strict=False))  # lengths may differ
        return same / max(len(got), len(want))
