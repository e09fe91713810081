"""MaskGAN's discriminator and critic: a reward for every word the generator wrote.

The discriminator has the generator's shape (:class:`~textrl.models.Seq2SeqGenerator`):
an encoder reads the template, a decoder reads the filled sentence ``x~`` with attention
over the template, and a linear head gives one logit of "real" per position. The decoder
reads ``x~_t`` at step t, so the score of position t sees the template and ``x~_0..t``
(MaskGAN's ``D(x~_t | x~_0:T, m(x))`` restricted to the left, as in the authors' code).
Rewards are paid at the missing positions only, in one of ``REWARD_FORMS`` (MaskGAN:
``log_d``).

The critic estimates, before each word, the discounted return of the rewards to come; it is
the baseline of the actor-critic agent (``ActorCritic(critic=reward.value_critic())``, which
trains it). It reads the discriminator's weights without training them and has its own
linear head, in one of two forms:

- ``context`` (the paper: all of D but the head is shared): D's encoder and decoder, with
  attention over the template, run on ``x~`` shifted right by one, so the value at t
  depends on the template and ``x~_<t`` only.
- ``authors`` (the released code): D's decoder LSTM alone over the shifted ``x~`` from a
  zero state and a zero first input: no template, no attention.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from textrl import distributed
from textrl.data.corpus import length_mask
from textrl.errors import UserError
from textrl.models.modes import eval_mode
from textrl.models.seq2seq import Infill, Seq2SeqConfig, Seq2SeqGenerator
from textrl.optimization import adam
from textrl.rewards.base import Batch, LearnedReward
from textrl.rewards.discriminator import REWARD_FORMS

CRITIC_FORMS = ("context", "authors")
D_INITS = ("random", "generator")


def missing(lengths: torch.Tensor, context: Infill) -> torch.Tensor:
    """``[B, T]`` True at the positions the generator filled (missing, within the length)."""
    return length_mask(lengths, context.present.shape[1]).bool() & ~context.present


class TokenDiscriminator(LearnedReward):
    """Per-position real/fake logits over filled templates (see the module docstring).

    ``__call__(tokens [B, T], lengths [B], context=Infill) -> [B, T]`` rewards, 0 at given
    positions and padding. ``update(real, fake, context)``: one step of the GAN log-loss on
    the missing positions of real sentences and of their fills (rows aligned with the
    context's templates).
    """

    token_level = True
    causal = True
    task = "infill"  # it reads the templates the sentences were filled from

    def __init__(self, vocab_size: int, emb_dim: int = 64, hidden_dim: int = 64,
                 num_layers: int = 1, dropout: float = 0.0, lr: float = 5e-4,
                 reward_form: str = "log_d", critic: str = "context", start_id: int = 0,
                 pad_id: int = 0):
        super().__init__()
        if reward_form not in REWARD_FORMS:
            raise ValueError(f"reward_form must be one of {sorted(REWARD_FORMS)}")
        if critic not in CRITIC_FORMS:
            raise ValueError(f"critic must be one of {CRITIC_FORMS}, got {critic!r}")
        self.reward_form = reward_form
        self.body = Seq2SeqGenerator(Seq2SeqConfig(
            vocab_size, emb_dim, hidden_dim, num_layers, dropout, start_id=start_id,
            pad_id=pad_id))
        self.head = nn.Linear(emb_dim, 1)
        self.critic = InfillCritic(self.body, critic)
        # The body's tied-output bias has no role here; the critic trains its own head.
        trained = [p for name, p in self.named_parameters()
                   if name != "body.output_bias" and not name.startswith("critic.")]
        self.optimizer = adam(trained, lr=lr)

    def start_from(self, generator: nn.Module) -> None:
        """Copy ``generator``'s weights (a :class:`~textrl.models.Seq2SeqGenerator` of the same sizes: its
        embedding, encoder, decoder, attention and output projection) into the discriminator's
        body, as the authors' code starts its discriminator from the MaskMLE checkpoint; the
        head stays new. A ``UserError`` names the sizes that differ."""
        mine, theirs = self.body.state_dict(), generator.state_dict()
        differ = sorted(k for k in mine.keys() | theirs.keys()
                        if k not in mine or k not in theirs or mine[k].shape != theirs[k].shape)
        if differ:
            raise UserError(f"--d-init generator copies the generator into the discriminator, "
                            f"but their weights differ in shape ({', '.join(differ[:4])}): give "
                            "--d-emb-dim, --d-hidden-dim and --d-num-layers equal to the "
                            "generator's emb_dim, hidden_dim and num_layers, or --d-init random")
        with torch.no_grad():
            for name, value in self.body.state_dict(keep_vars=True).items():
                value.copy_(theirs[name])

    def value_critic(self) -> InfillCritic:
        return self.critic

    def logits(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Infill
               ) -> torch.Tensor:
        """``[B, T]`` logits of "real" for each position of the filled ``tokens``."""
        if context is None:
            raise ValueError("TokenDiscriminator scores fills of templates: give the Infill "
                             "context the sentences were filled from")
        features, _ = self.body.decode(tokens, self.body.initial_state(len(tokens), context))
        return self.head(features).squeeze(-1)

    @torch.no_grad()
    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor,
                context: Infill | None = None) -> torch.Tensor:
        with eval_mode(self):
            rewards = REWARD_FORMS[self.reward_form](self.logits(tokens, lengths, context))
        return rewards * missing(lengths, context)

    def update(self, real: Batch, fake: Batch, context: Infill | None = None) -> dict[str, float]:
        """The authors' loss: ``(BCE(real, 1) + BCE(fake, 0)) / 2`` over the missing positions."""
        if context is None or len(real[0]) != len(fake[0]):
            raise ValueError("a TokenDiscriminator step needs the templates (context) that the "
                             "real and the fake rows share")
        self.train()
        both = Infill(*(torch.cat([part, part]) for part in context))
        tokens = torch.cat([real[0], fake[0]])
        lengths = torch.cat([real[1], fake[1]])
        z = self.logits(tokens, lengths, both)
        weights = missing(lengths, both).float()
        labels = torch.cat([torch.ones_like(real[0]), torch.zeros_like(fake[0])]).float()
        bce = nn.functional.binary_cross_entropy_with_logits(z, labels, reduction="none")
        # Means over the blanks of the global batch (under torchrun, of every process's share).
        n_real, n_fake = (distributed.mean_denominator(weights[:len(real[0])].sum()).clamp(min=1),
                          distributed.mean_denominator(weights[len(real[0]):].sum()).clamp(min=1))
        loss = ((bce * weights)[:len(real[0])].sum() / n_real
                + (bce * weights)[len(real[0]):].sum() / n_fake) / 2
        self.optimize(loss, "token discriminator update")
        correct = ((z > 0).float() == labels).float() * weights
        return {"loss": loss.item(), "accuracy": (correct.sum() / weights.sum().clamp(min=1)).item(),
                "real_prob": (torch.sigmoid(z[:len(real[0])]) * weights[:len(real[0])]).sum().item()
                / n_real.item()}


class InfillCritic(nn.Module):
    """Values ``[B, T]`` of the state before each word: a linear head on the discriminator's
    features of the sentence shifted right (see the module docstring for the two forms).
    Its parameters are the head's alone; the discriminator's weights are read, not trained."""

    def __init__(self, body: Seq2SeqGenerator, form: str = "context"):
        super().__init__()
        self.form = form
        self._shared = (body,)  # a tuple: not registered, so parameters() is the head's
        width = body.config.emb_dim if form == "context" else body.config.hidden_dim
        self.head = nn.Linear(width, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor, context: Any = None
                ) -> torch.Tensor:
        body = self._shared[0]
        with torch.no_grad(), eval_mode(body):
            if self.form == "context":
                state = body.initial_state(len(tokens), context)
                features, _ = body.decode(body.teacher_inputs(tokens), state)
            else:
                embedded = body.embedding(tokens[:, :-1])
                first = embedded.new_zeros(len(tokens), 1, embedded.shape[-1])
                features, _ = body.decoder(torch.cat([first, embedded], 1))
        return self.head(features).squeeze(-1) * length_mask(lengths, tokens.shape[1])
