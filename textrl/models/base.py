"""The surface every generator offers to agents, rewards, environments and evaluation.

Nothing outside :mod:`textrl.models` reads a model's layers: a trainer, an agent or a reward
holds a ``Policy`` (or, for evaluation, a ``SequenceModel``) and calls these methods only.

Shapes: ``B`` sentences, ``T`` positions, ``V`` vocabulary, ``F`` feature size. Sequences
follow textrl's mask convention (:mod:`textrl.data.corpus`): ``start_id`` is fed before
position 0 and never stored; with ``eos_id=None`` sequences have a fixed length.

Context is whatever conditions generation: an encoder's memory for attention (in-filling),
a code z (a VAE decoder, a latent-space GAN), or ``None`` (a language model). A policy
that takes no context refuses one, so a conditional task never silently runs on an
unconditional model.

What a model can do beyond sampling is declared in its class's ``capabilities``, and what a
recipe, task or command needs of it is checked against them with :func:`require` (never by
its class):

- ``unconditional``: generates a sentence from the start token with no context;
- ``likelihood``: ``log_prob(tokens, lengths)`` is the exact likelihood of a sentence
  (NLL-test, maximum likelihood, the policy-gradient losses);
- ``template``: reads an in-filling template as its context (``Infill``);
- ``soft_inputs``: ``step`` reads distributions over the vocabulary (a Gumbel-softmax GAN);
- ``prefix_states``: ``prefix_states`` / ``state_at`` resume sampling after any prefix
  (Monte-Carlo rollouts);
- ``codes``: a code space (``code_model`` encodes sentences and decodes codes: a VAE, an
  autoencoder, a latent-space GAN's autoencoder);
- ``posterior``: an encoder's posterior over codes, whose likelihood is a bound over codes
  (a VAE's importance-weighted NLL, KL and active units: :mod:`textrl.metrics.latent`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol, runtime_checkable

import torch

from textrl.errors import UserError

State = Any  # a policy's recurrent state: opaque outside the policy that made it


class Sample(NamedTuple):
    """``tokens [B, T]`` (PAD after EOS), ``lengths [B]``, ``log_probs [B, T]`` (0 on padding
    and on given prefix tokens)."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    log_probs: torch.Tensor


@runtime_checkable
class SequenceModel(Protocol):
    """What evaluation needs: draw sentences, and score them when the model has a likelihood
    (``log_prob``; a model without one, such as a latent-space GAN, leaves it out and
    evaluation skips the likelihood metrics)."""

    def sample(self, n: int, max_len: int, temperature: float = 1.0, context: Any = None,
               prefix: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> Sample: ...


@runtime_checkable
class Policy(SequenceModel, Protocol):
    """An autoregressive generator over token ids.

    - ``initial_state(batch, context=None)``: the state before the start token.
    - ``step(inputs, state) -> (logits [B, V], state)``: ``inputs`` are ids ``[B]`` or
      distributions over the vocabulary ``[B, V]`` (a soft one-hot: the Gumbel-softmax path;
      a one-hot row gives exactly what its id gives).
    - ``forward(inputs, state) -> (logits [B, T, V], state)``: ``step`` over ``[B, T]`` ids
      (or ``[B, T, V]`` distributions) at once.
    - ``teacher_forced(tokens, context=None, inputs=None) -> (logits [B, T, V], features
      [B, T, F])``: ``logits[:, t]`` predicts ``tokens[:, t]`` from the start token and
      ``tokens[:, :t]`` (or from ``inputs [B, T]`` fed instead, as scheduled sampling does);
      ``features`` are what the prediction is read from, for value heads (``feature_dim``).
    - ``log_prob(tokens, lengths, context=None, temperature=1.0, inputs=None) -> [B, T]``, 0 on
      padding (teacher-forced on ``inputs`` when given): the training loss path of MLE and
      the RL agents, so implement it with :func:`~textrl.models.token_log_probs.token_log_probs`.
    - ``sample(n, max_len, temperature, context, prefix, generator) -> Sample``.
    - optional, ``token_scores(tokens, lengths, context=None) -> (log_probs [B, T], entropy
      [B, T], features [B, T, F])``: ``log_prob`` with each position's entropy, in one pass
      (``PolicyModule`` has it); without it the agents that need entropies or features
      (actor-critic, an entropy bonus) read them from ``teacher_forced``'s logits.
    - ``prefix_states(tokens, context) -> (logits [B, T, V], state_at)``: a teacher-forced pass
      that keeps every state; ``state_at(t [R], b [R])`` is the state after reading the start
      token and ``tokens[b, :t]``, so sampling can resume after any prefix (Monte-Carlo
      rollouts). ``select_state(state, rows)`` keeps the rows ``rows`` (a slice or ids).
    - ``blend_from(source, rate)``: ``self <- rate * self + (1 - rate) * source`` the way the
      policy's family defines a delayed copy (SeqGAN's rollout network).
    - ``to_dict()`` / ``from_dict(data)``: config and weights, ``weights_only``-loadable.
    """

    vocab_size: int
    start_id: int
    eos_id: int | None
    pad_id: int
    feature_dim: int
    capabilities: frozenset[str]

    def initial_state(self, batch: int, context: Any = None) -> State: ...

    def step(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]: ...

    def forward(self, inputs: torch.Tensor, state: State | None = None
                ) -> tuple[torch.Tensor, State]: ...

    def teacher_forced(self, tokens: torch.Tensor, context: Any = None,
                       inputs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]: ...

    def log_prob(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any = None,
                 temperature: float = 1.0, inputs: torch.Tensor | None = None
                 ) -> torch.Tensor: ...

    def prefix_states(self, tokens: torch.Tensor, context: Any = None) -> tuple[torch.Tensor, Any]: ...

    def select_state(self, state: State, rows: slice | torch.Tensor) -> State: ...

    def blend_from(self, source: Policy, rate: float) -> None: ...

    def to_dict(self) -> dict: ...


CAPABILITY_HELP = {
    "unconditional": "generate a sentence with no context",
    "likelihood": "score a sentence's exact likelihood",
    "template": "read an in-filling template",
    "soft_inputs": "read relaxed one-hot inputs",
    "prefix_states": "resume sampling after a prefix",
    "codes": "encode sentences into codes",
    "posterior": "give a posterior over codes",
}


def require(model: Any, needs: Iterable[str], what: str, fix: str = "") -> None:
    """A UserError unless ``model`` declares every capability of ``needs``; the message says
    which model cannot do what for ``what`` (e.g. "--init runs/vae for `textrl train
    seqgan`"), then ``fix``."""
    missing = sorted(set(needs) - getattr(model, "capabilities", frozenset()))
    if missing:
        cannot = " or ".join(CAPABILITY_HELP.get(m, m) for m in missing)
        raise UserError(f"{what}: a {type(model).__name__} cannot {cannot}"
                        + (f"; {fix}" if fix else ""))
