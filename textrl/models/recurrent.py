"""The policy: a recurrent language model over token ids (LSTM or GRU)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import nn

from textrl.data.corpus import length_mask
from textrl.models.sampling import sample_categorical

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass
class LMConfig:
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


class Sample(NamedTuple):
    """``tokens [B, T]`` (PAD after EOS), ``lengths [B]``, ``log_probs [B, T]`` (0 on padding)."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    log_probs: torch.Tensor


class RecurrentLM(nn.Module):
    """Embedding -> LSTM/GRU -> linear over the vocabulary.

    Sequences follow textrl's mask convention (:mod:`textrl.data.corpus`): ``start_id`` is
    fed before position 0 and never stored; with ``eos_id=None`` sequences have a fixed
    length (the SeqGAN oracle setting).

    >>> lm = RecurrentLM(LMConfig(vocab_size=10))
    >>> s = lm.sample(4, max_len=6, generator=torch.Generator().manual_seed(0))
    >>> lm.log_prob(s.tokens, s.lengths).shape
    torch.Size([4, 6])
    """

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

    def initial_state(self, batch: int) -> State:
        """Zero state, ``[layers, B, H]`` (a pair for LSTM)."""
        c = self.config
        zeros = self.head.weight.new_zeros(c.num_layers, batch, c.hidden_dim)
        return (zeros, zeros.clone()) if c.cell == "lstm" else zeros

    def forward(self, inputs: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Teacher-forced pass: ``inputs [B, T]`` -> ``(logits [B, T, V], state)``."""
        out, state = self._trunk(inputs, state)
        return self.head(out), state

    def _trunk(self, inputs: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """Embedding -> recurrent layers -> dropout: ``[B, T]`` -> ``([B, T, H], state)``."""
        if state is None:
            state = self.initial_state(inputs.shape[0])
        out, state = self.rnn(self.dropout(self.embedding(inputs)), state)
        return self.dropout(out), state

    def step(self, token: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step: ``token [B]`` -> ``(logits [B, V], state)``."""
        out, state = self._trunk(token[:, None], state)
        out = out[:, 0]
        if torch.is_grad_enabled():
            return self.head(out), state
        # Sampling: one matmul with the bias folded in, because addmm's broadcast copy of the
        # bias into [B, V] costs a third as much as the product itself at [512, 5000].
        weight = torch.cat([self.head.weight, self.head.bias[:, None]], dim=1)
        return torch.cat([out, out.new_ones(len(out), 1)], dim=1) @ weight.T, state

    def teacher_inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` targets -> ``[B, T]`` inputs: the start token, then targets shifted right."""
        start = tokens.new_full((tokens.shape[0], 1), self.config.start_id)
        return torch.cat([start, tokens[:, :-1]], dim=1)

    def log_prob(self, tokens: torch.Tensor, lengths: torch.Tensor,
                 temperature: float = 1.0) -> torch.Tensor:
        """``[B, T]`` log-probability of each target token, 0 on padding, under the
        distribution ``sample`` draws from at ``temperature`` (> 0)."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0 to score tokens, got {temperature}")
        logits, _ = self(self.teacher_inputs(tokens))
        logp = torch.log_softmax(logits / temperature, dim=-1).gather(2, tokens[..., None]).squeeze(2)
        return logp * length_mask(lengths, tokens.shape[1])

    def hidden(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced top-layer outputs ``[B, T, H]`` (after dropout): ``head`` of
        position t predicts ``tokens[:, t]``; a value head reads the same trunk."""
        return self._trunk(self.teacher_inputs(tokens), None)[0]

    def nll(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per real token (a scalar)."""
        return -self.log_prob(tokens, lengths).sum() / lengths.sum()

    @torch.no_grad()
    def prefix_states(self, tokens: torch.Tensor) -> tuple[torch.Tensor, list[State]]:
        """Teacher-forced pass over ``tokens [B, T]`` that keeps every recurrent state.

        Returns ``logits [B, T, V]`` and ``states``: ``logits[:, t]`` predicts ``tokens[:, t]``
        from the start token and ``tokens[:, :t]``, and ``states[t]`` is the state after
        reading those same inputs, so sampling can resume after any prefix.
        """
        inputs = self.teacher_inputs(tokens)
        state = self.initial_state(tokens.shape[0])
        logits, states = [], []
        for t in range(tokens.shape[1]):
            step_logits, state = self.step(inputs[:, t], state)
            logits.append(step_logits)
            states.append(state)
        return torch.stack(logits, dim=1), states

    @torch.no_grad()
    def sample(
        self,
        n: int,
        max_len: int,
        temperature: float = 1.0,
        prefix: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        chunk: int = 512,
    ) -> Sample:
        """Draw ``n`` sequences of at most ``max_len`` tokens (no gradients).

        ``prefix [n, P]`` (P < max_len, no EOS) is kept as given and continued. The returned
        ``log_probs`` are those of the tempered sampling distribution, 0 on the prefix and
        padding; for gradients recompute them with ``log_prob``. Call ``eval()`` first to
        sample without dropout. Rows are drawn ``chunk`` at a time: a [chunk, V] softmax that
        stays in cache is several times faster per row than one over all ``n`` rows.
        """
        parts = [self._sample_chunk(min(chunk, n - lo), max_len, temperature,
                                    None if prefix is None else prefix[lo:lo + chunk], generator)
                 for lo in range(0, n, chunk)]
        if not parts:
            empty = torch.empty(0, max_len, dtype=torch.long)
            return Sample(empty, empty[:, 0], empty.float())
        return Sample(*(torch.cat(p) for p in zip(*parts, strict=True)))

    def _sample_chunk(self, n: int, max_len: int, temperature: float,
                      prefix: torch.Tensor | None, generator: torch.Generator | None) -> Sample:
        c = self.config
        start = torch.full((n, 1), c.start_id, dtype=torch.long, device=self.head.weight.device)
        inputs = start if prefix is None else torch.cat([start, prefix], dim=1)
        if inputs.shape[1] > max_len:
            raise ValueError(f"prefix of {inputs.shape[1] - 1} tokens leaves nothing to sample "
                             f"within max_len={max_len}")
        logits, state = self(inputs)
        logits = logits[:, -1]
        tokens = torch.full((n, max_len), c.pad_id, dtype=torch.long, device=start.device)
        log_probs = torch.zeros(n, max_len, device=start.device)
        lengths = torch.full((n,), max_len, dtype=torch.long, device=start.device)
        done = torch.zeros(n, dtype=torch.bool, device=start.device)
        first = inputs.shape[1] - 1
        if first:
            tokens[:, :first] = prefix
        for t in range(first, max_len):
            ids, logp = sample_categorical(logits, temperature, generator, reuse_logits=True)
            live = ~done
            tokens[:, t] = torch.where(live, ids, c.pad_id)
            log_probs[:, t] = logp * live
            if c.eos_id is not None:
                ended = live & (ids == c.eos_id)
                lengths[ended] = t + 1
                done |= ended
                if bool(done.all()):
                    break
            if t + 1 < max_len:
                logits, state = self.step(ids, state)
        return Sample(tokens, lengths, log_probs)

    def to_dict(self) -> dict:
        """Config and weights, loadable with ``torch.load(weights_only=True)``."""
        return {"config": asdict(self.config), "state_dict": self.state_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> RecurrentLM:
        model = cls(LMConfig(**data["config"]))
        model.load_state_dict(data["state_dict"])
        return model
