"""SeqGAN's CNN discriminator as a learned reward (the IRL reading: a reward fitted to tell
expert demonstrations from the policy's samples)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from textrl.data.corpus import length_mask
from textrl.models.modes import eval_mode
from textrl.optimization import adam
from textrl.rewards.base import Batch, LearnedReward

# SeqGAN's discriminator (authors' code): filter sizes and counts, 1,720 features in all.
SEQGAN_FILTER_SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
SEQGAN_NUM_FILTERS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)

# Reward forms of a discriminator logit z, D = sigmoid(z) = P(real).
REWARD_FORMS = {
    "d": torch.sigmoid,  # SeqGAN
    "log_d": nn.functional.logsigmoid,  # MaskGAN
    "airl": lambda z: z,  # log D - log(1 - D)
    "gail": nn.functional.softplus,  # -log(1 - D)
}


class CNNEncoder(nn.Module):
    """SeqGAN's sentence encoder: embedding -> parallel convolutions with max-over-time
    pooling -> highway. ``forward(tokens [B, T], lengths [B]) -> [B, sum(num_filters)]``."""

    def __init__(self, vocab_size: int, emb_dim: int = 64,
                 filter_sizes: tuple[int, ...] = SEQGAN_FILTER_SIZES,
                 num_filters: tuple[int, ...] = SEQGAN_NUM_FILTERS):
        super().__init__()
        if len(filter_sizes) != len(num_filters):
            raise ValueError("filter_sizes and num_filters must have the same length")
        self.max_filter = max(filter_sizes)
        self.features = sum(num_filters)
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.convs = nn.ModuleList(nn.Conv1d(emb_dim, n, k)
                                   for k, n in zip(filter_sizes, num_filters, strict=True))
        self.highway_transform = nn.Linear(self.features, self.features)
        self.highway_gate = nn.Linear(self.features, self.features)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``tokens [B, T]`` ids, or ``[B, T, V]`` distributions (a Gumbel-softmax GAN's
        relaxed one-hots; a one-hot row reads exactly like its id)."""
        mask = length_mask(lengths, tokens.shape[1])
        embedded = (tokens @ self.embedding.weight if tokens.is_floating_point()
                    else self.embedding(tokens))
        x = embedded * mask[..., None]  # padding contributes nothing
        if x.shape[1] < self.max_filter:  # every filter needs a full window
            x = nn.functional.pad(x, (0, 0, 0, self.max_filter - x.shape[1]))
        x = x.transpose(1, 2)  # [B, E, T]
        h = torch.cat([torch.relu(conv(x)).amax(dim=2) for conv in self.convs], dim=1)
        gate = torch.sigmoid(self.highway_gate(h))
        return gate * torch.relu(self.highway_transform(h)) + (1 - gate) * h


class CNNDiscriminator(LearnedReward):
    """``CNNEncoder`` -> dropout -> one logit of "real". Trained with Adam on real vs
    generated batches; the L2 penalty is on the output layer, as in SeqGAN.

    ``__call__(tokens [B, T], lengths [B]) -> [B]`` is the reward in ``reward_form``.

    >>> d = CNNDiscriminator(vocab_size=20, filter_sizes=(1, 2), num_filters=(4, 4))
    >>> x = torch.randint(20, (3, 6))
    >>> d(x, torch.full((3,), 6)).shape
    torch.Size([3])
    """

    def __init__(self, vocab_size: int, emb_dim: int = 64,
                 filter_sizes: tuple[int, ...] = SEQGAN_FILTER_SIZES,
                 num_filters: tuple[int, ...] = SEQGAN_NUM_FILTERS, dropout: float = 0.25,
                 l2: float = 0.2, lr: float = 1e-4, reward_form: str = "d"):
        super().__init__()
        if reward_form not in REWARD_FORMS:
            raise ValueError(f"reward_form must be one of {sorted(REWARD_FORMS)}")
        self.reward_form, self.l2 = reward_form, l2
        self.encoder = CNNEncoder(vocab_size, emb_dim, filter_sizes, num_filters)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(self.encoder.features, 1)
        self.optimizer = adam(self.parameters(), lr=lr)

    def logits(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``[B]`` logit of P(real)."""
        return self.out(self.dropout(self.encoder(tokens, lengths))).squeeze(1)

    @torch.no_grad()
    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor,
                context: Any = None) -> torch.Tensor:
        with eval_mode(self):
            return REWARD_FORMS[self.reward_form](self.logits(tokens, lengths))

    def update(self, real: Batch, fake: Batch, context: Any = None) -> dict[str, float]:
        """One d-step on ``(tokens, lengths)`` of real and of generated sequences (padded to
        the same length): binary cross-entropy plus L2 on the output layer."""
        self.train()
        tokens = torch.cat([real[0], fake[0]])
        lengths = torch.cat([real[1], fake[1]])
        labels = torch.cat([real[0].new_ones(len(real[0]), dtype=torch.float),
                            real[0].new_zeros(len(fake[0]), dtype=torch.float)])
        z = self.logits(tokens, lengths)
        bce = nn.functional.binary_cross_entropy_with_logits(z, labels)
        penalty = 0.5 * (self.out.weight.square().sum() + self.out.bias.square().sum())
        loss = bce + self.l2 * penalty
        self.optimize(loss, "discriminator update")
        accuracy = ((z > 0).float() == labels).float().mean()
        return {"loss": loss.item(), "bce": bce.item(), "accuracy": accuracy.item()}
