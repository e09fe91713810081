"""A policy family written outside textrl, for the tutorial "Your own policy, or a Hugging
Face model": one file, registered with one line
(``POLICIES["bigram"] = Component(BigramFamily, BigramFamily.build, BigramLM)``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from textrl.models.module import LinearHeadPolicy


@dataclass
class BigramConfig:
    """What the model is rebuilt from (saved in every checkpoint)."""

    vocab_size: int
    dim: int = 16
    start_id: int = 0
    eos_id: int | None = None
    pad_id: int = 0


class BigramLM(LinearHeadPolicy):
    """``logits = head(tanh(embedding(previous token)))``; no state."""

    config_class = BigramConfig
    capabilities = frozenset({"unconditional", "likelihood", "soft_inputs"})

    def __init__(self, config: BigramConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.dim)
        self.head = nn.Linear(config.dim, config.vocab_size)

    feature_dim = property(lambda self: self.config.dim)

    def initial_state(self, batch, context=None):
        if context is not None:
            raise ValueError("BigramLM takes no context")
        return None

    def _trunk(self, inputs, state):
        embedded = (inputs @ self.embedding.weight if inputs.is_floating_point()
                    else self.embedding(inputs))
        return torch.tanh(embedded), None

    def forward(self, inputs, state=None):
        features, state = self._trunk(inputs, state)
        return self.head(features), state

    def step(self, inputs, state):
        logits, state = self(inputs[:, None], state)
        return logits[:, 0], state

    def select_state(self, state, rows):
        return state


@dataclass
class BigramFamily:
    """The bigram policy's size."""

    bigram_dim: int = 16
    """embedding size"""

    def build(self, corpus) -> BigramLM:
        return BigramLM(BigramConfig(len(corpus.vocab), self.bigram_dim, corpus.start_id,
                                     corpus.eos_id, corpus.vocab.fill_id))
