"""What every textrl generator module shares, whatever its layers: shifted teacher inputs,
SeqGAN's delayed copy, sampling through the one generation loop, and its checkpoint dict."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar, NamedTuple

import torch
from torch import nn

from textrl.data.corpus import length_mask
from textrl.models.base import Sample
from textrl.models.generation import generate
from textrl.models.token_log_probs import token_log_probs, token_log_probs_and_entropy


class ScoreInputs(NamedTuple):
    """What scoring a batch of tokens reads from a policy (``PolicyModule._score_inputs``)."""

    features: torch.Tensor
    """``[B, T, F]`` teacher-forced"""
    scored: torch.Tensor
    """``BoolTensor[B, T]``: the real positions, less those the context gives"""
    weight: torch.Tensor
    """``[V, F]`` the output layer's"""
    bias: torch.Tensor | None
    """``[V]`` or None"""


class TokenScores(NamedTuple):
    """A batch of tokens scored under a policy, with gradients (``token_scores``)."""

    log_probs: torch.Tensor
    """``[B, T]``, 0 off the scored positions"""
    entropy: torch.Tensor
    """``[B, T]`` of each scored position's distribution, 0 elsewhere"""
    features: torch.Tensor
    """``[B, T, F]``"""


def scores_from_logits(policy: Any, tokens: torch.Tensor, lengths: torch.Tensor,
                       context: Any = None) -> TokenScores:
    """:class:`TokenScores` from ``policy.teacher_forced``'s ``[B, T, V]`` logits: the route
    for a policy that cannot give its features and output layer apart (``_score_inputs``)."""
    logits, features = policy.teacher_forced(tokens, context)
    valid = length_mask(lengths, tokens.shape[1])
    log_probs = torch.log_softmax(logits, dim=-1)
    chosen = log_probs.gather(2, tokens[..., None]).squeeze(2)
    # 0 log 0 = 0 for tokens a policy rules out (log-probability -inf: an in-filler's given
    # positions); finite log-probabilities pass the clamp unchanged.
    finite = log_probs.clamp(min=torch.finfo(log_probs.dtype).min)
    entropy = -(log_probs.exp() * finite).sum(-1)
    return TokenScores(chosen * valid, entropy * valid, features)


class PolicyModule(nn.Module):
    """Base of the policies: a subclass sets ``config_class`` (a dataclass with
    ``vocab_size``, ``start_id``, ``eos_id`` and ``pad_id``, which the policy reads through)
    and keeps its config in ``self.config``; its word embeddings are named ``embedding``."""

    config_class: ClassVar[type]
    config: Any
    vocab_size = property(lambda self: self.config.vocab_size)
    start_id = property(lambda self: self.config.start_id)
    eos_id = property(lambda self: self.config.eos_id)
    pad_id = property(lambda self: self.config.pad_id)

    def teacher_inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` targets -> ``[B, T]`` inputs: the start token, then targets shifted right."""
        start = tokens.new_full((tokens.shape[0], 1), self.config.start_id)
        return torch.cat([start, tokens[:, :-1]], dim=1)

    @torch.no_grad()
    def blend_from(self, source: PolicyModule, rate: float) -> None:
        """SeqGAN's delayed copy: embeddings copied, every other weight
        ``self <- rate * self + (1 - rate) * source``."""
        for (name, beta), theta in zip(self.named_parameters(), source.parameters(), strict=True):
            if name.startswith("embedding."):
                beta.copy_(theta)
            else:
                beta.mul_(rate).add_(theta, alpha=1.0 - rate)

    @torch.no_grad()
    def sample(self, n: int, max_len: int, temperature: float = 1.0, context: Any = None,
               prefix: torch.Tensor | None = None, generator: torch.Generator | None = None,
               chunk: int = 512) -> Sample:
        """Draw ``n`` sequences of at most ``max_len`` tokens (no gradients), under
        ``context`` when the policy takes one.

        ``prefix [n, P]`` (P < max_len, no EOS) is kept as given and continued. The returned
        ``log_probs`` are those of the tempered sampling distribution, 0 on the prefix, on
        given tokens and on padding; for gradients recompute them with ``log_prob``. Call
        ``eval()`` first to sample without dropout.
        """
        return generate(self, n, max_len, temperature, context, prefix, generator, chunk)

    def _score_inputs(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any,
                      inputs: torch.Tensor | None) -> ScoreInputs | None:
        """What scoring ``tokens [B, T]`` reads: the teacher-forced features (on ``inputs``
        when given), the positions the policy chose (real, and not given by the context),
        and its output layer. ``None`` (this default): the policy has no linear output layer
        to read apart; it implements ``log_prob`` itself, and ``token_scores`` reads its
        ``teacher_forced`` logits."""
        return None

    def log_prob(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any = None,
                 temperature: float = 1.0, inputs: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, T]`` log-probability of each target token, 0 on padding (and on tokens the
        context gives), under the distribution ``sample`` draws from at ``temperature``
        (> 0); teacher-forced on ``inputs [B, T]`` instead of the shifted tokens when given
        (scheduled sampling, word dropout). Only scored positions reach the output layer
        (:func:`~textrl.models.token_log_probs.token_log_probs`)."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0 to score tokens, got {temperature}")
        read = self._score_inputs(tokens, lengths, context, inputs)
        if read is None:
            raise NotImplementedError(f"{type(self).__name__} implements neither log_prob nor "
                                      "_score_inputs")
        features, scored, weight, bias = read
        chosen = token_log_probs(features[scored], weight, bias, tokens[scored], temperature)
        return features.new_zeros(tokens.shape).masked_scatter(scored, chosen)

    def token_scores(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any = None
                     ) -> TokenScores:
        """``log_prob`` of ``tokens [B, T]`` with each position's entropy and the features,
        with gradients, in one pass over the output layer (the actor-critic agents' inputs,
        :func:`~textrl.models.token_log_probs.token_log_probs_and_entropy`), or from its
        ``teacher_forced`` logits when ``_score_inputs`` gives nothing."""
        read = self._score_inputs(tokens, lengths, context, None)
        if read is None:
            return scores_from_logits(self, tokens, lengths, context)
        features, scored, weight, bias = read
        chosen, entropy = token_log_probs_and_entropy(features[scored], weight, bias,
                                                      tokens[scored])
        zeros = features.new_zeros(tokens.shape)
        return TokenScores(zeros.masked_scatter(scored, chosen),
                           zeros.masked_scatter(scored, entropy), features)

    def to_dict(self) -> dict:
        """Class, config and weights, loadable with ``torch.load(weights_only=True)``."""
        return {"class": type(self).__name__, "config": asdict(self.config),
                "state_dict": self.state_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> PolicyModule:
        model = cls(cls.config_class(**data["config"]))
        model.load_state_dict(data["state_dict"])
        return model


class LinearHeadPolicy(PolicyModule):
    """A policy whose ``_trunk(inputs [B, t], state) -> (features [B, t, F], state)`` feeds a
    linear output layer ``head`` (the language model, the VAE's decoder): teacher forcing
    and the log-probability path are the same for all of them."""

    def teacher_forced(self, tokens: torch.Tensor, context: Any = None,
                       inputs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [B, T, V], features [B, T, F])``: ``logits[:, t]`` predicts
        ``tokens[:, t]`` from the start token and ``tokens[:, :t]``, or from ``inputs [B, T]``
        when given."""
        state = self.initial_state(tokens.shape[0], context)
        features, _ = self._trunk(self.teacher_inputs(tokens) if inputs is None else inputs, state)
        return self.head(features), features

    def _score_inputs(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any,
                      inputs: torch.Tensor | None) -> ScoreInputs:
        state = self.initial_state(len(tokens), context)
        features, _ = self._trunk(self.teacher_inputs(tokens) if inputs is None else inputs, state)
        return ScoreInputs(features, length_mask(lengths, tokens.shape[1]), self.head.weight,
                           self.head.bias)
