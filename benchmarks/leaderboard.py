"""The leaderboard: textrl against the papers, one row per system, dataset and metric,
generated from the result files under benchmarks/out and the papers' numbers in
benchmarks/papers.yaml.

    python -m benchmarks.leaderboard          # or: python benchmarks/leaderboard.py

writes benchmarks/LEADERBOARD.md. No textrl number is typed here: each row names the result
files, the records in them and the field it reports, and the script reads the numbers. A row
whose files or records are missing says "no artifact" instead of a number. Before the page is
written, every number is read once more from the file it came from (`check_traces`); the page
is not written if one is not found there.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks/out"
PAPERS = ROOT / "benchmarks/papers.yaml"
PAGE = ROOT / "benchmarks/LEADERBOARD.md"

Traced = tuple[float, Path, str]  # a number, the file it was read from, its field there


@dataclass(frozen=True)
class Source:
    """Where a row's numbers are: the records of the files ``files`` (a glob under
    benchmarks/out) for which ``where`` holds, one per seed."""
    files: str
    where: Callable[[dict], bool]
    fields: tuple[str, ...] = ()  # the record fields shown as the end-of-run number(s)
    best: str | None = None  # a metrics.jsonl field: its lowest logged value is "best logged"
    scale: float = 1.0  # 100 for fractions shown as %


@dataclass(frozen=True)
class Row:
    system: str
    dataset: str
    metric: str  # ↓ lower is better, ↑ higher
    paper: str | None  # a key of papers.yaml; None: no paper reports this system here
    source: Source
    differs: str
    command: str
    digits: int = 3
    scored: str = ""  # which weights were scored, when not the last ones
    also: tuple[tuple[str, Source], ...] = ()  # reruns and variants, shown in a second table


@dataclass
class Measured:
    records: list[tuple[Path, dict]]  # (results file, record), one per seed
    last: list[list[Traced]]  # per field of the source, one per seed
    best: list[Traced]  # one per run whose log was found
    evaluations: list[int]  # logged evaluations per run


def is_(**match) -> Callable[[dict], bool]:
    return lambda r: all(r.get(k) == v for k, v in match.items())


def run_is(prefix: str) -> Callable[[dict], bool]:
    return lambda r: r.get("run", "").startswith(prefix)


ORACLE, QUATRAINS = "SeqGAN oracle", "Chinese quatrains"
PTB_WINDOWS, PTB = "PTB, windows of 20 words", "PTB sentences"
NLL = "NLL-oracle ↓"
STARTS = "--mle-runs benchmarks/out/tmp"  # the MLE starts of the adversarial rows (row 2)
ROWS = [
    Row("MLE", ORACLE, NLL, "seqgan_t1_mle",
        Source("mle_oracle/results.jsonl", is_(variant="mle"), ("nll_oracle",), "nll_oracle"),
        "None known: the authors' recipe (emb/hidden 32, N(0, 0.1) init, Adam 0.01, batch 64, "
        "clip 5, 120 epochs). The paper does not say which epoch it reports.",
        "python benchmarks/bench_mle_oracle.py --variants mle --seeds 0 1 2 --workers 2"),
    Row("MLE, the starts of the RankGAN, constant and GAN rows", ORACLE, NLL, "seqgan_t1_mle",
        Source("gan_oracle/results.jsonl", is_(variant="mle"), ("nll_oracle",)),
        "The same recipe, trained into the git-ignored benchmarks/out/tmp (overwritten once; no "
        "training log kept): only this evaluation survives.",
        "python benchmarks/bench_mle_oracle.py --variants mle --seeds 0 1 2 --out benchmarks/out/tmp"
        " && python benchmarks/bench_gan_oracle.py --variants mle --seeds 0 1 2"),
    Row("Scheduled sampling", ORACLE, NLL, "seqgan_t1_ss",
        Source("ss_authors/results.jsonl", is_(variant="ss-authors"), ("nll_oracle",), "nll_oracle"),
        "The authors' protocol (300 epochs at Adam 0.001, teacher forcing falling 0.002 an epoch, "
        "evaluated every epoch). Not yet compared with their code: how the fed-back token is "
        "drawn and what NLL-oracle is computed on (issue 28).",
        "python benchmarks/bench_mle_oracle.py --variants ss-authors --seeds 0 1 2 --workers 2 "
        "--out benchmarks/out/ss_authors",
        also=(("the MLE protocol (120 epochs at Adam 0.01)",
               Source("mle_oracle/results.jsonl", is_(variant="ss"), ("nll_oracle",), "nll_oracle")),)),
    Row("SeqGAN", ORACLE, NLL, "seqgan_t1_seqgan",
        Source("adversarial_authors/results.jsonl", is_(recipe="seqgan"), ("nll_oracle",),
               "nll_oracle"),
        "`cpu` preset: 430 discriminator filters (paper 1,720), pretraining 10 x (5,000, 1 epoch) "
        "(paper 50 x (10,000, 3)), a d-phase of 1 x (5,000, 1 epoch) every 2nd iteration (paper "
        "5 x (10,000, 3) every iteration); rollouts from the 0.8-delayed copy (the authors' code "
        "rolls out the live generator). Starts: the first benchmarks/out/tmp MLE runs, since "
        "overwritten (their logs: adversarial_authors/mle-seed*). The `paper` preset has not run.",
        f"python benchmarks/bench_adversarial.py --recipes seqgan --config cpu --flags "
        f"\"--eval-every 1\" --seeds 0 1 2 --workers 1 {STARTS} --out benchmarks/out/adversarial_authors",
        also=(("first runs, from the MLE row's runs, evaluated every 10th iteration",
               Source("adversarial/results.jsonl", is_(recipe="seqgan"), ("nll_oracle",), "nll_oracle")),
              ("seed 0 again after the sampler change",
               Source("adversarial_rerun/results.jsonl", is_(recipe="seqgan"), ("nll_oracle",),
                      "nll_oracle")),
              ("live rollouts, from row 2's starts",
               Source("gan_oracle/results.jsonl", is_(variant="seqgan-live"), ("nll_oracle",),
                      "nll_oracle")))),
    Row("RankGAN, the authors' released ranker", ORACLE, NLL, "rankgan_oracle",
        Source("rankgan_authors/results.jsonl", is_(recipe="rankgan"), ("nll_oracle",), "nll_oracle"),
        "The authors' code, not the paper's equation (summed cosines, rank within the batch, "
        "linear loss), live rollouts; the `cpu` preset's shortened ranker pretraining and "
        "d-phases (as SeqGAN's); evaluated every 10th iteration.",
        f"python benchmarks/bench_adversarial.py --recipes rankgan --config cpu --seeds 0 1 2 "
        f"--workers 2 {STARTS} --out benchmarks/out/rankgan_authors"),
    Row("RankGAN, the paper's equation", ORACLE, NLL, "rankgan_oracle",
        Source("rankgan_paper_form/results.jsonl", is_(recipe="rankgan"), ("nll_oracle",),
               "nll_oracle"),
        "The paper's equation with live rollouts; otherwise as the row above.",
        f"python benchmarks/bench_adversarial.py --recipes rankgan --flags \"--ranker-form paper\" "
        f"--config cpu --seeds 0 1 2 --workers 1 {STARTS} --out benchmarks/out/rankgan_paper_form",
        also=(("first runs: delayed rollout copy, from the MLE row's runs",
               Source("adversarial/results.jsonl", is_(recipe="rankgan"), ("nll_oracle",),
                      "nll_oracle")),)),
    Row("PG-BLEU", ORACLE, NLL, "seqgan_t1_pgbleu",
        Source("adversarial_authors/results.jsonl", is_(recipe="pg-bleu"), ("nll_oracle",),
               "nll_oracle"),
        "The authors' pg_bleu.py recipe (the `paper` preset), evaluated every 5th iteration "
        "instead of every one. Starts as SeqGAN's row.",
        f"python benchmarks/bench_adversarial.py --recipes pg-bleu --config paper --flags "
        f"\"--eval-every 5\" --seeds 0 1 2 --workers 3 {STARTS} --out benchmarks/out/adversarial_authors",
        also=(("first preset, a guess (Texygen BLEU-4 against every training sentence, 16 "
               "rollouts, Adam 0.01): it collapses",
               Source("adversarial/results.jsonl", is_(recipe="pg-bleu"), ("nll_oracle",),
                      "nll_oracle")),)),
    Row("Constant-reward control", ORACLE, NLL, None,
        Source("constant_authors_starts/results.jsonl", is_(recipe="constant"), ("nll_oracle",),
               "nll_oracle"),
        "A control, not a paper's row: policy gradient with reward 1 for every sentence. It "
        "sharpens the policy (NLL-test rises, RESULTS.md). Its reruns (second table) spread "
        "further apart than each batch's sd; not reconciled yet.",
        f"python benchmarks/bench_adversarial.py --recipes constant --config cpu --seeds 0 1 2 "
        f"--workers 2 {STARTS} --out benchmarks/out/constant_authors_starts",
        also=(("from the MLE row's runs", Source("adversarial/results.jsonl", is_(recipe="constant"),
                                                  ("nll_oracle",), "nll_oracle")),
              ("from SeqGAN's starts, evaluated every iteration",
               Source("adversarial_authors/results.jsonl", is_(recipe="constant"), ("nll_oracle",),
                      "nll_oracle")))),
    Row("Gumbel-softmax GAN, RelGAN feedback, `paper` preset", ORACLE, NLL, "relgan_t1",
        Source("gan_oracle/results.jsonl", is_(variant="relgan-paper"), ("nll_oracle",), "nll_oracle"),
        "RelGAN's oracle setting (beta_max 1, 3,000 iterations, RSGAN, 5 D steps per G step) on "
        "an LSTM generator of SeqGAN's size, not a relational memory; from row 2's starts; on "
        "an H100. beta_max 1 is also the best of textrl's own seed-0 sweep by NLL-oracle.",
        "python benchmarks/bench_gan_oracle.py --variants relgan-paper --seeds 0 1 2 --workers 3  "
        "# on a GPU",
        also=(("`cpu` preset, 1,000 iterations",
               Source("gan_oracle/results.jsonl", is_(variant="relgan-b1-long"), ("nll_oracle",),
                      "nll_oracle")),
              ("`cpu` preset, 300 iterations (beta_max picked on seed 0's NLL-oracle, seed 0 "
               "included)", Source("gan_oracle/results.jsonl", is_(variant="relgan-b1"),
                                   ("nll_oracle",), "nll_oracle")))),
    Row("Latent-space GAN (LaTextGAN-style), greedy decoding", ORACLE, NLL, None,
        Source("gan_oracle/results.jsonl", is_(variant="latent-gan-greedy"), ("nll_oracle",)),
        "No paper reports this oracle. Autoencoder (32/64, a 64-d code), then WGAN-GP on its "
        "codes (`cpu` preset); codes decoded greedily, as LaTextGAN does.",
        "python benchmarks/bench_gan_oracle.py --variants latent-gan --seeds 0 1 2",
        also=(("sampled decoding (temperature 1)",
               Source("gan_oracle/results.jsonl", is_(variant="latent-gan"), ("nll_oracle",))),)),
    Row("MLE", QUATRAINS, "BLEU-2 ↑", "seqgan_t2_mle",
        Source("poems/results.jsonl", is_(model="mle"), ("bleu2",)),
        "64/128 with dropout 0.25, 12 epochs (the paper gives neither size nor schedule); "
        "Texygen's smoothed BLEU-2 of 2,000 samples against all 1,639 test poems (the paper's "
        "BLEU variant is not stated); a seeded 80/10/10 split.",
        "python benchmarks/bench_poems.py --seeds 0 1 2 --iterations 50 --workers 2",
        scored="best-validation epoch",
        also=(("the same recipe again, in the quatrain GAN table",
               Source("gan_poems/results.jsonl", lambda r: r.get("model") == "mle" and "bleu2" in r,
                      ("bleu2",))),)),
    Row("SeqGAN", QUATRAINS, "BLEU-2 ↑", "seqgan_t2_seqgan",
        Source("poems/results.jsonl", is_(model="seqgan"), ("bleu2",)),
        "The oracle's `cpu` preset for 50 iterations from the MLE row's weights; BLEU as the MLE "
        "row. The paper's schedule for the quatrains is not given.",
        "python benchmarks/bench_poems.py --seeds 0 1 2 --iterations 50 --workers 2",
        also=(("the same recipe again, in the quatrain GAN table",
               Source("gan_poems/results.jsonl",
                      lambda r: r.get("model") == "seqgan" and "bleu2" in r, ("bleu2",))),)),
    *(Row(name, QUATRAINS, "BLEU-2 ↑", None,
          Source("gan_poems/results.jsonl", lambda r, m=model: r.get("model") == m and "bleu2" in r,
                 ("bleu2",)),
          f"No paper reports it on the quatrains. {how}",
          "python benchmarks/bench_gan_poems.py --seeds 0 1 2 --workers 2")
      for name, model, how in (
          ("Gumbel-softmax GAN, RelGAN feedback", "gumbel-relgan",
           "`cpu` preset (300 iterations, Adam 1e-4, beta_max 100) from the MLE's best weights."),
          ("Gumbel-softmax GAN, Kusner feedback", "gumbel-kusner",
           "As the row above, the relaxed vector fed back."),
          ("Latent-space GAN", "latent-gan",
           "Autoencoder 64/128 with a 64-d code, then WGAN-GP on its codes; sampled decoding."))),
    Row("LM", PTB_WINDOWS, "validation perplexity ↓", "maskgan_lm_ppl",
        Source("maskgan_ptb/results.jsonl", run_is("lm-seed"), (), "ppl_valid"),
        "1 x 128 LSTM with tied 128-d embeddings, 6 epochs (the paper: a 2 x 650 variational "
        "LSTM).",
        "python benchmarks/bench_maskgan.py --seeds 0 1 2 --workers 2", digits=1),
    Row("MaskMLE", PTB_WINDOWS, "masked validation perplexity, rate 0.5 ↓", "maskgan_maskmle_ppl",
        Source("maskgan_ptb/scores.jsonl", run_is("maskmle-seed"), ("masked_ppl_random",)),
        "1 x 128 seq2seq (paper 2 x 650), 6 epochs at batch 64 (the authors: about 43 at batch "
        "20), no hyperparameter sweep; random masks.",
        "python benchmarks/bench_maskgan.py --seeds 0 1 2 --workers 2", digits=1,
        scored="best-validation epoch",
        also=(("contiguous masks (MaskGAN's)", Source("maskgan_ptb/scores.jsonl",
                                                     run_is("maskmle-seed"),
                                                     ("masked_ppl_contiguous",))),)),
    Row("MaskGAN", PTB_WINDOWS, "sample perplexity under an evaluator LM ↓", "maskgan_t5_maskgan",
        Source("maskgan_ptb/scores.jsonl", run_is("maskgan-seed"), ("scorer_ppl",)),
        "300 iterations at batch 64 (the authors: 100,000 at batch 128), 1 x 128 models; PTB "
        "samples scored by an LM of another seed.",
        "python benchmarks/bench_maskgan.py --seeds 0 1 2 --workers 2", digits=1,
        also=(("MaskMLE, the start of each MaskGAN run, same evaluator",
               Source("maskgan_ptb/scores.jsonl", run_is("maskmle-seed"), ("scorer_ppl",))),)),
    *(Row(name, PTB_WINDOWS, "% unique 2- / 3- / 4-grams", f"maskgan_t6_{key}",
          Source("maskgan_ptb/scores.jsonl", run_is(f"{key}-seed"),
                 ("distinct2", "distinct3", "distinct4"), scale=100),
          "1,000 unconditional samples of 20 tokens (the caption's protocol, as textrl reads it).",
          "python benchmarks/bench_maskgan.py --seeds 0 1 2 --workers 2", digits=1,
          scored=scored)
      for name, key, scored in (("LM", "lm", "best-validation epoch"),
                                ("MaskMLE", "maskmle", "best-validation epoch"),
                                ("MaskGAN", "maskgan", ""))),
    *(Row(f"Sentence VAE, {name}, 10 epochs", PTB, "test NLL per sentence, bound ↓", "texar_vae_nll",
          Source("vae_ptb_h100_10ep/long_s*/results.jsonl", is_(run=f"{key}-keep1.0-scores"),
                 ("nll_bound",)),
          f"10 epochs (texar: up to 100, with learning-rate halving), 256/256, z = 32, no word "
          f"dropout, {how}; on an H100. Linear and free bits were picked for these runs from a "
          f"seed-0 table scored on the test split (selection on a test metric).",
          "for S in 0 1 2; do python benchmarks/bench_vae_annealing.py --schedules linear "
          "free-bits --word-keep 1.0 --epochs 10 --seed $S --importance-samples 100 "
          "--out benchmarks/out/vae_ptb_h100_10ep/long_s$S; done  # on a GPU",
          digits=2, scored="best-validation epoch",
          also=((f"{name}: importance-weighted NLL (100 codes)",
                 Source("vae_ptb_h100_10ep/long_s*/results.jsonl",
                        is_(run=f"{key}-keep1.0-scores"), ("nll_iw",))),
                (f"{name}: perplexity from the bound (the RNNLM row is a perplexity)",
                 Source("vae_ptb_h100_10ep/long_s*/results.jsonl",
                        is_(run=f"{key}-keep1.0-scores"), ("ppl_bound",))),
                *extra))
      for name, key, how, extra in (
          ("linear KL annealing", "linear", "KL weight 0.1 -> 1 over 5 epochs",
           (("the `cpu` preset (linear, 4 epochs), bound",
             Source("vae_ptb_h100/scores.jsonl", run_is("vae-seed"), ("nll_bound",))),
            ("the `cpu` preset, 4 epochs on the CPU, bound",
             Source("vae_ptb/scores.jsonl", run_is("vae-seed"), ("nll_bound",))))),
          ("free bits 0.125", "free-bits", "each code dimension's KL floored at 0.125 nats", ()))),
    Row("RNN language model", PTB, "test perplexity ↓", None,
        Source("vae_ptb_h100_10ep/lm_s*/eval.json", lambda r: True, ("ppl_test",)),
        "The VAE's decoder without z (256/256, dropout 0.5), the same 10 epochs; on an H100. "
        "texar reports no RNNLM, and the reference notes mark Bowman's Table 2 unconfirmed.",
        "for S in 0 1 2; do python benchmarks/bench_vae.py --seeds $S --epochs 10 --runs rnnlm "
        "--no-score --out benchmarks/out/vae_ptb_h100_10ep/lm_s$S && textrl evaluate "
        "benchmarks/out/vae_ptb_h100_10ep/lm_s$S/rnnlm-seed$S --json --samples 1000 --checkpoint "
        "best > benchmarks/out/vae_ptb_h100_10ep/lm_s$S/eval.json; done",
        digits=1, scored="best-validation epoch",
        also=(("the `cpu` preset's 4 epochs",
               Source("vae_ptb_h100/scores.jsonl", run_is("rnnlm-seed"), ("ppl_test",))),)),
]


def load(path: Path) -> list[dict]:
    """The records of a JSON-lines file, or the one object of a JSON file."""
    text = path.read_text()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


def run_name(record: dict) -> str:
    """The run directory a record describes, by the naming each benchmark script uses."""
    name = record.get("run") or "{}-seed{}".format(
        record.get("recipe") or record.get("variant") or record.get("model"), record.get("seed"))
    return name.removesuffix("-scores")


def run_dir(results: Path, record: dict) -> Path | None:
    """The run's directory beside its results file or, for a run merged in from another
    folder (ss_authors_seed2/ into ss_authors/results.jsonl), in a sibling folder."""
    name = run_name(record)
    folders = [results.parent, *sorted(results.parent.parent.glob(f"{results.parent.name}?*"))]
    return next((f / name for f in folders if (f / name / "metrics.jsonl").exists()), None)


def best_logged(run: Path, field: str) -> tuple[Traced, int] | None:
    """``((lowest value of field the run logged after step 0, its log, field), evaluations)``."""
    log = run / "metrics.jsonl"
    values = [r[field] for r in load(log) if field in r
              and (r.get("iteration") or r.get("epoch") or 0) > 0]
    return ((min(values), log, field), len(values)) if values else None


def measure(out: Path, source: Source) -> Measured:
    found: dict[tuple[Path, str], tuple[Path, dict]] = {}
    for path in sorted(out.glob(source.files)):
        for record in load(path):
            if source.where(record):  # a rerun appended to the same file replaces its run
                found[path, run_name(record)] = (path, record)
    records = list(found.values())
    last = [[(r[f], path, f) for path, r in records if r.get(f) is not None] for f in source.fields]
    best, evaluations = [], []
    for path, record in records if source.best else []:
        run = run_dir(path, record)
        logged = best_logged(run, source.best) if run else None
        if logged:
            best.append(logged[0])
            evaluations.append(logged[1])
    return Measured(records, last, best, evaluations)


def board(out: Path = OUT) -> list[tuple[Row, Measured, list[tuple[str, Measured]]]]:
    return [(row, measure(out, row.source), [(label, measure(out, s)) for label, s in row.also])
            for row in ROWS]


def check_traces(lines: list[tuple[Row, Measured, list[tuple[str, Measured]]]]) -> list[str]:
    """Every number of the board read again from its file: what is not found there."""
    missing = []
    for _, measured, also in lines:
        for m in [measured, *(m for _, m in also)]:
            for value, path, field in [*(t for f in m.last for t in f), *m.best]:
                if not path.exists() or not any(r.get(field) == value for r in load(path)):
                    missing.append(f"{path}: no record with {field} = {value}")
    return missing


def stats(traced: list[Traced], scale: float) -> tuple[float, float]:
    values = [scale * v for v, _, _ in traced]
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def cell(per_field: list[list[Traced]], scale: float, digits: int) -> str:
    """"mean ± sd (n=N)", fields joined by " / "; "-" for none."""
    if not per_field or not per_field[0]:
        return "-"
    parts = []
    for traced in per_field:
        mean, sd = stats(traced, scale)
        parts.append(f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if len(traced) > 1 else ""))
    return f"{' / '.join(parts)} (n={len(per_field[0])})"


def best_cell(m: Measured, field: str | None, scale: float, digits: int) -> str:
    if not m.best:
        return "-"
    evaluations = "/".join(map(str, sorted(set(m.evaluations))))
    on = "validation" if "valid" in field else "test metric" if field == "nll_oracle" else field
    return f"{cell([m.best], scale, digits)}, lowest of {evaluations} logged ({on})"


def verdict(row: Row, paper: dict | None, m: Measured) -> str:
    """matches: the paper's number lies within textrl's mean ± 2 sd over seeds; better / worse
    otherwise. Compared with textrl's best logged value where the paper reports its best
    evaluation, else with the end-of-run number."""
    if not m.records:
        return "no artifact"
    if paper is None or paper.get("comparable", True) is False:
        return "not comparable"
    use_best = paper["selection"] == "best" and bool(m.best)
    traced = m.best if use_best else (m.last[0] if m.last else [])
    if not traced:
        return "not run"
    mean, sd = stats(traced, row.source.scale)
    if abs(mean - paper["value"]) <= 2 * sd:
        word = "matches"
    else:
        word = "better" if (mean > paper["value"]) == ("↑" in row.metric) else "worse"
    return word + (" (on best logged)" if use_best else "")


@cache
def first_committed(path: Path) -> str:
    """The date and commit that first added ``path`` to git (a file's mtime here is the
    checkout's, and no pre-provenance log records a date)."""
    try:
        log = subprocess.run(["git", "-C", str(ROOT), "log", "--diff-filter=A", "--format=%cs %h",
                              "--", str(path)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        log = ""
    if not log.strip():
        return "not in git"
    date, commit = log.strip().splitlines()[-1].split()
    return f"first committed {date} ({commit})"


def shown(path: Path, out: Path) -> str:
    """A path as the page links it: relative to benchmarks/ (the page's folder)."""
    return str(path.relative_to(out.parent))


def stamp(p: dict) -> str:
    """A provenance record (benchmarks/provenance.py) in a few words: commit, day, machine."""
    machine = p["device"] if p["device"] != "cpu" else f"{p['cpu']}, {p['cores']} cores"
    return (f"{(p['commit'] or 'commit unknown')[:7]}{'+dirty' if p['dirty'] else ''}, "
            f"{p['date'][:10]}, {machine}, {p['torch_threads']} threads")


def artifact_cell(m: Measured, out: Path) -> str:
    files = sorted({shown(p, out) for p, _ in m.records})
    logs = sorted({re.sub(r"seed\d+", "seed*", shown(p, out)) for _, p, _ in m.best})
    made = list(dict.fromkeys(stamp(r["provenance"]) for _, r in m.records if "provenance" in r))
    old = sorted({p for p, r in m.records if "provenance" not in r})
    if old:  # the machine only where a record happens to name it
        devices = sorted({r["device"] for p, r in m.records if p in old and "device" in r})
        dates = ", ".join(dict.fromkeys(first_committed(p) for p in old))
        made.append(f"pre-provenance, file {dates}, "
                    + (f"device recorded: {', '.join(devices)}" if devices else "machine not recorded"))
    return "<br>".join([*files, *(f"logs: {log}" for log in logs), *made])


def paper_cell(paper: dict | None, digits: int) -> str:
    if paper is None:
        return "-"
    values = paper["value"] if isinstance(paper["value"], list) else [paper["value"]]
    number = " / ".join(f"{v:.{digits}f}" for v in values)
    sd = f" ± {paper['sd']:.{digits}f}" if "sd" in paper else ""
    return f"{number}{sd} ({paper['paper']}, {paper['table']})"


def escape(text: str) -> str:
    return text.replace("|", "\\|")


def render(lines: list[tuple[Row, Measured, list[tuple[str, Measured]]]], papers: dict,
           out: Path = OUT) -> str:
    head = ["# textrl leaderboard", "",
            "Generated by `python -m benchmarks.leaderboard` from the result files under "
            "[`out/`](out) and the papers' numbers in [`papers.yaml`](papers.yaml) (each with its "
            "source); do not edit by hand. The evidence, dated, is the lab notebook "
            "[RESULTS.md](RESULTS.md). Mean ± sd over seeds, n seeds. **End of run**: the last "
            "weights (or the named checkpoint) scored by `textrl evaluate`. **Best logged**: the "
            "best evaluation a run logged during training; on the *test metric* (NLL-oracle) "
            "this selects on the test set, as the SeqGAN authors' scripts picked their Table 1 "
            "numbers, on *validation* it does not. **Verdict**: *matches* when the "
            "paper's number lies within mean ± 2 sd, else *better* / *worse*; compared with best "
            "logged where the paper reports its run's best evaluation, else with the end of "
            "run. **Pre-provenance**: written before result files recorded their commit and "
            "machine; dated by the commit that first added the file.", "",
            "| system | dataset · metric | paper | textrl, end of run | textrl, best logged | "
            "what differs from the paper | verdict | command | artifact · provenance |",
            "|---|---|---|---|---|---|---|---|---|"]
    body, more = [], []
    for row, m, also in lines:
        paper = papers[row.paper] if row.paper else None
        end = (cell(m.last, row.source.scale, row.digits) if m.records else "**no artifact**")
        if row.scored and m.last:
            end += f", {row.scored}"
        cells = [row.system, f"{row.dataset} · {row.metric}", paper_cell(paper, row.digits), end,
                 best_cell(m, row.source.best, row.source.scale, row.digits), row.differs,
                 verdict(row, paper, m), f"`{row.command}`",
                 artifact_cell(m, out) if m.records else f"expected: out/{row.source.files}"]
        body.append("| " + " | ".join(escape(c) for c in cells) + " |")
        for label, a in also:
            source = dict(row.also)[label]
            more.append("| " + " | ".join(escape(c) for c in [
                f"{row.system} ({row.dataset})", label,
                cell(a.last, source.scale, row.digits) if a.records else "**no artifact**",
                best_cell(a, source.best, source.scale, row.digits),
                artifact_cell(a, out) if a.records else f"expected: out/{source.files}"]) + " |")
    reruns = ["", "## Reruns and variants of the rows above", "",
              "| row | run | textrl, end of run | textrl, best logged | artifact · provenance |",
              "|---|---|---|---|---|", *more]
    used = sorted({row.paper for row, _, _ in lines if row.paper}, key=list(papers).index)
    setups = ["", "## The papers' setups", "",
              *(f"- `{k}`: {papers[k]['paper']}, {papers[k]['table']}: {papers[k]['setup']}"
                + (f". Not comparable: {papers[k]['why']}." if "why" in papers[k] else "")
                for k in used)]
    plots = sorted(out.glob("compare/*.png")) + sorted(out.glob("*/quality_diversity.png"))
    pictures = ["", "## Quality against diversity", "",
                "Temperature sweeps (`textrl compare`) of the runs above; RESULTS.md says which "
                "runs and samples each plot holds.", "",
                *(f"[<img src=\"{shown(p, out)}\" width=\"280\" alt=\"{shown(p, out)}\">]"
                  f"({shown(p, out)})" for p in plots)]
    return "\n".join([*head, *body, *reruns, *setups, *pictures]) + "\n"


def main() -> None:
    lines = board(OUT)
    missing = check_traces(lines)
    if missing:
        sys.exit("numbers not found in their files:\n" + "\n".join(missing))
    PAGE.write_text(render(lines, yaml.safe_load(PAPERS.read_text())))
    print(f"{PAGE.relative_to(ROOT)}: {len(lines)} rows")


if __name__ == "__main__":
    main()
