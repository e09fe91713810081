"""A decoder-only Transformer policy with a KV cache: pre-norm blocks, PyTorch's
``scaled_dot_product_attention``, learned or rotary positions, optionally tied embeddings.

Its recurrent state is a :class:`KVCache`: every layer's keys and values of the positions
read so far, so ``step`` costs one position, not the whole prefix. Rows may hold prefixes of
different lengths in one batch (Monte-Carlo rollouts resume after every prefix at once): a
shorter row is left-padded, ``real`` marks its padded slots, which no query attends to, and
``position`` holds each row's own next position, so a token's position embedding (or
rotation) is that of its place in its own sentence whatever the padding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from textrl.data.corpus import Corpus
from textrl.errors import UserError
from textrl.models.module import LinearHeadPolicy
from textrl.settings import check_at_least, check_choices

POSITIONS = ("learned", "rotary")


class KVCache(NamedTuple):
    """``keys``/``values``: one ``[B, H, L, D/H]`` tensor per layer; ``real [B, L]``: False on
    left padding; ``position [B]``: the position of the next token each row reads."""

    keys: tuple[torch.Tensor, ...]
    values: tuple[torch.Tensor, ...]
    real: torch.Tensor
    position: torch.Tensor


@dataclass
class TransformerConfig:
    """The size and special ids of a :class:`TransformerLM` (saved with its weights); the
    command line sets it through :class:`TransformerPolicyConfig`."""

    vocab_size: int
    dim: int = 64
    layers: int = 2
    heads: int = 4
    ff_dim: int | None = None  # None: 4 x dim
    dropout: float = 0.0
    positions: str = "learned"
    max_positions: int = 512
    tied: bool = True
    start_id: int = 0
    eos_id: int | None = None
    pad_id: int = 0
    init_std: float = 0.02


@dataclass
class TransformerPolicyConfig:
    """The Transformer policy's size (defaults: about the parameters of SeqGAN's LSTM
    generator on its oracle's 5,000 words)."""

    model_dim: int = 32
    """width of the embeddings and of every block"""
    layers: int = 2
    """Transformer blocks"""
    heads: int = 4
    """attention heads (must divide --model-dim)"""
    ff_dim: int | None = None
    """hidden width of each block's feed-forward layer (default: 4 x --model-dim)"""
    dropout: float = 0.0
    """dropout on embeddings, attention and residual branches"""
    positions: str = "learned"
    """learned (one embedding per position) or rotary (rotated queries and keys, no limit)"""
    tied: bool = False
    """share the input embedding with the output layer"""

    def __post_init__(self) -> None:
        check_choices(self, {"positions": POSITIONS})
        check_at_least(self, 1, ("model_dim", "layers", "heads"))
        if self.model_dim % self.heads or (self.positions == "rotary"
                                           and (self.model_dim // self.heads) % 2):
            raise UserError(f"--heads {self.heads} must divide --model-dim {self.model_dim} (into "
                            "an even width per head for rotary positions)")
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"--dropout must be in [0, 1), got {self.dropout}")

    def build(self, corpus: Corpus) -> TransformerLM:
        return TransformerLM(TransformerConfig(
            len(corpus.vocab), self.model_dim, self.layers, self.heads, self.ff_dim,
            self.dropout, self.positions, corpus.max_len + 1, self.tied, corpus.start_id,
            corpus.eos_id, corpus.vocab.fill_id))


def rotate(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding of ``x [B, H, t, d]`` at ``positions [B, t]``."""
    half = x.shape[-1] // 2
    frequencies = 10_000.0 ** (-torch.arange(half, device=x.device, dtype=x.dtype) / half)
    angles = positions[:, None, :, None].to(x.dtype) * frequencies  # [B, 1, t, d/2]
    cos, sin = angles.cos(), angles.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], -1).flatten(-2)


class Block(nn.Module):
    """Pre-norm attention and feed-forward, each on a residual branch."""

    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.heads, self.dropout, self.rotary = c.heads, c.dropout, c.positions == "rotary"
        self.norm1, self.norm2 = nn.LayerNorm(c.dim), nn.LayerNorm(c.dim)
        self.qkv = nn.Linear(c.dim, 3 * c.dim)
        self.out = nn.Linear(c.dim, c.dim)
        ff = c.ff_dim or 4 * c.dim
        self.ff = nn.Sequential(nn.Linear(c.dim, ff), nn.GELU(), nn.Linear(ff, c.dim))
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                mask: torch.Tensor | None, positions: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x [B, t, D]`` after the cached ``keys``/``values [B, H, L, D/H]``; ``mask [B, 1,
        t, L + t]`` (True: attend), or ``None`` for plain causal attention with no cache."""
        batch, t, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(batch, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        if self.rotary:
            q, k = rotate(q, positions), rotate(k, positions)
        k, v = torch.cat([keys, k], 2), torch.cat([values, v], 2)
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=mask is None and t > 1,
            dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.out(attended.transpose(1, 2).reshape(batch, t, dim)))
        return x + self.drop(self.ff(self.norm2(x))), k, v


class TransformerLM(LinearHeadPolicy):
    """Embedding (+ learned positions) -> blocks -> final norm -> linear over the vocabulary.
    With ``tied`` the output layer is the embedding, which SeqGAN's delayed copy
    (``blend_from``) copies rather than blends, like every embedding.

    >>> lm = TransformerLM(TransformerConfig(vocab_size=10, dim=16, heads=2))
    >>> s = lm.sample(4, max_len=6, generator=torch.Generator().manual_seed(0))
    >>> lm.log_prob(s.tokens, s.lengths).shape
    torch.Size([4, 6])
    """

    config_class = TransformerConfig
    capabilities = frozenset({"unconditional", "likelihood", "soft_inputs", "prefix_states"})

    def __init__(self, config: TransformerConfig):
        super().__init__()
        c = self.config = config
        if c.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {c.positions!r}")
        self.embedding = nn.Embedding(c.vocab_size, c.dim)
        self.position = nn.Embedding(c.max_positions, c.dim) if c.positions == "learned" else None
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.vocab_size)
        for name, parameter in self.named_parameters():
            if parameter.dim() > 1:  # GPT-2's scheme: small weights, residual outputs smaller
                std = c.init_std / (math.sqrt(2 * c.layers) if name.endswith(("out.weight",
                                                                                "ff.2.weight"))
                                    else 1.0)
                nn.init.normal_(parameter, 0.0, std)
            elif "norm" not in name:
                nn.init.zeros_(parameter)
        if c.tied:
            self.head.weight = self.embedding.weight

    feature_dim = property(lambda self: self.config.dim)

    def initial_state(self, batch: int, context: Any = None) -> KVCache:
        """An empty cache. A language model takes no context."""
        if context is not None:
            raise ValueError("TransformerLM is unconditional: it takes no context")
        c, device = self.config, self.head.weight.device
        empty = self.head.weight.new_zeros(batch, c.heads, 0, c.dim // c.heads)
        return KVCache((empty,) * c.layers, (empty,) * c.layers,
                       torch.ones(batch, 0, dtype=torch.bool, device=device),
                       torch.zeros(batch, dtype=torch.long, device=device))

    def _trunk(self, inputs: torch.Tensor, state: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """``inputs [B, t]`` ids (or ``[B, t, V]`` distributions) read after ``state`` ->
        ``(features [B, t, D], state)`` with their keys and values cached."""
        batch, t = inputs.shape[:2]
        if state is None:
            state = self.initial_state(batch)
        positions = state.position[:, None] + torch.arange(t, device=inputs.device)
        x = inputs @ self.embedding.weight if inputs.is_floating_point() else self.embedding(inputs)
        if self.position is not None:
            if int(positions.max()) >= self.config.max_positions:
                raise ValueError(f"position {int(positions.max())} is past the "
                                 f"{self.config.max_positions} this model learned; use "
                                 "rotary positions for longer sequences")
            x = x + self.position(positions)
        x = self.drop(x)
        cached = state.real.shape[1]
        mask = None  # no cache: plain causal attention; one position after an unpadded cache
        if cached and (t > 1 or not bool(state.real.all())):  # sees everything: no mask either
            causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            mask = torch.cat([state.real[:, None, None, :].expand(batch, 1, t, cached),
                              causal.expand(batch, 1, t, t)], dim=3)
        keys, values = [], []
        for block, k, v in zip(self.blocks, state.keys, state.values, strict=True):
            x, k, v = block(x, k, v, mask, positions)
            keys.append(k)
            values.append(v)
        real = torch.cat([state.real, state.real.new_ones(batch, t)], dim=1)
        return self.norm(x), KVCache(tuple(keys), tuple(values), real, state.position + t)

    def forward(self, inputs: torch.Tensor, state: KVCache | None = None
                ) -> tuple[torch.Tensor, KVCache]:
        """``inputs [B, t]`` ids (or ``[B, t, V]`` distributions) -> ``(logits [B, t, V], state)``."""
        features, state = self._trunk(inputs, state)
        return self.head(features), state

    def step(self, inputs: torch.Tensor, state: KVCache) -> tuple[torch.Tensor, KVCache]:
        """One position: ``inputs [B]`` ids (or ``[B, V]`` distributions) -> ``(logits [B, V],
        state)``; reads the cache, never the prefix again."""
        logits, state = self(inputs[:, None], state)
        return logits[:, 0], state

    @torch.no_grad()
    def prefix_states(self, tokens: torch.Tensor, context: Any = None
                      ) -> tuple[torch.Tensor, Callable[[torch.Tensor, torch.Tensor], KVCache]]:
        """One teacher-forced pass over ``tokens [B, T]`` that keeps every key and value:
        ``logits [B, T, V]`` and ``state_at(t [R], b [R])``, the cache after reading the start
        token and ``tokens[b, :t]``, rows left-padded to the longest prefix."""
        features, full = self._trunk(self.teacher_inputs(tokens), self.initial_state(len(tokens),
                                                                                     context))

        def state_at(t: torch.Tensor, b: torch.Tensor) -> KVCache:
            width = int(t.max()) + 1
            source = torch.arange(width, device=t.device) - (width - 1 - t[:, None])  # [R, L]
            real = source >= 0
            index = source.clamp(min=0)[:, None, :, None]

            def gather(cached: torch.Tensor) -> torch.Tensor:
                rows = cached[:, :, :width][b]  # [R, H, L, d]: only the columns kept
                return rows.gather(2, index.expand(-1, rows.shape[1], -1, rows.shape[3]))

            return KVCache(tuple(map(gather, full.keys)), tuple(map(gather, full.values)), real,
                           t + 1)

        return self.head(features), state_at

    def select_state(self, state: KVCache, rows: slice | torch.Tensor) -> KVCache:
        """The rows ``rows`` of a cache."""
        return KVCache(tuple(k[rows] for k in state.keys), tuple(v[rows] for v in state.values),
                       state.real[rows], state.position[rows])
