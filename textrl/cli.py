"""The ``textrl`` command: train, sample, evaluate, compare, infill, and for a VAE
reconstruct, interpolate, impute.

User errors print one line and exit with code 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import torch

from textrl import __version__, distributed
from textrl.code_space_cli import (
    CODE_SPACE_COMMANDS,
    add_code_space_commands,
    run_code_space_command,
)
from textrl.compare import add_compare_command, compare_logs, format_summary, group_runs, summarise
from textrl.data.corpus import read_lines
from textrl.data.tokenizers import Tokenizer, get_tokenizer
from textrl.data.vocab import Vocab
from textrl.datasets import GRAMMAR, data_identity, read_references
from textrl.device import DEVICE_HELP, device_of, resolve_device, seeded_generator
from textrl.errors import UserError
from textrl.evaluation import (
    QD_AXES,
    check_same_data,
    format_table,
    plot_quality_diversity,
    quality_diversity,
    sample_reverse_perplexity,
    score_samples,
    task_references,
)
from textrl.metrics.bleu import sacrebleu_signature
from textrl.metrics.latent import latent_metrics
from textrl.models import require
from textrl.recipes import (
    PRESETS,
    RECIPES,
    Recipe,
    choices_of,
    components,
    get_recipe,
    preset_path,
    read_yaml,
    recipe_config,
    setting_names,
    task_name,
    task_of,
    train,
)
from textrl.recipes.config import add_arguments
from textrl.tasks import TASKS, PromptedTask
from textrl.tasks.infill import MaskConfig, fill_lines, fill_texts
from textrl.tasks.prompted import TextCodec, read_prompts
from textrl.training import LoadedRun, RunDir, RunOptions, load_run

THREADS_HELP = ("CPU threads of this process (torch's intra-op threads; default: what "
                "torch picks, OMP_NUM_THREADS when set, else every core); give each of "
                "several jobs run side by side its share, e.g. --threads 1 for two jobs on 2 "
                "cores")


class _Parser(argparse.ArgumentParser):
    """No abbreviated flags: a typo (``--epoch``) must not become another flag."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def _add_loading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples")
    parser.add_argument("--checkpoint", choices=["last", "best"], default="last",
                        help="the last step, or the best validation NLL")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--threads", type=int, metavar="N", help=THREADS_HELP)


def _add_scorer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scorer", metavar="LM_RUN", help="also score the samples under this "
                        "evaluator language model (an MLE run on the same data, seeded apart "
                        "from the runs scored): scorer_nll, scorer_ppl (MaskGAN's protocol)")


def _load_scorer(args: argparse.Namespace, vocab: Vocab, device: torch.device) -> Any:
    """The ``--scorer`` run's model, refused unless it reads the same vocabulary."""
    if not getattr(args, "scorer", None):
        return None
    scorer = load_run(args.scorer, with_data=False, device=device)
    if scorer.vocab.to_dict() != vocab.to_dict():
        raise UserError(f"--scorer {args.scorer} was trained on another vocabulary; train the "
                        "evaluator language model on the same data as the runs it scores")
    return scorer.model


CHOICES = ("reward", "policy", "task")  # the settings that decide a recipe's other flags


def _chosen(argv: list[str]) -> dict[str, str]:
    """What a `train RECIPE ...` command line chooses (``--reward``, ``--policy``,
    ``--task``), which decides its other flags: each from the flag, else the resumed run's or
    the config file's."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for name in (*CHOICES, "config", "out"):
        pre.add_argument(f"--{name}")
    pre.add_argument("--resume", action="store_true")
    known, _ = pre.parse_known_args(argv)
    saved: dict = {}
    try:
        if known.resume and known.out:
            saved = RunDir(known.out).load_config()
        elif known.config and known.config not in PRESETS and Path(known.config).is_file():
            saved = read_yaml(known.config)
    except UserError:
        pass  # the full parse reports it
    given = {name: getattr(known, name) or saved.get(name) for name in CHOICES}
    return {name: value for name, value in given.items() if value is not None}


def _add_recipe_parser(algos, recipe: Recipe, settings: dict[str, str]) -> None:
    parser = algos.add_parser(recipe.name, help=recipe.help, description=recipe.help)
    parser.add_argument("--out", required=True, help="run directory")
    presets = "paper, cpu (default) or " if recipe.presets else ""
    parser.add_argument("--config", default=None,
                        help=f"{presets}a YAML file of settings; flags override it")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP + " (default: auto)")
    parser.add_argument("--threads", type=int, metavar="N", help=THREADS_HELP)
    parser.add_argument("--sample-every", type=int, default=0, metavar="N",
                        help="every N steps, write a few decoded samples to OUT/samples.jsonl "
                             "and the console (default: never)")
    parser.add_argument("--tensorboard", metavar="DIR",
                        help="also log scalars and samples for TensorBoard to DIR (needs "
                             "pip install 'textrl[tensorboard]')")
    defaults = ({k: v for k, v in read_yaml(preset_path(recipe, "cpu")).items()}
                if recipe.presets else {})
    add_arguments(parser, components(recipe, choices_of(recipe, settings)).values(), defaults)


def build_parser(settings: dict[str, str] | None = None, recipe: str | None = None
                 ) -> argparse.ArgumentParser:
    """The ``textrl`` parser; ``settings`` (``--reward``, ``--policy``, ``--task``) decide
    the flags of ``recipe`` (the one being trained)."""
    parser = _Parser(prog="textrl", description="textrl: reinforcement learning on text. Train "
                     "a generator (MLE, SeqGAN, RankGAN, MaskGAN, PG/A2C/PPO against any "
                     "reward, the VAE, the GANs without RL), then sample, evaluate, compare "
                     "and in-fill with it. `textrl COMMAND --help` for each command.")
    parser.add_argument("--version", action="version", version=f"textrl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    defaults_shown = argparse.ArgumentDefaultsHelpFormatter

    train = commands.add_parser("train", help="train a model")
    algos = train.add_subparsers(dest="algorithm", required=True)
    for each in RECIPES.values():
        _add_recipe_parser(algos, each, (settings or {}) if each.name == recipe else {})

    infill = commands.add_parser("infill", formatter_class=defaults_shown,
                                 help="fill the <m> blanks of sentences with an in-filling run")
    infill.add_argument("run", help="run directory (maskmle or maskgan)")
    infill.add_argument("texts", nargs="*", help='sentences with <m> where a word is missing, '
                        'e.g. "the <m> <m> sat on the mat"')
    infill.add_argument("--file", help="real sentences, one per line, to blank with --mask and "
                        "fill; prints each truth beside its fill")
    infill.add_argument("--mask", default="contiguous", help="with --file: contiguous, random "
                        "or unconditional")
    infill.add_argument("--rate", type=float, default=0.5, help="with --file: share blanked")
    infill.add_argument("--temperature", type=float, default=1.0,
                        help="sampling temperature of the fills (0: greedy)")
    _add_loading_options(infill)

    add_code_space_commands(commands, _add_loading_options)

    sample = commands.add_parser("sample", formatter_class=defaults_shown,
                                 help="print sentences sampled from a run")
    sample.add_argument("run", help="run directory")
    sample.add_argument("-n", type=int, default=10, help="how many")
    sample.add_argument("--temperature", type=float, default=1.0,
                        help="sampling temperature (0: greedy)")
    sample.add_argument("--prompt", action="append", metavar="TEXT",
                        help="a prompted run (--task prompted or arithmetic): print -n "
                             "completions of TEXT, each after its prompt (repeatable; grouped "
                             "by prompt)")
    sample.add_argument("--prompts", metavar="FILE", help="the same, for each prompt of a "
                        "JSON-lines or CSV file with a 'prompt' column (as --task prompted "
                        "reads)")
    _add_loading_options(sample)

    evaluate = commands.add_parser("evaluate", formatter_class=defaults_shown,
                                   help="score a run with every metric")
    evaluate.add_argument("run", help="run directory")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--references", help="BLEU references, one sentence per line "
                          "(default: the run's test split)")
    evaluate.add_argument("--samples", type=int, default=10_000, help="samples to score")
    evaluate.add_argument("--temperature", type=float, default=1.0,
                          help="sampling temperature of the scored samples (0: greedy)")
    evaluate.add_argument("--importance-samples", type=int, default=100, help="a VAE run: "
                          "codes per sentence of the importance-weighted NLL")
    evaluate.add_argument("--reverse-ppl", type=int, default=0, metavar="N", help="also train "
                          "an LSTM LM on N samples and report its perplexity on the test split "
                          "(ARAE's reverse perplexity); 0: off")
    evaluate.add_argument("--reverse-epochs", type=int, default=10,
                          help="epochs of that LM (the best on held-out samples is kept)")
    _add_loading_options(evaluate)
    _add_scorer_option(evaluate)

    add_compare_command(commands, _add_loading_options, _add_scorer_option)
    return parser


def _train(args: argparse.Namespace, settings: dict[str, str]) -> int:
    recipe = get_recipe(args.algorithm)
    names = setting_names(components(recipe, choices_of(recipe, settings)))
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.resume:
        run_dir = RunDir(args.out)
        run_dir.create(resume=True)  # names the missing checkpoint before anything else
        saved = run_dir.load_config()
        if saved.get("recipe", recipe.name) != recipe.name:
            raise UserError(f"{args.out} holds a {saved['recipe']} run; resume it with "
                            f"`textrl train {saved['recipe']} --resume`")
        config = recipe_config(recipe.name, None, given, saved=saved)
    else:
        config = recipe_config(recipe.name, args.config or ("cpu" if recipe.presets else None),
                               given)
    if args.sample_every < 0:
        raise UserError(f"--sample-every must be >= 0, got {args.sample_every}")
    # Under torchrun: join the other processes (each on its own GPU when --device is one).
    device = distributed.start(resolve_device(args.device))
    options = RunOptions(sample_every=args.sample_every, tensorboard=args.tensorboard,
                         device=str(device))
    writes = distributed.is_main()
    try:
        result = train(config, args.out, resume=args.resume, progress=not args.quiet,
                       options=options)
    finally:
        distributed.stop()
    if writes:
        print(json.dumps({"out": args.out, **result}))
    return 0


def _check_run_options(args: argparse.Namespace) -> None:
    if getattr(args, "n", 1) < 1 or getattr(args, "samples", 1) < 1:
        raise UserError("the number of samples must be >= 1")
    temperatures = getattr(args, "temperatures", None) or [getattr(args, "temperature", 1.0)]
    if any(not math.isfinite(t) or t < 0 for t in temperatures):
        raise UserError(f"--temperature must be a finite number >= 0, got {temperatures}")


def _infill(args: argparse.Namespace) -> int:
    if bool(args.texts) == bool(args.file):
        raise UserError("give sentences with <m> blanks, or --file FILE of real sentences")
    device = resolve_device(args.device)
    loaded = load_run(args.run, best=args.checkpoint == "best", with_data=False, device=device)
    require(loaded.model, {"template"}, f"{args.run} ({loaded.kind} run) for `textrl infill`",
            "use a `textrl train maskmle` run")
    tokenizer = get_tokenizer(loaded.data.tokenizer, loaded.data.keep_spaces)
    fill = (fill_lines if args.file else fill_texts)
    texts = read_lines(args.file) if args.file else args.texts
    rows = fill(loaded.model, loaded.vocab, tokenizer, texts, loaded.max_len,
                loaded.data.windows is not None, args.temperature,
                seeded_generator(args.seed, device),
                MaskConfig(args.mask, args.rate) if args.file else None)
    for text, (shown, filled) in zip(texts, rows, strict=True):
        print(f"{text}\t{shown}\t{filled}" if args.file else f"{shown}\t{filled}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    """``-n`` samples of a run from its checkpoint alone (no data files needed); with
    ``--prompt``/``--prompts``, ``-n`` completions of each prompt, a block per prompt, drawn
    in turn from one ``--seed``ed generator (one per prompt would give every prompt the same
    random draws: completions of different prompts that look alike)."""
    device = resolve_device(args.device)
    loaded = load_run(args.run, best=args.checkpoint == "best", with_data=False, device=device)
    tokenizer = get_tokenizer(loaded.data.tokenizer, loaded.data.keep_spaces)
    prompted = args.prompt is not None or args.prompts is not None
    prefixes = _encode_prompts(args, loaded, tokenizer) if prompted else [None]
    generator = seeded_generator(args.seed, device)
    for i, ids in enumerate(prefixes):
        prefix = None if ids is None else torch.tensor([ids] * args.n, device=device)
        sample = loaded.model.sample(args.n, loaded.max_len, args.temperature, prefix=prefix,
                                     generator=generator)
        if i:
            print()  # a blank line between prompts' blocks
        for line in loaded.vocab.texts(sample.tokens, sample.lengths, tokenizer,
                                       stream=loaded.data.windows is not None):
            print(line)
    return 0


def _encode_prompts(args: argparse.Namespace, loaded: LoadedRun, tokenizer: Tokenizer
                    ) -> list[list[int]]:
    """The ids of ``--prompt``s and the ``--prompts`` file's prompts, encoded as the run's
    prompted task encodes its prompts (:class:`TextCodec`); a UserError for a run that is
    not prompted, an empty prompt, a token the run does not know, a prompt too long."""
    task = task_name(loaded.config)
    if not issubclass(TASKS[task].cls, PromptedTask):
        raise UserError(f"--prompt/--prompts: {args.run} is a --task {task} run, which reads no prompt; "
                        "sample it without --prompt, or give a run trained with --task "
                        "prompted or arithmetic")
    codec = TextCodec(loaded.vocab, tokenizer, loaded.data.lowercase)
    texts = (args.prompt or []) + ([row["prompt"] for row in read_prompts(args.prompts)]
                                   if args.prompts else [])
    return [codec.prompt_ids(text, f"prompt {text!r}", loaded.max_len) for text in texts]


def _compare(args: argparse.Namespace) -> int:
    """Sample each run's checkpoint at each temperature: a row per run (or per group of
    seeds: mean ± sd) and temperature; ``--curves``/``--tensorboard`` read the logs instead."""
    if args.curves or args.tensorboard:
        return compare_logs(args)
    if 0 in args.temperatures:
        raise UserError("compare samples at temperatures > 0: greedy decoding (0) has no "
                        "NLL-test and no diversity to plot")
    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        raise UserError(f"--plot {args.plot}: its folder does not exist; create it first")
    device = resolve_device(args.device)
    loaded = {run: load_run(run, best=args.checkpoint == "best", device=device)
              for run in args.runs}
    check_same_data([(run, data_identity(r.data, r.oracle)) for run, r in loaded.items()])
    groups = group_runs(args.runs, [RunDir(run).load_config() if RunDir(run).config.is_file()
                                    else r.config for run, r in loaded.items()],
                        args.ignore_keys, args.per_run)
    rows = []
    scorer = _load_scorer(args, next(iter(loaded.values())).vocab, device)
    for run, r in loaded.items():
        for row in quality_diversity(r.model, r.corpus, r.oracle, args.temperatures, args.samples,
                                     args.seed, scorer, r.data.data == GRAMMAR,
                                     task_of(r.config, r.corpus, r.data)):
            rows.append({"run": run} | row)
    grouped = any(len(g.runs) > 1 for g in groups)  # else the table of runs, as ever
    if grouped:
        rows = summarise(rows, groups, by=["temperature"])
    is_oracle = any(r.oracle is not None for r in loaded.values())
    quality, diversity = QD_AXES[is_oracle]
    columns = ["run", "n", "temperature", quality, diversity, "nll_test", "bleu4", "self_bleu4",
               "distinct4", "grammatical", "novel", "length_mean"]
    columns = list(dict.fromkeys(c for c in columns if any(c in row for row in rows)))
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(format_summary(rows, columns) if grouped else format_table(rows, columns))
    if args.plot:
        for run in plot_quality_diversity(rows, quality, diversity, args.plot):
            print(f"compare: {run} has no {quality} or {diversity} (a latent GAN has no "
                  "likelihood of the test set): in the table, not in the plot", file=sys.stderr)
    return 0


def run(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    settings: dict[str, str] = {}
    training = argv[1] if argv[:1] == ["train"] and len(argv) > 1 else None
    if training in RECIPES:
        settings = _chosen(argv[2:])
    args = build_parser(settings, training).parse_args(argv)
    if getattr(args, "threads", None) is not None:
        if args.threads < 1:
            raise UserError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.command == "train":
        return _train(args, settings)
    _check_run_options(args)
    if args.command == "compare":
        return _compare(args)
    if args.command == "infill":
        return _infill(args)
    if args.command in CODE_SPACE_COMMANDS:
        return run_code_space_command(args)
    if args.command == "sample":
        return _sample(args)
    loaded = load_run(args.run, best=args.checkpoint == "best", device=resolve_device(args.device))
    corpus, data = loaded.corpus, loaded.data
    task = task_of(loaded.config, corpus, data)
    references = (read_references(args.references, data) if args.references
                  else task_references(corpus, task))
    metrics = score_samples(loaded.model, corpus, loaded.oracle, references, args.samples,
                            args.temperature, args.seed,
                            scorer=_load_scorer(args, loaded.vocab, device_of(loaded.model)),
                            grammar=data.data == GRAMMAR, task=task)
    if args.reverse_ppl:
        if args.reverse_ppl < 10 or args.reverse_epochs < 1:
            raise UserError("--reverse-ppl needs at least 10 samples and --reverse-epochs >= 1")
        metrics |= sample_reverse_perplexity(loaded.model, corpus, args.reverse_ppl,
                                             args.temperature, args.seed, args.reverse_epochs,
                                             task)
    if "posterior" in loaded.model.capabilities:
        if args.importance_samples < 1:
            raise UserError("--importance-samples must be >= 1")
        metrics |= latent_metrics(loaded.model, corpus.test, args.importance_samples,
                                  seeded_generator(args.seed, device_of(loaded.model)))
    result = metrics | {"settings": {
        "samples": args.samples, "temperature": args.temperature, "seed": args.seed,
        "checkpoint": args.checkpoint, "tokenizer": data.tokenizer, "scorer": args.scorer,
        "references": args.references or "test split", "references_count": len(references),
        "sacrebleu_signature": sacrebleu_signature(len(references), 4),
        "split": "test", "kind": loaded.kind, "config": loaded.config}}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in metrics.items():
            print(f"{key:>12}  {value:.4f}")
    return 0


def main(argv: list[str] | None = None) -> None:
    try:
        code = run(argv)
    except UserError as exc:
        print(f"textrl: error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt as exc:
        # A run stopped before saving any work removed itself and says so; otherwise its last
        # checkpoint is there to continue from.
        print(f"textrl: {str(exc) or 'interrupted; continue a training run with --resume'}",
              file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
