"""The policy: a recurrent language model over token ids (LSTM or GRU)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from textrl.data.corpus import Corpus
from textrl.errors import UserError
from textrl.models.base import State
from textrl.models.module import LinearHeadPolicy
from textrl.settings import check_at_least, check_choices


@dataclass
class LMConfig:
    """The size and special ids of a :class:`RecurrentLM` (saved with its weights). The
    command line sets it through :class:`RecurrentPolicyConfig`; ``init_std=None`` keeps
    PyTorch's initialisation, SeqGAN draws every weight from N(0, 0.1)."""

    vocab_size: int
    emb_dim: int = 32
    hidden_dim: int = 32
    num_layers: int = 1
    cell: str = "lstm"
    dropout: float = 0.0
    start_id: int = 0
    eos_id: int | None = None
    pad_id: int = 0
    init_std: float | None = None  # None: PyTorch's defaults; SeqGAN draws all from N(0, 0.1)


@dataclass
class RecurrentPolicyConfig:
    """The recurrent policy's size and initialisation (defaults: SeqGAN's generator)."""

    emb_dim: int = 32
    """embedding size"""
    hidden_dim: int = 32
    """recurrent state size"""
    num_layers: int = 1
    """recurrent layers"""
    cell: str = "lstm"
    """lstm or gru"""
    dropout: float = 0.0
    """dropout on embeddings and recurrent outputs"""
    init_std: float | None = 0.1
    """initialise every weight from N(0, std) (SeqGAN: 0.1); unset: PyTorch's defaults"""

    def __post_init__(self) -> None:
        check_choices(self, {"cell": ("lstm", "gru")})
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"--dropout must be in [0, 1), got {self.dropout}")
        check_at_least(self, 1, ("emb_dim", "hidden_dim", "num_layers"))

    def build(self, corpus: Corpus) -> RecurrentLM:
        return RecurrentLM(LMConfig(
            vocab_size=len(corpus.vocab), emb_dim=self.emb_dim, hidden_dim=self.hidden_dim,
            num_layers=self.num_layers, cell=self.cell, dropout=self.dropout,
            init_std=self.init_std, start_id=corpus.start_id, eos_id=corpus.eos_id,
            pad_id=corpus.vocab.fill_id))


class RecurrentLM(LinearHeadPolicy):
    """Embedding -> LSTM/GRU -> linear over the vocabulary.

    Sequences follow textrl's mask convention (:mod:`textrl.data.corpus`): ``start_id`` is
    fed before position 0 and never stored; with ``eos_id=None`` sequences have a fixed
    length (the SeqGAN oracle setting).

    >>> lm = RecurrentLM(LMConfig(vocab_size=10))
    >>> s = lm.sample(4, max_len=6, generator=torch.Generator().manual_seed(0))
    >>> lm.log_prob(s.tokens, s.lengths).shape
    torch.Size([4, 6])
    """

    config_class = LMConfig
    capabilities = frozenset({"unconditional", "likelihood", "soft_inputs", "prefix_states"})

    def __init__(self, config: LMConfig):
        super().__init__()
        if config.cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {config.cell!r}")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.emb_dim)
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn(config.emb_dim, config.hidden_dim, config.num_layers, batch_first=True,
                       dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_dim, config.vocab_size)
        if config.init_std is not None:
            with torch.no_grad():
                for parameter in self.parameters():
                    parameter.normal_(0.0, config.init_std)

    @property
    def feature_dim(self) -> int:
        return self.config.hidden_dim

    def initial_state(self, batch: int, context: Any = None) -> State:
        """Zero state, ``[layers, B, H]`` (a pair for LSTM). A language model takes no context."""
        if context is not None:
            raise ValueError("RecurrentLM is unconditional: it takes no context; use a "
                             "conditional policy (e.g. a seq2seq generator) for this task")
        c = self.config
        zeros = self.head.weight.new_zeros(c.num_layers, batch, c.hidden_dim)
        return (zeros, zeros.clone()) if c.cell == "lstm" else zeros

    def forward(self, inputs: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """``inputs [B, T]`` ids (or ``[B, T, V]`` distributions) -> ``(logits [B, T, V], state)``."""
        out, state = self._trunk(inputs, state)
        return self.head(out), state

    def _trunk(self, inputs: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """Embedding -> recurrent layers -> dropout: ``[B, T]`` -> ``([B, T, H], state)``."""
        if state is None:
            state = self.initial_state(inputs.shape[0])
        # Floating-point inputs are distributions over the vocabulary (soft one-hots).
        embedded = (inputs @ self.embedding.weight if inputs.is_floating_point()
                    else self.embedding(inputs))
        out, state = self.rnn(self.dropout(embedded), state)
        return self.dropout(out), state

    def step(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step: ``inputs [B]`` ids (or ``[B, V]`` distributions) -> ``(logits [B, V], state)``."""
        out, state = self._trunk(inputs[:, None], state)
        out = out[:, 0]
        if torch.is_grad_enabled():
            return self.head(out), state
        # Sampling: one matmul with the bias folded in, because addmm's broadcast copy of the
        # bias into [B, V] costs a third as much as the product itself at [512, 5000].
        weight = torch.cat([self.head.weight, self.head.bias[:, None]], dim=1)
        return torch.cat([out, out.new_ones(len(out), 1)], dim=1) @ weight.T, state

    def nll(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per real token (a scalar)."""
        return -self.log_prob(tokens, lengths).sum() / lengths.sum()

    @torch.no_grad()
    def prefix_states(self, tokens: torch.Tensor, context: Any = None
                      ) -> tuple[torch.Tensor, Callable[[torch.Tensor, torch.Tensor], State]]:
        """Teacher-forced pass over ``tokens [B, T]`` that keeps every recurrent state.

        Returns ``logits [B, T, V]`` and ``state_at(t [R], b [R])``: ``logits[:, t]`` predicts
        ``tokens[:, t]`` from the start token and ``tokens[:, :t]``, and ``state_at`` gives the
        states after reading those same inputs (``[layers, R, H]``), so sampling can resume
        after any prefix.
        """
        inputs = self.teacher_inputs(tokens)
        state = self.initial_state(tokens.shape[0], context)
        logits, states = [], []
        for t in range(tokens.shape[1]):
            step_logits, state = self.step(inputs[:, t], state)
            logits.append(step_logits)
            states.append(state)
        if isinstance(states[0], tuple):  # [T, layers, B, H] per LSTM state tensor
            stacked = tuple(torch.stack([s[i] for s in states]) for i in range(2))
        else:
            stacked = torch.stack(states)

        def state_at(t: torch.Tensor, b: torch.Tensor) -> State:
            if isinstance(stacked, tuple):
                return tuple(s[t, :, b].transpose(0, 1).contiguous() for s in stacked)
            return stacked[t, :, b].transpose(0, 1).contiguous()

        return torch.stack(logits, dim=1), state_at

    def select_state(self, state: State, rows: slice | torch.Tensor) -> State:
        """The rows ``rows`` of a state (``[layers, B, H]``)."""
        if isinstance(state, tuple):
            return tuple(s[:, rows] for s in state)
        return state[:, rows]
