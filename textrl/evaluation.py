"""Run-level evaluation, identical for every model: sample once, score with every metric,
sweep the temperature, compare runs trained on the same data."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from textrl.data.corpus import Corpus, Split
from textrl.data.grammar import grammar_metrics
from textrl.device import device_of, seeded_generator
from textrl.errors import UserError
from textrl.metrics.bleu import BLEUScorer, self_bleu
from textrl.metrics.diversity import distinct_n, length_stats, ngrams_found
from textrl.metrics.nll import nll_test, perplexity
from textrl.metrics.reverse import reverse_perplexity
from textrl.models.base import Policy, SequenceModel
from textrl.oracle import OracleLSTM
from textrl.tasks import Task, Unconditional


def decode_split(split: Split | torch.Tensor, corpus: Corpus,
                 positions: torch.Tensor | None = None) -> list[list[str]]:
    """Each row's tokens; with ``positions [N, T]`` only those (a completion without its
    prompt)."""
    tokens = split.tokens if isinstance(split, Split) else split
    if positions is None:
        return [corpus.vocab.decode(row, corpus.stream) for row in tokens.tolist()]
    return [corpus.vocab.decode([t for t, keep in zip(row, mask, strict=True) if keep],
                                corpus.stream)
            for row, mask in zip(tokens.tolist(), positions.tolist(), strict=True)]


def task_references(corpus: Corpus, task: Task) -> list[list[str]]:
    """The test split as BLEU's references: what ``task`` scores of each sentence (the whole
    sentence; a prompted task's completions)."""
    return decode_split(corpus.test, corpus, task.scored_positions(corpus.test.tokens,
                                                                   corpus.test.lengths))


def score_samples(policy: SequenceModel, corpus: Corpus, oracle: OracleLSTM | None,
                  references: list[list[str]], n_samples: int, temperature: float, seed: int,
                  bleu_orders: Sequence[int] = (2, 3, 4, 5), scorer: Policy | None = None,
                  grammar: bool = False, task: Task | None = None) -> dict[str, float]:
    """Every metric of one set of ``n_samples`` samples drawn at ``temperature`` with ``seed``
    under ``task``'s evaluation contexts (default: unconditional): BLEU-n against
    ``references``, sacrebleu's corpus BLEU-4, self-BLEU-4, distinct-n (x 100: MaskGAN's "%
    unique n-grams"), the share of n-grams found in the validation split, lengths, NLL-test
    at the same temperature (models with a likelihood), with an oracle NLL-oracle, with a
    ``scorer`` (an evaluator language model on the same vocabulary, MaskGAN's protocol) the
    samples' NLL and perplexity under it, the task's own metrics; on the embedded grammar
    (``grammar``) the shares of grammatical, novel and unique samples."""
    task = task or Unconditional()
    # One bar over the metrics, shown once they take over a second (BLEU adds its own), and
    # closed by its context manager even when a metric raises.
    with tqdm(total=6, desc="evaluate", unit="metric", delay=1.0, leave=False) as bar:

        def step(name: str) -> None:
            bar.set_postfix_str(name, refresh=False)
            bar.update()

        g = seeded_generator(seed, device_of(policy))
        context = task.sample_contexts(corpus.test, n_samples, g)
        sample = task.generate(policy, n_samples, corpus.max_len, context, temperature, g)
        tokens = sample.tokens
        scored = task.scored_positions(tokens, sample.lengths, context)
        samples = decode_split(tokens, corpus, scored)  # a prompted task's: the completions
        step("sampled")
        out: dict[str, float] = {}
        if oracle is not None:
            out["nll_oracle"] = oracle.nll(tokens)
        if scorer is not None:
            out["scorer_nll"] = nll_test(scorer, Split(tokens.to(device_of(scorer)),
                                                       sample.lengths.to(device_of(scorer))),
                                         positions=None if scored is None else
                                         scored.to(device_of(scorer)))
            out["scorer_ppl"] = perplexity(out["scorer_nll"])
        step("NLL-oracle")
        # Models with a likelihood; a VAE's is a bound over codes (textrl.metrics.latent).
        if temperature > 0 and "likelihood" in policy.capabilities:
            out["nll_test"] = nll_test(policy, corpus.test, temperature=temperature,
                                       positions=task.scored_positions(corpus.test.tokens,
                                                                       corpus.test.lengths))
            out["ppl_test"] = perplexity(out["nll_test"])
        step("NLL-test")
        scorer = BLEUScorer(references, max(*bleu_orders, 4))  # the reference tables, counted once
        for n in bleu_orders:
            out[f"bleu{n}"] = scorer.mean(samples, n)
        out["sacrebleu4"] = scorer.corpus(samples, 4)
        step("BLEU")
        out["self_bleu4"] = self_bleu(samples, 4) if len(samples) > 1 else float("nan")
        step("self-BLEU")
        validation = decode_split(corpus.valid, corpus, task.scored_positions(
            corpus.valid.tokens, corpus.valid.lengths))
        for n in (1, 2, 3, 4):
            out[f"distinct{n}"] = distinct_n(samples, n)
            out[f"in_valid{n}"] = ngrams_found(samples, validation, n)
        step("distinct-n")
    out |= task.metrics(policy, corpus.valid, seed)
    if grammar:
        out |= grammar_metrics(samples, decode_split(corpus.train, corpus))
    return out | length_stats(samples)


def sample_reverse_perplexity(policy: SequenceModel, corpus: Corpus, n_samples: int,
                              temperature: float, seed: int, epochs: int,
                              task: Task | None = None) -> dict[str, float]:
    """Reverse perplexity (:mod:`textrl.metrics.reverse`) of ``n_samples`` samples drawn at
    ``temperature`` with ``seed`` under ``task``'s evaluation contexts, on the test split."""
    g = seeded_generator(seed, device_of(policy))
    task = task or Unconditional()
    context = task.sample_contexts(corpus.test, n_samples, g)
    sample = task.generate(policy, n_samples, corpus.max_len, context, temperature, g)
    vocab = corpus.vocab
    return reverse_perplexity(Split(sample.tokens, sample.lengths), corpus.test, len(vocab),
                              corpus.start_id, corpus.eos_id,
                              vocab.fill_id, g, epochs)


def check_same_data(identities: Sequence[tuple[str, dict]]) -> None:
    """A UserError unless every ``(run, data_identity)`` names the same data."""
    first_run, first = identities[0]
    for run, identity in identities[1:]:
        if identity != first:
            differing = sorted(k for k in first.keys() | identity.keys()
                               if first.get(k) != identity.get(k))
            raise UserError(f"{run} and {first_run} were trained on different data "
                            f"({', '.join(differing)} differ); compare runs of one dataset")


def quality_diversity(policy: SequenceModel, corpus: Corpus, oracle: OracleLSTM | None,
                      temperatures: Sequence[float], n_samples: int, seed: int,
                      scorer: Policy | None = None, grammar: bool = False,
                      task: Task | None = None) -> list[dict]:
    """One row of metrics per temperature: the quality-diversity curve of one model."""
    references = task_references(corpus, task or Unconditional())
    return [{"temperature": t} | score_samples(policy, corpus, oracle, references, n_samples,
                                               t, seed, bleu_orders=(4,), scorer=scorer,
                                               grammar=grammar, task=task)
            for t in temperatures]


# (quality, diversity) axes of the sweep: oracle runs follow Caccia et al. (NLL-oracle against
# NLL-test at the sampling temperature, both lower-is-better); text runs use BLEU-4 against
# the test split and self-BLEU-4 (Texygen).
QD_AXES = {True: ("nll_oracle", "nll_test"), False: ("bleu4", "self_bleu4")}
BETTER = {"nll_oracle": "lower", "nll_test": "lower", "bleu4": "higher", "self_bleu4": "lower"}


def format_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A plain-text table, numbers to 4 decimals."""
    def cell(value) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    cells = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def plot_quality_diversity(rows: Sequence[dict], quality: str, diversity: str,
                           path: str | Path) -> list[str]:
    """One line per run through its temperatures, each point labelled with its temperature;
    returns the runs left out for lack of either axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    left_out = []
    for run in dict.fromkeys(r["run"] for r in rows):
        points = [r for r in rows if r["run"] == run]
        if any(quality not in p or diversity not in p for p in points):
            left_out.append(str(run))
            continue
        xs, ys = [p[diversity] for p in points], [p[quality] for p in points]
        ax.plot(xs, ys, marker="o", label=str(run))
        for p, x, y in zip(points, xs, ys, strict=True):
            ax.annotate(f"T={p['temperature']:g}", (x, y), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xlabel(f"{diversity} (diversity; {BETTER[diversity]} is better)")
    ax.set_ylabel(f"{quality} (quality; {BETTER[quality]} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return left_out
