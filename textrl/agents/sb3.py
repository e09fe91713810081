"""Running stable-baselines3 algorithms on the text environments.

``policy_kwargs()`` gives SB3's ``"MlpPolicy"`` a features extractor that reads the
observation as what it is (token ids, not floats): it casts the ids back to integers,
embeds them and runs a recurrent layer over the prefix. ``use_fast_sampler(model)`` swaps
the policy's categorical distribution for one that samples with textrl's exact sampler
(``torch.distributions.Categorical.sample`` at V = 5,000 is many times slower).
SB3 builds the distribution inside the policy from the action space, and no
``policy_kwargs`` key reaches it, hence the second call.

>>> import gymnasium, textrl
>>> from stable_baselines3 import PPO
>>> env = gymnasium.make("textrl/TextGeneration-v0")
>>> model = use_fast_sampler(PPO("MlpPolicy", env, n_steps=32, batch_size=32,
...                              policy_kwargs=policy_kwargs()))
>>> model = model.learn(32)
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from textrl.models.base import Policy
from textrl.models.sampling import sample_categorical


class PrefixEncoder(BaseFeaturesExtractor):
    """Observation ``[B, T + 1]`` (padded prefix ids, then the position p, as floats) ->
    features ``[B, hidden_dim]``: the recurrent state after reading a start token and the
    ``p`` prefix tokens (what textrl's own ``RecurrentLM`` conditions on).

    With ``last_token=True`` the features are the embedding of the last token written (the
    start token at p = 0) and the position: for policies with their own recurrent state,
    such as sb3-contrib's ``RecurrentPPO``.
    """

    def __init__(self, observation_space: spaces.Box, vocab_size: int, emb_dim: int = 32,
                 hidden_dim: int = 32, last_token: bool = False):
        features = emb_dim + 1 if last_token else hidden_dim
        super().__init__(observation_space, features)
        self.max_len = observation_space.shape[0] - 1
        self.vocab_size, self.last_token = vocab_size, last_token
        # One extra id for the start token, which may not exist in the vocabulary.
        self.embedding = nn.Embedding(vocab_size + 1, emb_dim)
        self.rnn = None if last_token else nn.LSTM(emb_dim, hidden_dim, batch_first=True)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        ids = observations[:, :self.max_len].round().long().clamp(0, self.vocab_size - 1)
        position = observations[:, self.max_len].round().long().clamp(0, self.max_len)
        start = ids.new_full((len(ids), 1), self.vocab_size)
        inputs = torch.cat([start, ids], dim=1)  # inputs[:, p] is the last token read
        if self.last_token:
            last = inputs[torch.arange(len(inputs)), position]
            return torch.cat([self.embedding(last), position[:, None].float() / self.max_len], 1)
        outputs, _ = self.rnn(self.embedding(inputs))  # causal: padding after p is never read
        return outputs[torch.arange(len(outputs)), position]


class PolicyEncoder(BaseFeaturesExtractor):
    """Observation ``[B, T + 1]`` -> features ``[B, F]``: what a textrl policy of any family
    (``Policy.teacher_forced``: an LSTM, a Transformer, a Hugging Face model) reads after the
    start token and the ``p`` prefix tokens, so SB3's heads act on that policy's features."""

    def __init__(self, observation_space: spaces.Box, policy: Policy):
        super().__init__(observation_space, policy.feature_dim)
        self.policy = policy
        self.max_len = observation_space.shape[0] - 1

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        ids = observations[:, :self.max_len].round().long().clamp(0, self.policy.vocab_size - 1)
        position = observations[:, self.max_len].round().long().clamp(0, self.max_len - 1)
        _, features = self.policy.teacher_forced(ids)  # causal: what follows p is unread
        return features[torch.arange(len(features)), position]


def policy_kwargs(vocab_size: int = 5000, emb_dim: int = 32, hidden_dim: int = 32,
                  last_token: bool = False, net_arch: dict | None = None,
                  policy: Policy | None = None) -> dict:
    """``policy_kwargs`` for SB3's ``"MlpPolicy"`` (PPO, A2C) on a text env of
    ``vocab_size`` actions; ``last_token=True`` for ``RecurrentPPO``'s ``"MlpLstmPolicy"``;
    ``policy``: read the prefix with this textrl policy instead (any family, e.g. a
    ``TransformerLM``; its weights are trained with SB3's, and SB3's orthogonal
    re-initialisation is off so that a pretrained policy keeps its weights)."""
    extractor = (PolicyEncoder, {"policy": policy}) if policy is not None else (
        PrefixEncoder, {"vocab_size": vocab_size, "emb_dim": emb_dim, "hidden_dim": hidden_dim,
                        "last_token": last_token})
    kwargs = {"features_extractor_class": extractor[0], "features_extractor_kwargs": extractor[1],
              "net_arch": net_arch if net_arch is not None else {"pi": [], "vf": [64]}}
    return kwargs | ({"ortho_init": False} if policy is not None else {})


class FastCategoricalDistribution(CategoricalDistribution):
    """SB3's categorical distribution, sampling with textrl's inverse-CDF sampler (exact;
    the same distribution as ``torch.multinomial``)."""

    generator: torch.Generator | None = None

    def sample(self) -> torch.Tensor:
        ids, _ = sample_categorical(self.distribution.logits, generator=self.generator)
        return ids


def use_fast_sampler(model, generator: torch.Generator | None = None):
    """Make ``model.policy`` (any SB3 / sb3-contrib algorithm with a discrete action space)
    sample with ``FastCategoricalDistribution``; returns ``model``."""
    policy = model.policy
    if not isinstance(policy.action_dist, CategoricalDistribution):
        raise TypeError("use_fast_sampler needs a Discrete action space (a categorical policy)")
    if generator is not None and generator.device.type != policy.device.type:
        raise ValueError(f"use_fast_sampler: the generator is on {generator.device} but the "
                         f"policy on {policy.device}; pass torch.Generator(device=model.device)")
    fast = FastCategoricalDistribution(policy.action_dist.action_dim)
    fast.generator = generator
    policy.action_dist = fast
    return model
