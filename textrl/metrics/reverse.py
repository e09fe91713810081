"""Reverse perplexity (ARAE, Zhao et al. 2018): train a language model on a model's samples
and score the real test set with it. Low when the samples cover the real data; a collapsed
generator, whose samples are few and alike, teaches an LM that gives real text little mass.
(Forward perplexity, the samples scored by an LM trained on real data, is ``--scorer``.)

ARAE used a KenLM 5-gram with add-one smoothing, greedy samples, and counted words without
EOS; textrl uses its own LSTM language model, trained with Adam on 90% of the samples (drawn
at the evaluation's temperature), the epoch kept by its NLL on the other 10% (never by the
test set), and its perplexity counts EOS as a token, like every textrl perplexity. The
numbers are therefore not ARAE's."""

from __future__ import annotations

import copy

import torch

from textrl.agents.mle import BehaviourCloning
from textrl.data.corpus import Split
from textrl.metrics.nll import nll_test, perplexity
from textrl.models.recurrent import LMConfig, RecurrentLM


def reverse_perplexity(samples: Split, test: Split, vocab_size: int, start_id: int,
                       eos_id: int | None, pad_id: int, generator: torch.Generator,
                       epochs: int = 10, emb_dim: int = 128, hidden_dim: int = 128,
                       batch_size: int = 64, lr: float = 1e-3) -> dict[str, float]:
    """``{"reverse_nll", "reverse_ppl"}``: per token of ``test`` under an LSTM LM trained on
    ``samples [N, T]`` (see the module docstring)."""
    if len(samples) < 10:
        raise ValueError("reverse perplexity needs at least 10 samples")
    order = torch.randperm(len(samples), generator=generator, device=samples.tokens.device)
    cut = int(0.9 * len(samples))
    train = Split(samples.tokens[order[:cut]], samples.lengths[order[:cut]])
    held = Split(samples.tokens[order[cut:]], samples.lengths[order[cut:]])
    seed = int(torch.randint(2**31, (1,), generator=generator, device=generator.device))
    with torch.random.fork_rng(devices=[]):  # the caller's global stream is left as it was
        torch.manual_seed(seed)
        lm = RecurrentLM(LMConfig(vocab_size, emb_dim, hidden_dim, start_id=start_id,
                                  eos_id=eos_id, pad_id=pad_id)).to(samples.tokens.device)
    agent = BehaviourCloning(lm, lr=lr, batch_size=batch_size)
    best, best_state = float("inf"), None
    for _ in range(epochs):
        agent.train_epoch(train, generator)
        held_nll = nll_test(lm, held)
        if held_nll < best:
            best, best_state = held_nll, copy.deepcopy(lm.state_dict())
    if best_state is None:
        raise ValueError("the reverse-perplexity LM never scored its held-out samples finitely")
    lm.load_state_dict(best_state)
    nll = nll_test(lm, test)
    return {"reverse_nll": nll, "reverse_ppl": perplexity(nll)}
