"""What users do with a sentence VAE's code space: read sentences into codes, decode codes
greedily, reconstruct from the posterior, and walk between two sentences (Bowman et al.
2016, §6: Table 7's posterior decodes, Table 8's homotopies)."""

from __future__ import annotations

import torch

from textrl.data.tokenizers import Tokenizer
from textrl.data.vocab import Vocab
from textrl.errors import UserError
from textrl.models.modes import eval_mode
from textrl.models.vae import SentenceVAE


def encode_texts(texts: list[str], vocab: Vocab, tokenizer: Tokenizer, max_len: int,
                 device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """``(tokens [N, T], lengths [N])`` of ``texts`` with EOS appended; a UserError for an
    empty text, a text of unknown words only, or one longer than ``max_len - 1`` words."""
    if vocab.eos_id is None:
        raise UserError("this run reads an oracle's token ids, not text; reconstruct and "
                        "interpolate need a run trained on sentences")
    rows = []
    for number, text in enumerate(texts, 1):
        words = tokenizer.tokenize(text)
        if not words:
            raise UserError(f"sentence {number} is empty; give words to encode")
        if len(words) > max_len - 1:
            raise UserError(f"sentence {number} has {len(words)} words; this model reads at "
                            f"most {max_len - 1}")
        ids = vocab.encode(words)
        if all(i == vocab.unk_id for i in ids):
            raise UserError(f"sentence {number} ({text!r}): none of its words is in the "
                            "model's vocabulary")
        rows.append([*ids, vocab.eos_id])
    lengths = torch.tensor([len(r) for r in rows], device=device)
    tokens = torch.full((len(rows), max(lengths.tolist())), vocab.fill_id, device=device)
    for i, row in enumerate(rows):
        tokens[i, :len(row)] = torch.tensor(row)
    return tokens, lengths


@torch.no_grad()
def decode(vae: SentenceVAE, z: torch.Tensor, max_len: int, vocab: Vocab,
           tokenizer: Tokenizer) -> list[str]:
    """Greedy decodes of the codes ``z [N, Z]`` (x_t = argmax p(x_t | x_<t, z))."""
    with eval_mode(vae):
        sample = vae.sample(len(z), max_len, temperature=0.0, context=z)
    return vocab.texts(sample.tokens, sample.lengths, tokenizer)


@torch.no_grad()
def posterior_codes(vae: SentenceVAE, tokens: torch.Tensor, lengths: torch.Tensor,
                    n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``[N, 1 + n_samples, Z]``: each sentence's posterior mean, then ``n_samples`` codes
    drawn from q(z|x)."""
    with eval_mode(vae):
        mu, logvar = vae.encode(tokens, lengths)
    eps = torch.randn(len(mu), n_samples, mu.shape[1], generator=generator, device=mu.device)
    return torch.cat([mu[:, None], mu[:, None] + (0.5 * logvar).exp()[:, None] * eps], dim=1)


def homotopy(z1: torch.Tensor, z2: torch.Tensor, steps: int) -> torch.Tensor:
    """``[steps, Z]``: z(t) = (1 - t) z1 + t z2 at ``steps`` evenly spaced t from 0 to 1."""
    if steps < 2:
        raise UserError(f"--steps must be >= 2 (both ends), got {steps}")
    t = torch.linspace(0.0, 1.0, steps, device=z1.device)[:, None]
    return (1 - t) * z1 + t * z2
