"""The sentence VAE against the RNN language model on PTB (issue 14), each the CLI command a
user would run, per seed: an RNNLM (`textrl train mle`, 256/256, decoder dropout 0.5,
PyTorch's initialisation) and a VAE (`textrl train vae --config PRESET`, 256/256, z = 32),
plus one RNNLM of another seed that scores imputed sentences. With `--preset paper` (texar's
100 epochs, a GPU's work) the RNNLM follows texar's learning-rate rule as the VAE does.

    python benchmarks/bench_vae.py --seeds 0 --epochs 5 --workers 2
    python benchmarks/bench_vae.py --preset paper --seeds 0 1 2 --workers 6
    python benchmarks/bench_vae.py --summary

Then, at each run's best validation checkpoint:
- `textrl evaluate --json --samples 1000` (the VAE's test NLL: bound with one code per
  sentence and importance-weighted with --importance-samples codes; the RNNLM's is exact);
- Bowman's imputation experiment on the first --impute test sentences: the last 20% of
  each sentence's words (at least one) blanked and filled (RNNLM: beam 15; VAE: 3 rounds of
  iterated conditional modes with beam 5), the completed sentences' NLL under the scorer
  RNNLM, and the adversarial error of the two classifiers (textrl.metrics.adversarial);
- OUT/qualitative.md: three reconstructions, two homotopies and five imputations.
Stages already in OUT/results.jsonl are skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import yaml
from cli_runs import append_result, evaluate, mean_sd, recorded, run_parallel, train_stage
from provenance import provenance
from shared_data import PTB

from textrl.data.corpus import Split
from textrl.data.tokenizers import get_tokenizer
from textrl.imputation import impute
from textrl.latent_space import decode, encode_texts, homotopy, posterior_codes
from textrl.metrics.adversarial import adversarial_error
from textrl.training import load_run

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT / "textrl/recipes/configs"
RNNLM = {"tokenizer": "word", "max_len": 100, "emb_dim": 256, "hidden_dim": 256,
         "dropout": 0.5, "init_std": None, "batch_size": 32, "lr": 0.001, "grad_clip": 5.0,
         "eval_every": 1, "eval_samples": 100}
RECONSTRUCT = ["we looked out at the setting sun .", "i went to the store to buy some milk .",
               "the company said it expects to report a loss for the year ."]
HOMOTOPIES = [("i want to talk to you .", "she did n't want to be with him ."),
              ("the market fell sharply .", "prices rose in new york trading .")]


def stage(name: str, cmd: list[str], args: argparse.Namespace) -> None:
    train_stage(Path(args.out), name, cmd, args.threads)


def job(kind: str, seed: int, args: argparse.Namespace) -> None:
    ptb = Path(args.ptb)
    data = ["--data", str(ptb / "ptb.train.txt"), "--valid", str(ptb / "ptb.valid.txt"),
            "--test", str(ptb / "ptb.test.txt")]
    epochs = ["--seed", str(seed)] + (["--epochs", str(args.epochs)] if args.epochs else [])
    if kind == "vae":
        stage(f"vae-seed{seed}", ["textrl", "train", "vae", *data, "--config", args.preset,
                                  *epochs, *args.vae_flags.split()], args)
    else:
        preset = yaml.safe_load((PRESETS / f"vae-{args.preset}.yaml").read_text())
        config = Path(args.out) / "rnnlm.yaml"
        # The provenance goes in as a comment: `textrl train --config` reads the keys.
        stamp = "".join(f"# provenance {k}: {v}\n" for k, v in provenance(args.threads).items())
        config.write_text(stamp + yaml.safe_dump(RNNLM | {k: preset[k] for k in (
            "epochs", "lr_patience", "lr_halvings") if k in preset}))
        stage("scorer" if kind == "scorer" else f"rnnlm-seed{seed}",
              ["textrl", "train", "mle", *data, "--config", str(config), *epochs], args)


def blank_last_fifth(split: Split, n: int) -> list[list[int | None]]:
    """The first ``n`` sentences' words (EOS dropped) with the last 20% (at least one) as
    ``None``."""
    rows = []
    for tokens, length in zip(split.tokens[:n].tolist(), split.lengths[:n].tolist(), strict=True):
        words = tokens[:length - 1]
        k = max(1, round(0.2 * len(words)))
        rows.append([*words[:len(words) - k], *[None] * k])
    return rows


def as_split(rows: list[list[int]], eos: int, pad: int) -> Split:
    width = max(len(r) for r in rows) + 1
    tokens = torch.full((len(rows), width), pad)
    for i, row in enumerate(rows):
        tokens[i, :len(row) + 1] = torch.tensor([*row, eos])
    return Split(tokens, torch.tensor([len(r) + 1 for r in rows]))


def imputation(run: Path, scorer: Path, n: int, seed: int) -> dict:
    loaded, judge = load_run(run, best=True), load_run(scorer, with_data=False)
    vocab, test = loaded.vocab, loaded.corpus.test
    blanked = blank_last_fifth(test, n)
    filled = as_split([impute(loaded.model, words, vocab) for words in blanked], vocab.eos_id,
                      vocab.pad_id)
    with torch.no_grad():
        nll = -float(judge.model.log_prob(filled.tokens, filled.lengths).sum()) / n
    real = Split(test.tokens[:n], test.lengths[:n])
    out = {"imputed_nll": nll}
    for kind in ("unigram", "lstm"):
        result = adversarial_error(real, filled, len(vocab), vocab.pad_id, kind, seed)
        out[f"adversarial_{kind}"] = result["adversarial_error"]
    return out


def qualitative(out: Path, seed: int) -> None:
    vae, lm = load_run(out / f"vae-seed{seed}", best=True), load_run(out / f"rnnlm-seed{seed}",
                                                                       best=True)
    vocab, max_len = vae.vocab, vae.max_len
    tokenizer = get_tokenizer(vae.data.tokenizer, vae.data.keep_spaces)
    g = torch.Generator().manual_seed(0)
    lines = [f"# Seed {seed}: VAE {out / f'vae-seed{seed}'}, RNNLM {out / f'rnnlm-seed{seed}'}",
             "", "## Reconstructions (greedy; posterior mean, then 3 posterior samples)", ""]
    tokens, lengths = encode_texts(RECONSTRUCT, vocab, tokenizer, max_len)
    codes = posterior_codes(vae.model, tokens, lengths, 3, g)
    for text, row in zip(RECONSTRUCT, codes, strict=True):
        decoded = decode(vae.model, row, max_len, vocab, tokenizer)
        lines += [f"- input: {text}", f"  - mean: {decoded[0]}",
                  *[f"  - sample: {d}" for d in decoded[1:]]]
    lines += ["", "## Homotopies (greedy, t = 0, 0.25, ..., 1)", ""]
    for first, second in HOMOTOPIES:
        tokens, lengths = encode_texts([first, second], vocab, tokenizer, max_len)
        means = posterior_codes(vae.model, tokens, lengths, 0)[:, 0]
        lines += [f"- {d}" for d in decode(vae.model, homotopy(means[0], means[1], 5), max_len,
                                           vocab, tokenizer)] + [""]
    lines += ["## Imputations (last 20% of test sentences; truth / RNNLM / VAE)", ""]
    test = vae.corpus.test
    for i, words in enumerate(blank_last_fifth(test, 5)):
        truth = vocab.decode(test.tokens[i, :int(test.lengths[i])].tolist())
        lines += [f"- truth: {tokenizer.detokenize(truth)}",
                  f"  - RNNLM: {tokenizer.detokenize(vocab.decode(impute(lm.model, words, vocab)))}",
                  f"  - VAE: {tokenizer.detokenize(vocab.decode(impute(vae.model, words, vocab)))}"]
    (out / "qualitative.md").write_text("\n".join(lines) + "\n")


def score(args: argparse.Namespace) -> None:
    out = Path(args.out)
    torch.set_num_threads(args.threads * args.workers)
    have = recorded(out / "scores.jsonl")
    for name in sorted(set(recorded(out / "results.jsonl")) - set(have) - {"scorer"}):
        result = evaluate(out / name, args.threads * args.workers,
                          ["--samples", "1000", "--checkpoint", "best", "--importance-samples",
                           str(args.importance_samples)])
        test = load_run(out / name).corpus.test
        words_per_sentence = float(test.lengths.sum()) / len(test)
        if "nll_test" in result:  # the RNNLM's exact NLL, per sentence
            result["nll_sentence"] = result["nll_test"] * words_per_sentence
        result |= imputation(out / name, Path(args.scorer or out / "scorer"), args.impute, 0)
        append_result(out / "scores.jsonl", {"run": name, "words_per_sentence": words_per_sentence,
                                             "threads": args.threads * args.workers}
                      | {k: v for k, v in result.items() if k != "settings"})
    if not (out / "qualitative.md").exists():
        qualitative(out, min(args.seeds))


def summarise(out: Path) -> None:
    scores, runs = recorded(out / "scores.jsonl"), recorded(out / "results.jsonl")
    print("| model | seeds | test NLL per sentence, bound | importance-weighted | perplexity "
          "(IW) | KL | active units | mutual information | imputed NLL (scorer) | adversarial "
          "error, unigram / LSTM | training, min |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for model in ("rnnlm", "vae"):
        rows = [scores[r] for r in sorted(scores) if r.startswith(f"{model}-seed")]
        if not rows:
            continue
        if model == "rnnlm":
            exact = mean_sd([r["nll_sentence"] for r in rows], 2)
            cells = [exact, exact, mean_sd([r["ppl_test"] for r in rows], 2), "-", "-", "-"]
        else:
            cells = [mean_sd([r[k] for r in rows], 2) for k in ("nll_bound", "nll_iw", "ppl_iw",
                                                             "kl", "active_units",
                                                             "mutual_info")]
        adversarial = " / ".join(mean_sd([r[f"adversarial_{k}"] for r in rows], 1)
                                 for k in ("unigram", "lstm"))
        minutes = mean_sd([runs[r["run"]]["wall_s"] / 60 for r in rows], 1)
        print(f"| {model} | {len(rows)} | {' | '.join(cells)} "
              f"| {mean_sd([r['imputed_nll'] for r in rows], 2)} | {adversarial} | {minutes} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--preset", choices=("cpu", "paper"), default="cpu",
                        help="the VAE's preset; the RNNLM takes its epochs and learning-rate rule")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs (both models)")
    parser.add_argument("--vae-flags", default="", help="more `textrl train vae` flags")
    parser.add_argument("--importance-samples", type=int, default=100)
    parser.add_argument("--impute", type=int, default=1000, help="test sentences imputed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/out/vae_ptb")
    parser.add_argument("--ptb", default=str(PTB), help="a folder of ptb.{train,valid,test}.txt")
    parser.add_argument("--scorer", help="an LM run on PTB's vocabulary, seeded apart, to score "
                        "imputed sentences (default: train OUT/scorer)")
    parser.add_argument("--runs", nargs="+", default=["vae", "rnnlm", "scorer"],
                        help="train only these kinds of run (several invocations can share OUT)")
    parser.add_argument("--no-score", dest="score", action="store_false",
                        help="train, but do not evaluate yet")
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.summary:
        if not Path(args.ptb).is_dir():
            sys.exit(f"needs PTB at {args.ptb}")
        jobs = [(kind, s) for s in args.seeds for kind in ("vae", "rnnlm")] + [("scorer", 1000)]
        jobs = [(kind, s) for kind, s in jobs if kind in args.runs]
        run_parallel(jobs, args.workers, lambda kind, seed: job(kind, seed, args))
        if args.score:
            score(args)
    summarise(out)


if __name__ == "__main__":
    main()
