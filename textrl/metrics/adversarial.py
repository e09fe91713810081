"""Adversarial evaluation (Bowman et al. 2016, §5.2): train a classifier to tell real
sentences from generated (e.g. imputed) ones; its held-out accuracy above chance says how
distinguishable they are. Two classifiers, as the paper: logistic regression on a bag of
unigrams, and an LSTM read to the end of the sentence (after its EOS) with a logistic
output.

``adversarial_error`` is the accuracy's gap above the ideal 50%, in points (lower is better
for the generator): examples are split 80/10/10 (seeded), each classifier trains with Adam
and early stopping on the validation accuracy, and the gap is measured on the test tenth.
"""

from __future__ import annotations

import torch
from torch import nn

from textrl.data.corpus import Split
from textrl.optimization import adam


class UnigramClassifier(nn.Module):
    """Logistic regression on word counts: ``[B, T]`` ids -> ``[B]`` logits."""

    def __init__(self, vocab_size: int, pad_id: int):
        super().__init__()
        self.vocab_size, self.pad_id = vocab_size, pad_id
        self.linear = nn.Linear(vocab_size, 1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        real = torch.arange(tokens.shape[1], device=tokens.device) < lengths[:, None]
        counts = torch.zeros(len(tokens), self.vocab_size, device=tokens.device)
        counts.scatter_add_(1, tokens, real.float())
        return self.linear(counts)[:, 0]


class LSTMClassifier(nn.Module):
    """An LSTM over the sentence, a logistic output on its state after the last token."""

    def __init__(self, vocab_size: int, emb_dim: int = 64, hidden_dim: int = 64):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.lstm = nn.LSTM(emb_dim, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, 1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(tokens),
                                                   lengths.clamp(min=1).cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.out(h[-1])[:, 0]


def _accuracy(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor,
              labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float(((model(tokens, lengths) > 0).float() == labels).float().mean())


def adversarial_error(real: Split, fake: Split, vocab_size: int, pad_id: int,
                      classifier: str = "unigram", seed: int = 0, epochs: int = 30,
                      patience: int = 3, batch_size: int = 64, lr: float = 0.003
                      ) -> dict[str, float]:
    """``{"accuracy", "adversarial_error"}`` of a ``classifier`` ("unigram" or "lstm")
    telling ``real`` from ``fake`` (see the module docstring)."""
    if len(real) < 10 or len(fake) < 10:
        raise ValueError("adversarial evaluation needs at least 10 real and 10 fake sentences")
    width = max(real.tokens.shape[1], fake.tokens.shape[1])

    def padded(split: Split) -> torch.Tensor:
        return nn.functional.pad(split.tokens, (0, width - split.tokens.shape[1]), value=pad_id)

    tokens = torch.cat([padded(real), padded(fake)])
    lengths = torch.cat([real.lengths, fake.lengths])
    labels = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))]).to(tokens.device)
    g = torch.Generator(device=tokens.device).manual_seed(seed)
    order = torch.randperm(len(tokens), generator=g, device=tokens.device)
    n_train, n_valid = int(0.8 * len(order)), int(0.1 * len(order))
    parts = order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:]
    torch.manual_seed(seed)
    model = (UnigramClassifier(vocab_size, pad_id) if classifier == "unigram"
             else LSTMClassifier(vocab_size)).to(tokens.device)
    optimizer = adam(model.parameters(), lr=lr)
    best, best_state, waited = -1.0, None, 0
    for _ in range(epochs):
        model.train()
        train = parts[0][torch.randperm(len(parts[0]), generator=g, device=tokens.device)]
        for lo in range(0, len(train), batch_size):
            idx = train[lo:lo + batch_size]
            loss = nn.functional.binary_cross_entropy_with_logits(
                model(tokens[idx], lengths[idx]), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        valid = _accuracy(model, tokens[parts[1]], lengths[parts[1]], labels[parts[1]])
        if valid > best:
            best, waited = valid, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    model.load_state_dict(best_state)
    accuracy = _accuracy(model, tokens[parts[2]], lengths[parts[2]], labels[parts[2]])
    return {"accuracy": accuracy, "adversarial_error": 100.0 * (accuracy - 0.5)}
