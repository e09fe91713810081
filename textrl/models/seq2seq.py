"""MaskGAN's generator: a seq2seq policy that fills the blanks of a template.

An LSTM encoder reads the *template* (the sentence with each missing token replaced by the
mask id, ``vocab_size``: one extra embedding row the decoder never outputs). An LSTM
decoder, started from the encoder's final state, writes the sentence left to right with
Luong attention over the encoder states (padding masked out); its output layer is the
transposed embedding (tied), plus a bias. At a given position the policy puts all its
mass on the given token, so sampling copies it with log-probability 0, and the likelihood,
entropy and gradient there are exactly 0: only missing positions are actions.

The context is an :class:`Infill`: ``template [B, T]``, ``present [B, T]`` (True where given)
and ``lengths [B]``. Dropout is variational in the sense of Gal & Ghahramani on the inputs
and outputs (one mask per sentence, shared over time); the recurrent connections are not
dropped (they run in PyTorch's fused LSTM).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn

from textrl.data.corpus import Corpus, length_mask
from textrl.errors import UserError
from textrl.models.module import PolicyModule, ScoreInputs
from textrl.models.recurrent import RecurrentLM
from textrl.settings import check_at_least


class Infill(NamedTuple):
    """The context of an in-filling policy: ``template [B, T]`` (ids, the mask id where
    missing), ``present [B, T]`` (True where the token is given) and ``lengths [B]``."""

    template: torch.Tensor
    present: torch.Tensor
    lengths: torch.Tensor


class _State(NamedTuple):
    h: torch.Tensor  # [layers, B, H]
    c: torch.Tensor
    position: torch.Tensor  # [B] the position each row's next step predicts
    memory: torch.Tensor  # [B, S, H] encoder states
    keys: torch.Tensor  # [B, S, H]
    padding: torch.Tensor  # [B, S] True on the template's padding
    given: torch.Tensor  # [B, T] the template
    present: torch.Tensor  # [B, T]
    input_drop: torch.Tensor | None  # [B, E] dropout masks, one per sentence
    output_drop: torch.Tensor | None


@dataclass
class Seq2SeqConfig:
    """The size and special ids of a :class:`Seq2SeqGenerator` (saved with its weights);
    the command line sets it through :class:`Seq2SeqPolicyConfig`."""

    vocab_size: int
    emb_dim: int = 64
    hidden_dim: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    attention: bool = True
    start_id: int = 0
    eos_id: int | None = None
    pad_id: int = 0
    init_std: float | None = None


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
        return Seq2SeqGenerator(Seq2SeqConfig(
            len(corpus.vocab), self.emb_dim, self.hidden_dim, self.num_layers, self.dropout,
            self.attention, corpus.start_id, corpus.eos_id, corpus.vocab.fill_id,
            self.init_std))


class Seq2SeqGenerator(PolicyModule):
    """Encoder-decoder with attention over a masked template (see the module docstring).

    >>> g = Seq2SeqGenerator(Seq2SeqConfig(vocab_size=10))
    >>> x = torch.randint(1, 10, (2, 6))
    >>> present = torch.tensor([[1, 1, 0, 0, 1, 1]] * 2).bool()
    >>> ctx = Infill(torch.where(present, x, g.mask_id), present, torch.full((2,), 6))
    >>> s = g.sample(2, 6, context=ctx, generator=torch.Generator().manual_seed(0))
    >>> bool((s.tokens[present] == x[present]).all()), s.log_probs[present].abs().max().item()
    (True, 0.0)
    """

    config_class = Seq2SeqConfig
    capabilities = frozenset({"template", "likelihood", "prefix_states"})

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        c = config
        self.config = c
        self.embedding = nn.Embedding(c.vocab_size + 1, c.emb_dim)  # + the mask token
        dropout = c.dropout if c.num_layers > 1 else 0.0
        self.encoder = nn.LSTM(c.emb_dim, c.hidden_dim, c.num_layers, batch_first=True,
                               dropout=dropout)
        self.decoder = nn.LSTM(c.emb_dim, c.hidden_dim, c.num_layers, batch_first=True,
                               dropout=dropout)
        self.attention_keys = nn.Linear(c.hidden_dim, c.hidden_dim, bias=False)
        width = 2 * c.hidden_dim if c.attention else c.hidden_dim
        self.output = nn.Linear(width, c.emb_dim, bias=False)  # then the tied embedding
        self.output_bias = nn.Parameter(torch.zeros(c.vocab_size))
        if c.init_std is not None:
            with torch.no_grad():
                for parameter in self.parameters():
                    parameter.normal_(0.0, c.init_std)

    feature_dim = property(lambda self: self.config.emb_dim)
    mask_id = property(lambda self: self.config.vocab_size)

    def _dropout_masks(self, batch: int, device: torch.device) -> tuple[Any, Any]:
        p = self.config.dropout
        if not self.training or p == 0.0:
            return None, None
        keep = 1.0 - p
        size = (batch, self.config.emb_dim)
        return tuple(torch.bernoulli(torch.full(size, keep, device=device)) / keep
                     for _ in range(2))

    def blank(self, batch: int, device: torch.device | str | None = None) -> Infill:
        """The context with nothing given (a template of one mask token): the in-filler as
        a language model, used when no context is passed."""
        device = device or self.output_bias.device
        return Infill(torch.full((batch, 1), self.mask_id, device=device),
                      torch.zeros(batch, 1, dtype=torch.bool, device=device),
                      torch.ones(batch, dtype=torch.long, device=device))

    def initial_state(self, batch: int, context: Infill | None = None) -> _State:
        """Encode the template: the decoder's start state and its attention memory. Without
        a context nothing is given (:meth:`blank`)."""
        template, present, lengths = context if context is not None else self.blank(batch)
        if template.shape[0] != batch or template.shape != present.shape:
            raise ValueError(f"context of {template.shape[0]} templates {tuple(template.shape)} "
                             f"and present {tuple(present.shape)} for a batch of {batch}")
        embedded = self.embedding(template)
        input_drop, output_drop = self._dropout_masks(batch, template.device)
        if input_drop is not None:
            embedded = embedded * input_drop[:, None]
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.clamp(min=1).cpu(),
                                                   batch_first=True, enforce_sorted=False)
        memory, (h, c) = self.encoder(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(memory, batch_first=True,
                                                     total_length=template.shape[1])
        padding = ~length_mask(lengths.clamp(min=1), template.shape[1])
        position = torch.zeros(batch, dtype=torch.long, device=template.device)
        return _State(h, c, position, memory, self.attention_keys(memory), padding, template,
                      present, input_drop, output_drop)

    def decode(self, inputs: torch.Tensor, state: _State) -> tuple[torch.Tensor, _State]:
        """``inputs [B, t]`` ids (or ``[B, t, V]`` distributions) from ``state.position`` on
        -> ``(features [B, t, E], state)``: the vectors the tied output layer reads."""
        weight = self.embedding.weight[: self.config.vocab_size]
        embedded = inputs @ weight if inputs.is_floating_point() else self.embedding(inputs)
        if state.input_drop is not None:
            embedded = embedded * state.input_drop[:, None]
        out, (h, c) = self.decoder(embedded, (state.h, state.c))
        if self.config.attention:
            scores = out @ state.keys.transpose(1, 2)  # [B, t, S]
            scores = scores.masked_fill(state.padding[:, None], float("-inf"))
            attended = torch.softmax(scores, dim=-1) @ state.memory
            out = torch.cat([out, attended], dim=-1)
        features = self.output(out)
        if state.output_drop is not None:
            features = features * state.output_drop[:, None]
        return features, state._replace(h=h, c=c, position=state.position + inputs.shape[1])

    def _logits(self, features: torch.Tensor, start: torch.Tensor, state: _State) -> torch.Tensor:
        """Tied output layer over ``features [B, t, E]`` predicting positions ``start [B]``
        on; a given position puts all its mass on its given token."""
        weight = self.embedding.weight[: self.config.vocab_size]
        logits = features @ weight.T + self.output_bias
        positions = start[:, None] + torch.arange(features.shape[1], device=start.device)
        present, inside = _given_at(state, positions)
        if not present.any():
            return logits
        given = state.given.gather(1, inside).clamp(max=self.vocab_size - 1)
        forced = torch.full_like(logits, float("-inf")).scatter_(-1, given[..., None], 0.0)
        return torch.where(present[..., None], forced, logits)

    def forward(self, inputs: torch.Tensor, state: _State | None = None
                ) -> tuple[torch.Tensor, _State]:
        """``inputs [B, t]`` -> ``(logits [B, t, V], state)`` from the state's position on."""
        if state is None:
            raise ValueError("Seq2SeqGenerator needs the state of initial_state(batch, context)")
        start = state.position
        features, state = self.decode(inputs, state)
        return self._logits(features, start, state), state

    def step(self, inputs: torch.Tensor, state: _State) -> tuple[torch.Tensor, _State]:
        logits, state = self(inputs[:, None], state)
        return logits[:, 0], state

    def teacher_forced(self, tokens: torch.Tensor, context: Infill | None = None,
                       inputs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        state = self.initial_state(len(tokens), context)
        start = state.position
        features, state = self.decode(self.teacher_inputs(tokens) if inputs is None else inputs,
                                       state)
        return self._logits(features, start, state), features

    def _score_inputs(self, tokens: torch.Tensor, lengths: torch.Tensor,
                      context: Infill | None, inputs: torch.Tensor | None) -> ScoreInputs:
        """The missing positions are scored; given ones and padding are not."""
        state = self.initial_state(len(tokens), context)
        features, _ = self.decode(self.teacher_inputs(tokens) if inputs is None else inputs, state)
        positions = torch.arange(tokens.shape[1], device=tokens.device).expand(tokens.shape)
        acted = length_mask(lengths, tokens.shape[1]).bool() & ~_given_at(state, positions)[0]
        return ScoreInputs(features, acted, self.embedding.weight[: self.vocab_size],
                           self.output_bias)

    @torch.no_grad()
    def prefix_states(self, tokens: torch.Tensor, context: Infill | None = None
                      ) -> tuple[torch.Tensor, Callable[[torch.Tensor, torch.Tensor], _State]]:
        """Teacher-forced logits ``[B, T, V]`` and ``state_at(t [R], b [R])``, the state after
        reading the start token and ``tokens[b, :t]`` (Monte-Carlo rollouts resume there)."""
        inputs = self.teacher_inputs(tokens)
        state = self.initial_state(len(tokens), context)
        logits, hs, cs = [], [], []
        for t in range(tokens.shape[1]):
            step_logits, state = self.step(inputs[:, t], state)
            logits.append(step_logits)
            hs.append(state.h)
            cs.append(state.c)
        h_all, c_all = torch.stack(hs), torch.stack(cs)  # [T, layers, B, H]
        final = state

        def state_at(t: torch.Tensor, b: torch.Tensor) -> _State:
            rows = self.select_state(final, b)
            return rows._replace(h=h_all[t, :, b].transpose(0, 1).contiguous(),
                                 c=c_all[t, :, b].transpose(0, 1).contiguous(), position=t + 1)

        return torch.stack(logits, dim=1), state_at

    def select_state(self, state: _State, rows: slice | torch.Tensor) -> _State:
        def pick(x: torch.Tensor | None) -> torch.Tensor | None:
            return None if x is None else x[rows]

        return _State(state.h[:, rows], state.c[:, rows], state.position[rows], state.memory[rows],
                      state.keys[rows], state.padding[rows], state.given[rows],
                      state.present[rows], pick(state.input_drop), pick(state.output_drop))

    @torch.no_grad()
    def init_from_lm(self, lm: Any) -> None:
        """Copy a recurrent language model into the in-filler, as the MaskGAN authors map
        one LM into the encoder and the decoder: the word embeddings (the mask token keeps
        its own), both LSTMs and the output bias; attention and the output projection start
        fresh."""
        if not isinstance(lm, RecurrentLM):
            raise UserError(f"--init-lm holds a {type(lm).__name__}; give a `textrl train mle` "
                            "run of the recurrent policy (--policy recurrent)")
        g, m = self.config, lm.config
        if (m.vocab_size, m.emb_dim, m.hidden_dim, m.num_layers, m.cell) != (
                g.vocab_size, g.emb_dim, g.hidden_dim, g.num_layers, "lstm"):
            raise UserError(f"the language model (vocabulary {m.vocab_size}, embedding "
                            f"{m.emb_dim}, hidden {m.hidden_dim} x {m.num_layers} {m.cell}) "
                            f"does not match the in-filler ({g.vocab_size}, {g.emb_dim}, "
                            f"{g.hidden_dim} x {g.num_layers} lstm); train it with those sizes")
        self.embedding.weight[: g.vocab_size] = lm.embedding.weight
        self.encoder.load_state_dict(lm.rnn.state_dict())
        self.decoder.load_state_dict(lm.rnn.state_dict())
        self.output_bias.copy_(lm.head.bias)



def _given_at(state: _State, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(given [B, t], inside [B, t])``: True where the template gives the word at
    ``positions [B, t]`` (positions past a shorter template, such as
    :meth:`Seq2SeqGenerator.blank`'s, are not given), and the positions clamped into the
    template, to read its words."""
    inside = positions.clamp(max=state.present.shape[1] - 1)
    return state.present.gather(1, inside) & (positions < state.present.shape[1]), inside
