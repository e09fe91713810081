"""The leaderboard's rows (benchmarks/leaderboard.py renders them): for each system, dataset
and metric, the paper's entry in papers.yaml, where its numbers are (result files and the
records in them), what differs from the paper's setup, and the command that reproduces it
(`python benchmarks/run.py ID` runs it, after the rows it needs). Data, not numbers: every
number is read from the files by the renderer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """Where a row's numbers are: the records of the files ``files`` (a glob under
    benchmarks/out) for which ``where`` holds, one per seed."""
    files: str
    where: Callable[[dict], bool]
    # the record fields shown as the end-of-run number(s); dotted for a nested one
    # ("evaluation.nll_test": record["evaluation"]["nll_test"])
    fields: tuple[str, ...] = ()
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
    id: str = ""  # short and stable: `python benchmarks/run.py ID` (unique; every row has one)
    needs: tuple[str, ...] = ()  # ids of the rows whose outputs this row's command reads
    makes: str = ""  # what rows that need this one read: a glob under benchmarks/out, {seed}


def is_(**match) -> Callable[[dict], bool]:
    return lambda r: all(r.get(k) == v for k, v in match.items())


def run_is(prefix: str) -> Callable[[dict], bool]:
    return lambda r: r.get("run", "").startswith(prefix)


ORACLE, QUATRAINS = "SeqGAN oracle", "Chinese quatrains"
PTB_WINDOWS, PTB = "PTB, windows of 20 words", "PTB sentences"
NLL = "NLL-oracle ↓"
STARTS = "--mle-runs benchmarks/out/tmp"  # the MLE starts of the adversarial rows (row 2)
ARITHMETIC, ACCURACY = "Two-digit sums", "held-out accuracy, greedy ↑"
ARITHMETIC_RUNS = ("python benchmarks/bench_arithmetic.py --tune --workers 1 --threads 1 --out "
                   "benchmarks/out/arithmetic && python benchmarks/bench_arithmetic.py --seeds 0 1 2 "
                   "--policies recurrent transformer --workers 1 --threads 1 --out "
                   "benchmarks/out/arithmetic")
AGENTS = (("REINFORCE (moving-average baseline)", "reinforce"), ("A2C", "a2c"), ("PPO", "ppo"),
          ("GRPO, `grpo` aggregation", "grpo"), ("GRPO, `dapo` aggregation", "grpo-dapo"),
          ("Dr. GRPO", "dr-grpo"), ("RLOO", "rloo"), ("REINFORCE++", "reinforce++"),
          ("REINFORCE++-baseline", "reinforce++-baseline"))
POLICIES = (("LSTM", "recurrent"), ("Transformer", "transformer"))
CONTINUATION = "continuation/results.jsonl"
EVALUATOR_NLL = ("evaluation.scorer_nll",)


def arithmetic(**match) -> Source:
    return Source("arithmetic/results.jsonl", is_(**match), ("accuracy",))


ROWS = [
    Row("MLE", ORACLE, NLL, "seqgan_t1_mle",
        Source("mle_oracle/results.jsonl", is_(variant="mle"), ("nll_oracle",), "nll_oracle"),
        "None known: the authors' recipe (emb/hidden 32, N(0, 0.1) init, Adam 0.01, batch 64, "
        "clip 5, 120 epochs). The paper does not say which epoch it reports.",
        "python benchmarks/bench_mle_oracle.py --variants mle --seeds 0 1 2 --workers 2",
        id="oracle-mle"),
    Row("MLE, the starts of the RankGAN, constant and GAN rows", ORACLE, NLL, "seqgan_t1_mle",
        Source("gan_oracle/results.jsonl", is_(variant="mle"), ("nll_oracle",)),
        "The same recipe, trained into the git-ignored benchmarks/out/tmp (overwritten once; no "
        "training log kept): only this evaluation survives.",
        "python benchmarks/bench_mle_oracle.py --variants mle --seeds 0 1 2 --out benchmarks/out/tmp"
        " && python benchmarks/bench_gan_oracle.py --variants mle --seeds 0 1 2",
        id="oracle-mle-starts", makes="tmp/mle-seed{seed}/checkpoint.pt"),
    Row("Scheduled sampling", ORACLE, NLL, "seqgan_t1_ss",
        Source("ss_authors/results.jsonl", is_(variant="ss-authors"), ("nll_oracle",), "nll_oracle"),
        "Scheduled sampling as the paper names it, on the schedule of the authors' "
        "schedule_sampling.py (300 epochs at Adam 0.001, teacher forcing falling 0.002 an epoch to "
        "0.40, a coin per token, evaluated every epoch). That script's coin is one random.random() "
        "drawn when its graph is built (0.3975 after seed 88), below the rate in every epoch: the "
        "paper's row was plain MLE at 0.001, best of 300 epochs, which is the second table's "
        "'what the authors' code ran' (and probably on another oracle: a fresh N(0, 1) draw, not "
        "the pickle; ten such oracles' own NLL spreads 0.09 (sd), as much as the 0.08 between "
        "the paper's row and that run on the pickle, RESULTS.md).",
        "python benchmarks/bench_mle_oracle.py --variants ss-authors --seeds 0 1 2 --workers 2 "
        "--out benchmarks/out/ss_authors",
        also=(("the MLE protocol (120 epochs at Adam 0.01)",
               Source("mle_oracle/results.jsonl", is_(variant="ss"), ("nll_oracle",), "nll_oracle")),
              ("what the authors' code ran: MLE at Adam 0.001, best of 300 epochs (every 2nd "
               "evaluated), 3 seeds; `python benchmarks/bench_mle_oracle.py --variants mle-authors "
               "--seeds 0 1 2 --workers 2 --out benchmarks/out/mle_authors`",
               Source("mle_authors/results.jsonl", is_(variant="mle-authors"), ("nll_oracle",),
                      "nll_oracle"))),
        id="oracle-ss"),
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
                      "nll_oracle"))),
        id="oracle-seqgan", needs=("oracle-mle-starts",)),
    Row("RankGAN, the authors' released ranker", ORACLE, NLL, "rankgan_oracle",
        Source("rankgan_authors/results.jsonl", is_(recipe="rankgan"), ("nll_oracle",), "nll_oracle"),
        "The authors' code, not the paper's equation (summed cosines, rank within the batch, "
        "linear loss), live rollouts; the `cpu` preset's shortened ranker pretraining and "
        "d-phases (as SeqGAN's); evaluated every 10th iteration.",
        f"python benchmarks/bench_adversarial.py --recipes rankgan --config cpu --seeds 0 1 2 "
        f"--workers 2 {STARTS} --out benchmarks/out/rankgan_authors",
        id="oracle-rankgan", needs=("oracle-mle-starts",)),
    Row("RankGAN, the paper's equation", ORACLE, NLL, "rankgan_oracle",
        Source("rankgan_paper_form/results.jsonl", is_(recipe="rankgan"), ("nll_oracle",),
               "nll_oracle"),
        "The paper's equation with live rollouts; otherwise as the row above.",
        f"python benchmarks/bench_adversarial.py --recipes rankgan --flags \"--ranker-form paper\" "
        f"--config cpu --seeds 0 1 2 --workers 1 {STARTS} --out benchmarks/out/rankgan_paper_form",
        also=(("first runs: delayed rollout copy, from the MLE row's runs",
               Source("adversarial/results.jsonl", is_(recipe="rankgan"), ("nll_oracle",),
                      "nll_oracle")),),
        id="oracle-rankgan-paper", needs=("oracle-mle-starts",)),
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
                      "nll_oracle")),),
        id="oracle-pg-bleu", needs=("oracle-mle-starts",)),
    Row("Constant-reward control", ORACLE, NLL, None,
        Source("constant_authors_starts/results.jsonl", is_(recipe="constant"), ("nll_oracle",),
               "nll_oracle"),
        "A control, not a paper's row: policy gradient with reward 1 for every sentence. It "
        "sharpens the policy (NLL-test rises, RESULTS.md). Its three batches (second table) "
        "agree at iteration 40 and drift apart after it; their settings are equal and their "
        "starts and code differ (RESULTS.md, \"Three batches of the same control, "
        "reconciled\"): the spread is the run's, not explained by a setting.",
        f"python benchmarks/bench_adversarial.py --recipes constant --config cpu --seeds 0 1 2 "
        f"--workers 2 {STARTS} --out benchmarks/out/constant_authors_starts",
        also=(("from the MLE row's runs", Source("adversarial/results.jsonl", is_(recipe="constant"),
                                                  ("nll_oracle",), "nll_oracle")),
              ("from SeqGAN's starts, evaluated every iteration",
               Source("adversarial_authors/results.jsonl", is_(recipe="constant"), ("nll_oracle",),
                      "nll_oracle"))),
        id="oracle-constant", needs=("oracle-mle-starts",)),
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
                                   ("nll_oracle",), "nll_oracle"))),
        id="oracle-relgan", needs=("oracle-mle-starts",)),
    Row("Latent-space GAN (LaTextGAN-style), greedy decoding", ORACLE, NLL, None,
        Source("gan_oracle/results.jsonl", is_(variant="latent-gan-greedy"), ("nll_oracle",)),
        "No paper reports this oracle. Autoencoder (32/64, a 64-d code), then WGAN-GP on its "
        "codes (`cpu` preset); codes decoded greedily, as LaTextGAN does.",
        "python benchmarks/bench_gan_oracle.py --variants latent-gan --seeds 0 1 2",
        also=(("sampled decoding (temperature 1)",
               Source("gan_oracle/results.jsonl", is_(variant="latent-gan"), ("nll_oracle",))),),
        id="oracle-latent-gan"),
    Row("MLE, native Transformer (width 32, 2 layers, 4 heads)", ORACLE, NLL, None,
        Source("transformer_oracle/results.jsonl", is_(variant="transformer"), ("nll_oracle",),
               "nll_oracle"),
        "No paper runs a Transformer here. About the LSTM's parameter count, on the MLE row's "
        "recipe unchanged (nothing tuned for it); it overfits the 10,000 training sequences "
        "(validation NLL lowest at the first evaluation, RESULTS.md).",
        "python benchmarks/bench_mle_oracle.py --variants transformer --seeds 0 1 2 --workers 2 "
        "--threads 1 --out benchmarks/out/transformer_oracle",
        id="oracle-transformer-mle", makes="transformer_oracle/transformer-seed{seed}/checkpoint.pt"),
    Row("SeqGAN from the Transformer's MLE start", ORACLE, NLL, None,
        Source("transformer_adversarial/results.jsonl", is_(recipe="seqgan"), ("nll_oracle",),
               "nll_oracle"),
        "No paper: the SeqGAN row's `cpu` preset (evaluated every 10th iteration) from the "
        "Transformer MLE row's run of the same seed; the paper's generator is an LSTM. Its "
        "discriminator separates the Transformer's sentences almost perfectly after the first "
        "iterations (RESULTS.md).",
        "python benchmarks/bench_adversarial.py --recipes seqgan --start transformer --mle-runs "
        "benchmarks/out/transformer_oracle --seeds 0 1 2 --workers 1 --threads 1 --config cpu "
        "--out benchmarks/out/transformer_adversarial",
        also=(("the Gumbel-softmax GAN (RelGAN feedback, beta_max 1, `cpu` preset) from the same "
               "starts: `python benchmarks/bench_gan_oracle.py --variants relgan-b1 --start "
               "transformer --mle-runs benchmarks/out/transformer_oracle --seeds 0 1 2 --workers 3 "
               "--threads 1 --out benchmarks/out/transformer_gan`",
               Source("transformer_gan/results.jsonl", is_(variant="relgan-b1"), ("nll_oracle",),
                      "nll_oracle")),),
        id="oracle-transformer-seqgan", needs=("oracle-transformer-mle",)),
    Row("MLE", QUATRAINS, "BLEU-2 ↑", "seqgan_t2_mle",
        Source("poems/results.jsonl", is_(model="mle"), ("bleu2",)),
        "64/128 with dropout 0.25, 12 epochs (the paper gives neither size nor schedule); "
        "Texygen's smoothed BLEU-2 of 2,000 samples against all 1,639 test poems (the paper's "
        "BLEU variant is not stated); a seeded 80/10/10 split. Against these references held-out "
        "real poems score well below the paper's real-data row (the second table): as a share "
        "of real data this MLE is no further from it than the paper's (RESULTS.md).",
        "python benchmarks/bench_poems.py --seeds 0 1 2 --iterations 50 --workers 2",
        scored="best-validation epoch",
        also=(("the same recipe again, in the quatrain GAN table",
               Source("gan_poems/results.jsonl", lambda r: r.get("model") == "mle" and "bleu2" in r,
                      ("bleu2",))),
              ("real data: the 1,639 validation poems scored as samples against the same test "
               "poems (`python benchmarks/bench_poems_bleu.py`; the paper's Table 2 has a "
               "real-data row, RESULTS.md)",
               Source("poems_bleu/real_data.jsonl", is_(run="as-is"), ("bleu2",)))),
        id="poems-mle"),
    Row("SeqGAN", QUATRAINS, "BLEU-2 ↑", "seqgan_t2_seqgan",
        Source("poems/results.jsonl", is_(model="seqgan"), ("bleu2",)),
        "The oracle's `cpu` preset (generator Adam 0.01, ten times the paper-era code's) for 50 "
        "iterations from the MLE row's weights; BLEU as the MLE row. The paper's schedule for the "
        "quatrains is not given. At the code's 0.001 SeqGAN stays at its MLE start instead of "
        "falling below it, with delayed or live rollouts (the variant rows; RESULTS.md).",
        "python benchmarks/bench_poems.py --seeds 0 1 2 --iterations 50 --workers 2",
        also=(("the same recipe again, in the quatrain GAN table",
               Source("gan_poems/results.jsonl",
                      lambda r: r.get("model") == "seqgan" and "bleu2" in r, ("bleu2",))),
              ("the generator at Adam 0.001 (the paper-era code's; the preset's 0.01 is clipped "
               "every step), from retrained MLE starts; `python benchmarks/bench_poems.py "
               "--seqgan-args \"--lr 0.001\" --out benchmarks/out/poems_lr0001`",
               Source("poems_lr0001/results.jsonl", is_(model="seqgan"), ("bleu2",))),
              ("those retrained MLE starts",
               Source("poems_lr0001/results.jsonl", is_(model="mle"), ("bleu2",))),
              ("at Adam 0.001 with live rollouts (the authors' code rolls out the generator it "
               "trains), from the same MLE starts; `python benchmarks/bench_poems.py "
               "--seqgan-args \"--lr 0.001 --rollout-policy live\" --out "
               "benchmarks/out/poems_lr0001_live`",
               Source("poems_lr0001_live/results.jsonl", is_(model="seqgan"), ("bleu2",)))),
        id="poems-seqgan"),
    *(Row(name, QUATRAINS, "BLEU-2 ↑", None,
          Source("gan_poems/results.jsonl", lambda r, m=model: r.get("model") == m and "bleu2" in r,
                 ("bleu2",)),
          f"No paper reports it on the quatrains. {how}",
          "python benchmarks/bench_gan_poems.py --seeds 0 1 2 --workers 2", id=f"poems-{model}")
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
        "python benchmarks/bench_maskgan.py --seeds 0 1 2 --workers 2", digits=1, id="ptb-lm"),
    Row("MaskMLE", PTB_WINDOWS, "masked validation perplexity, rate 0.5 ↓", "maskgan_maskmle_ppl",
        Source("maskgan_ptb/scores.jsonl", run_is("maskmle-seed"), ("masked_ppl_random",)),
        "1 x 128 seq2seq (paper 2 x 650), 6 epochs at batch 64 (the authors: about 43 at batch "
        "20), no hyperparameter sweep; random masks.",
        "python benchmarks/bench_maskgan.py --seeds 0 1 2 --workers 2", digits=1,
        scored="best-validation epoch",
        also=(("contiguous masks (MaskGAN's)", Source("maskgan_ptb/scores.jsonl",
                                                     run_is("maskmle-seed"),
                                                     ("masked_ppl_contiguous",))),),
        id="ptb-maskmle"),
    Row("MaskGAN", PTB_WINDOWS, "sample perplexity under an evaluator LM ↓", "maskgan_t5_maskgan",
        Source("maskgan_ptb/scores.jsonl", run_is("maskgan-seed"), ("scorer_ppl",)),
        "300 iterations at batch 64 (the authors: 100,000 at batch 128), 1 x 128 models; PTB "
        "samples scored by an LM of another seed.",
        "python benchmarks/bench_maskgan.py --seeds 0 1 2 --workers 2", digits=1,
        also=(("MaskMLE, the start of each MaskGAN run, same evaluator",
               Source("maskgan_ptb/scores.jsonl", run_is("maskmle-seed"), ("scorer_ppl",))),),
        id="ptb-maskgan"),
    *(Row(name, PTB_WINDOWS, "% unique 2- / 3- / 4-grams", f"maskgan_t6_{key}",
          Source("maskgan_ptb/scores.jsonl", run_is(f"{key}-seed"),
                 ("distinct2", "distinct3", "distinct4"), scale=100),
          "1,000 unconditional samples of 20 tokens (the caption's protocol). The paper's "
          "values are what a set of the text's size gives (10,000 samples, ~400K n-grams; "
          "RESULTS.md, issue 28's gaps), so the absolute values do not compare.",
          "python benchmarks/bench_maskgan.py --seeds 0 1 2 --workers 2", digits=1,
          scored=scored, id=f"ptb-{key}-distinct")
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
                *extra),
          id=f"ptb-vae-{key}")
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
               Source("vae_ptb_h100/scores.jsonl", run_is("rnnlm-seed"), ("ppl_test",))),),
        id="ptb-rnnlm"),
    Row("SmolLM2-135M-Instruct, REINFORCE against a learned discriminator", PTB,
        "NLL-test per token (SmolLM2's tokens) ↓", None,
        Source("smollm2/results.jsonl", is_(run="seqgan"), ("evaluation.nll_test",)),
        "No paper. The pretrained model as it ships (its GGUF file, read offline) on PTB "
        "sentences cut to 32 of its tokens; SeqGAN's CNN learns PTB from its samples while it "
        "trains; reward at the last token (no Monte-Carlo rollouts), a moving-average baseline, "
        "a KL penalty to the start, a d-round every iteration; one seed, on a CPU.",
        "python benchmarks/bench_smollm2.py --seed 0 --out benchmarks/out/smollm2",
        also=(("the start: the model as it ships, no update",
               Source("smollm2/results.jsonl", is_(run="start"), ("evaluation.nll_test",))),),
        id="ptb-smollm2"),
    Row("GRPO against a discriminator learned during training", "PTB, 4-word prompts",
        "evaluator NLL of completions, per token ↓", None,
        Source(CONTINUATION, is_(kind="run", agent="grpo"), EVALUATOR_NLL),
        "No paper. A prompted LSTM 64/64 MLE start (one epoch); the reward is SeqGAN's CNN "
        "(4 widths x 64 filters) trained every iteration on 512 real continuations and 512 "
        "completions of the same prompts (GAIL on completions); 100 updates x 64 completions, "
        "Adam 1e-4 untuned; 1,000 test prompts scored by an evaluator LM of another seed. A "
        "lower evaluator NLL can be sharper, less varied text (PPO's: RESULTS.md).",
        "python benchmarks/bench_continuation.py --seeds 0 1 2 --workers 2 --threads 1 --out "
        "benchmarks/out/continuation",
        also=(("the MLE start of each run, same evaluator",
               Source(CONTINUATION, is_(kind="start-evaluation"), EVALUATOR_NLL)),
              ("RLOO", Source(CONTINUATION, is_(kind="run", agent="rloo"), EVALUATOR_NLL)),
              ("PPO (a value head on the policy's features)",
               Source(CONTINUATION, is_(kind="run", agent="ppo"), EVALUATOR_NLL))),
        id="ptb-continuation"),
    Row("MLE start, LSTM", ARITHMETIC, ACCURACY, None,
        arithmetic(kind="start", policy="recurrent"),
        "No paper: textrl's arithmetic task (10,000 operand pairs, 500 held out for test and 500 for "
        "validation, never trained on). LSTM 32/32, 40 epochs on 2,000 worked examples; "
        "greedy decoding, the exact answer counts. The start of every agent of the next row.",
        ARITHMETIC_RUNS,
        also=(("the Transformer's start (width 32, 2 layers), trained until its validation "
               "accuracy first reached 15%", arithmetic(kind="start", policy="transformer")),),
        id="arithmetic-mle"),
    Row("GRPO (`grpo` aggregation), LSTM, from the MLE start", ARITHMETIC, ACCURACY, None,
        arithmetic(kind="run", agent="grpo", policy="recurrent"),
        "No paper. Every agent (second table) samples 300 updates x 64 completions from the "
        "same starts, groups of 8, reward 1 for the exact answer; each agent's learning rate "
        "picked on seed 0's validation accuracy with the LSTM (the Transformer uses them as "
        "they are). With 3 seeds no agent separates from the others (RESULTS.md).",
        ARITHMETIC_RUNS,
        also=tuple((f"{name}, {policy}", arithmetic(kind="run", agent=agent, policy=key))
                   for policy, key in POLICIES for name, agent in AGENTS
                   if (agent, key) != ("grpo", "recurrent"))
        + tuple((f"stable-baselines3's PPO on the task's Gym env, {policy} (bench_sb3_arithmetic.py)",
                 Source("sb3_arithmetic/results.jsonl", is_(kind="sb3", policy=key), ("accuracy",)))
                for policy, key in POLICIES),
        id="arithmetic-grpo"),
]
