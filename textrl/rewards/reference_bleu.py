"""BLEU of each completion against its own prompt's ``reference`` column: the fixed
reward of the continuation task (a prompted corpus keeps each sentence's rest as its
reference)."""

from __future__ import annotations

from typing import Any

import torch

from textrl.errors import UserError
from textrl.metrics.bleu import BLEUScorer
from textrl.rewards.base import Reward


class ReferenceBLEU(Reward):
    """Sentence BLEU-``n`` (Texygen's, ``smoothing`` as :class:`~textrl.metrics.BLEUScorer`) of each
    completion against its row's ``reference``, both as the run's tokenizer reads them; an
    empty completion or reference scores 0.

    >>> from textrl.data.tokenizers import get_tokenizer
    >>> from textrl.data.vocab import Vocab
    >>> from textrl.tasks.prompted import PromptBatch, TextCodec
    >>> vocab = Vocab.from_corpus([["the", "cat", "sat", "on", "a", "mat"]])
    >>> prompts = PromptBatch(torch.zeros(1, 1, dtype=torch.long), torch.tensor([1]),
    ...                       torch.arange(1), [{"prompt": "the", "reference": "cat sat on a mat"}],
    ...                       TextCodec(vocab, get_tokenizer("word")))
    >>> written = torch.tensor([vocab.encode("the cat sat on a mat".split())])
    >>> ReferenceBLEU(n=2)(written, torch.tensor([6]), prompts).tolist()
    [1.0]
    """

    task = "prompted"

    def __init__(self, n: int = 4, smoothing: str = "method1"):
        self.n, self.smoothing = n, smoothing

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        if not hasattr(context, "completions"):
            raise UserError("--reward reference_bleu compares completions with their prompts' "
                            "'reference' column: use --task prompted")
        tokenize = context.text.tokenize
        scores = []
        for completion, reference in zip(context.completions(tokens, lengths),
                                         context.column("reference"), strict=True):
            hypothesis, truth = tokenize(completion), tokenize(reference)
            scores.append(BLEUScorer([truth], self.n, self.smoothing).sentence(hypothesis)
                          if hypothesis and truth else 0.0)
        return torch.tensor(scores, device=tokens.device)
