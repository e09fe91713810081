"""BLEU against the training data as a reward: SeqGAN's PG-BLEU baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from textrl.data.vocab import Vocab
from textrl.metrics.bleu import BLEUScorer
from textrl.rewards.base import Reward


class BLEUReward(Reward):
    """Each sequence's sentence BLEU-n against a fixed set of reference sentences: Texygen's
    (``smoothing="method1"``) or the SeqGAN authors' PG-BLEU reward (``"nltk3.2"``, see
    ``textrl.metrics.bleu.SMOOTHING``).

    >>> vocab = Vocab.integers(5)
    >>> reward = BLEUReward([["1", "2", "3"]], vocab, n=2)
    >>> reward(torch.tensor([[1, 2, 3], [4, 4, 4]]), torch.tensor([3, 3])).tolist()
    [1.0, 0.0]
    """

    def __init__(self, references: Sequence[Sequence[str]], vocab: Vocab, n: int = 4,
                 smoothing: str = "method1"):
        self.scorer = BLEUScorer(references, n, smoothing)
        self.vocab = vocab

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 context: Any = None) -> torch.Tensor:
        rows = [self.vocab.decode(row[:length]) for row, length in
                zip(tokens.tolist(), lengths.tolist(), strict=True)]
        return torch.tensor([self.scorer.sentence(row) for row in rows], device=tokens.device)
