"""A policy family written outside textrl, for tests/test_policies.py: a non-recurrent
language model that predicts the next token from the mean embedding of the tokens so far (a
bag of words). One file and one registry line (``POLICIES["bow"] = Component(BowConfig,
BowConfig.build, BagOfWordsLM)``) make it a ``--policy`` of every recipe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from textrl.data.corpus import Corpus
from textrl.models.module import LinearHeadPolicy


@dataclass
class BowLMConfig:
    vocab_size: int
    emb_dim: int = 16
    start_id: int = 0
    eos_id: int | None = None
    pad_id: int = 0


@dataclass
class BowConfig:
    """The bag-of-words policy's size."""

    bow_dim: int = 16
    """embedding size"""

    def build(self, corpus: Corpus) -> BagOfWordsLM:
        return BagOfWordsLM(BowLMConfig(len(corpus.vocab), self.bow_dim, corpus.start_id,
                                        corpus.eos_id, corpus.vocab.fill_id))


class BagOfWordsLM(LinearHeadPolicy):
    """``logits = head(tanh(mean of the embeddings of the start token and the tokens so
    far))``; its state is ``(sum [B, E], count [B, 1])``, so a step costs one token."""

    config_class = BowLMConfig
    capabilities = frozenset({"unconditional", "likelihood", "soft_inputs", "prefix_states"})

    def __init__(self, config: BowLMConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.emb_dim)
        self.head = nn.Linear(config.emb_dim, config.vocab_size)

    feature_dim = property(lambda self: self.config.emb_dim)

    def initial_state(self, batch: int, context: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        if context is not None:
            raise ValueError("BagOfWordsLM is unconditional: it takes no context")
        zeros = self.head.weight.new_zeros(batch, self.config.emb_dim)
        return zeros, zeros.new_zeros(batch, 1)

    def _trunk(self, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """``inputs [B, t]`` ids (or ``[B, t, V]`` distributions) -> features ``[B, t, E]``."""
        if state is None:
            state = self.initial_state(inputs.shape[0])
        total, count = state
        embedded = (inputs @ self.embedding.weight if inputs.is_floating_point()
                    else self.embedding(inputs))
        sums = total[:, None] + embedded.cumsum(1)
        counts = count[:, None] + torch.arange(1, inputs.shape[1] + 1, device=sums.device)[:, None]
        return torch.tanh(sums / counts), (sums[:, -1], counts[:, -1])

    def forward(self, inputs: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        features, state = self._trunk(inputs, state)
        return self.head(features), state

    def step(self, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        logits, state = self(inputs[:, None], state)
        return logits[:, 0], state

    @torch.no_grad()
    def prefix_states(self, tokens: torch.Tensor, context: Any = None
                      ) -> tuple[torch.Tensor, Callable[[torch.Tensor, torch.Tensor], Any]]:
        inputs = self.teacher_inputs(tokens)
        embedded = self.embedding(inputs).cumsum(1)  # [B, T, E]: after start + tokens[:t]
        logits = self.head(torch.tanh(embedded / torch.arange(
            1, tokens.shape[1] + 1, device=tokens.device)[:, None]))

        def state_at(t: torch.Tensor, b: torch.Tensor) -> Any:
            return embedded[b, t], (t + 1).float()[:, None]

        return logits, state_at

    def select_state(self, state: Any, rows: slice | torch.Tensor) -> Any:
        return state[0][rows], state[1][rows]
