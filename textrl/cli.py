"""The ``textrl`` command: train, sample, evaluate, compare.

User errors print one line and exit with code 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, fields
from pathlib import Path

import torch

from textrl.agents.mle import SCHEDULES
from textrl.algorithms import RECIPES, AdversarialConfig, read_yaml, recipe_config
from textrl.data.tokenizers import get_tokenizer
from textrl.errors import UserError
from textrl.evaluation import (
    QD_AXES,
    check_same_data,
    data_identity,
    decode_split,
    format_table,
    plot_quality_diversity,
    quality_diversity,
    read_references,
    score_samples,
)
from textrl.metrics.bleu import sacrebleu_signature
from textrl.training.adversarial import train_adversarial
from textrl.training.mle import MLEConfig, load_run, train_mle
from textrl.training.runs import RunDir

# Options of `train mle`: (flag, config field, type, help). Absent flags leave the config
# file's or the saved run's value in place.
MLE_OPTIONS = [
    ("--oracle", str, "'random', 'random:SEED' or the SeqGAN authors' target_params pickle"),
    ("--data", str, "training text, one sentence per line (UTF-8)"),
    ("--valid", str, "validation text (default: 10%% carved from --data)"),
    ("--test", str, "test text (default: 10%% carved from --data)"),
    ("--tokenizer", str, "word or char"),
    ("--max-len", int, "max tokens per sentence including EOS (text)"),
    ("--overlong", str, "truncate or drop sentences over --max-len"),
    ("--min-freq", int, "drop tokens rarer than this from the vocabulary"),
    ("--max-vocab", int, "vocabulary size cap, specials included"),
    ("--n-train", int, "oracle samples to train on"),
    ("--data-seed", int, "seed of the oracle samples and of the train/valid/test split"),
    ("--emb-dim", int, "embedding size"),
    ("--hidden-dim", int, "recurrent state size"),
    ("--num-layers", int, "recurrent layers"),
    ("--cell", str, "lstm or gru"),
    ("--dropout", float, "dropout"),
    ("--init-std", float, "initialise every weight from N(0, std) (SeqGAN: 0.1)"),
    ("--epochs", int, "training epochs"),
    ("--batch-size", int, "batch size"),
    ("--lr", float, "Adam learning rate"),
    ("--grad-clip", float, "gradient norm clip"),
    ("--scheduled-sampling", str, f"teacher-forcing decay: {', '.join(SCHEDULES)}"),
    ("--ss-k", float, "decay parameter of the schedule"),
    ("--ss-floor", float, "lowest teacher-forcing probability"),
    ("--eval-every", int, "evaluate every N epochs"),
    ("--eval-samples", int, "samples for NLL-oracle"),
    ("--seed", int, "seed of initialisation, batch order and sampling"),
]


def _field(flag: str) -> str:
    return flag[2:].replace("-", "_")


def _add_loading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples")
    parser.add_argument("--checkpoint", choices=["latest", "best"], default="latest",
                        help="the last epoch, or the best validation NLL")


RECIPE_HELP = {
    "seqgan": "SeqGAN: policy gradient against a CNN discriminator, Monte-Carlo rollouts",
    "rankgan": "RankGAN: policy gradient against a ranker",
    "pg-bleu": "policy gradient against BLEU to the training data (SeqGAN's PG-BLEU)",
    "constant": "the control: policy gradient against a constant reward",
    "pg": "REINFORCE against --reward",
    "a2c": "advantage actor-critic (GAE) against --reward",
    "ppo": "PPO-clip against --reward",
}


# Help for the settings of `train <recipe>`; every flag's default comes from the preset.
RECIPE_OPTION_HELP = {
    "init": "MLE run directory to start from (default: pretrain one into OUT/mle)",
    "init_checkpoint": "start from the init run's last or best (validation) weights",
    "oracle": "'random', 'random:SEED' or the authors' pickle; must match --init's oracle",
    "pretrain_epochs": "MLE epochs when there is no --init",
    "reward": "discriminator, ranker, bleu, constant or oracle",
    "iterations": "adversarial iterations (g-steps, then d-steps)",
    "g_steps": "agent updates per iteration",
    "batch_size": "sentences per agent update",
    "n_rollouts": "Monte-Carlo rollouts per prefix (0: the reward at the last token)",
    "rollout_update_rate": "rollout policy <- rate * itself + (1 - rate) * policy",
    "lr": "agent's Adam learning rate",
    "baseline": "pg: none or moving_average",
    "gamma": "discount without rollouts (with rollouts r_t = Q_t, undiscounted)",
    "reward_form": "discriminator reward: d, log_d, airl or gail",
    "bleu_n": "max n-gram order of the BLEU reward",
    "bleu_smoothing": "BLEU reward: method1 (Texygen) or nltk3.2 (the SeqGAN authors' PG-BLEU)",
    "bleu_reference_fraction": "BLEU reward: each training sentence is a reference with this "
                               "chance (the SeqGAN authors: 0.4)",
    "d_filter_sizes": "CNN filter widths",
    "d_num_filters": "CNN filters per width",
    "d_pretrain_steps": "reward pretraining: rounds of fresh negatives",
    "d_steps": "rounds of fresh negatives per d-phase",
    "d_epochs": "epochs over each round",
    "d_every": "a d-phase every this many iterations",
    "d_samples": "generated (and real) sentences per round",
    "real_data": "real sentences of the reward: the training split (SeqGAN) or, on an "
                 "oracle, fresh oracle samples (nothing to memorise)",
    "ranker_references": "RankGAN's reference set size",
    "eval_every": "evaluate every N iterations",
    "eval_samples": "samples for NLL-oracle",
    "checkpoint_every": "checkpoint every N iterations",
    "seed": "seed of the reward's init, sampling and batch order",
}


def _add_recipe_parser(algos, recipe: str) -> None:
    parser = algos.add_parser(recipe, help=RECIPE_HELP[recipe])
    parser.add_argument("--out", required=True, help="run directory")
    parser.add_argument("--config", default=None,
                        help="paper, cpu (default) or a YAML file of settings; flags override it")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    fixed = RECIPES[recipe]
    for f in fields(AdversarialConfig):
        if f.name in fixed or f.name == "recipe" or isinstance(f.default, bool):
            continue
        kind = {int: int, float: float}.get(type(f.default), str)
        flag, text = "--" + f.name.replace("_", "-"), RECIPE_OPTION_HELP.get(f.name)
        if f.name.startswith("d_filter") or f.name.startswith("d_num"):
            parser.add_argument(flag, type=int, nargs="+", help=text)
        else:
            parser.add_argument(flag, type=kind, help=text)


def _flags_given(args: argparse.Namespace, config_class: type) -> dict:
    """The settings of ``config_class`` set on the command line (absent flags are None)."""
    names = {f.name for f in fields(config_class)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def _adversarial_config(args: argparse.Namespace) -> AdversarialConfig:
    given = _flags_given(args, AdversarialConfig)
    if args.resume:
        run_dir = RunDir(args.out)
        run_dir.create(resume=True)
        return AdversarialConfig.from_dict(run_dir.load_config() | given)
    return recipe_config(args.algorithm, args.config or "cpu", given)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textrl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model")
    algos = train.add_subparsers(dest="algorithm", required=True)
    mle = algos.add_parser("mle", help="maximum likelihood (behaviour cloning)")
    mle.add_argument("--out", required=True, help="run directory")
    mle.add_argument("--config", help="YAML file of settings (flags override it)")
    mle.add_argument("--resume", action="store_true", help="continue the run in --out")
    mle.add_argument("--quiet", action="store_true", help="no progress bar")
    for flag, kind, text in MLE_OPTIONS:
        mle.add_argument(flag, type=kind, help=text)
    for flag, text in [("--keep-spaces", "char tokenizer: spaces are tokens"),
                       ("--lowercase", "lowercase the text")]:
        mle.add_argument(flag, action="store_true", default=None, help=text)

    for recipe in RECIPES:
        _add_recipe_parser(algos, recipe)

    sample = commands.add_parser("sample", help="print sentences sampled from a run")
    sample.add_argument("run", help="run directory")
    sample.add_argument("-n", type=int, default=10, help="how many")
    sample.add_argument("--temperature", type=float, default=1.0)
    _add_loading_options(sample)

    evaluate = commands.add_parser("evaluate", help="score a run with every metric")
    evaluate.add_argument("run", help="run directory")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--references", help="BLEU references, one sentence per line "
                          "(default: the run's test split)")
    evaluate.add_argument("--samples", type=int, default=10_000, help="samples to score")
    evaluate.add_argument("--temperature", type=float, default=1.0)
    _add_loading_options(evaluate)

    compare = commands.add_parser("compare", help="one table (and plot) of runs on one dataset")
    compare.add_argument("runs", nargs="+", help="run directories trained on the same data")
    compare.add_argument("--temperatures", type=float, nargs="+", default=[1.0],
                         help="sample each run at these temperatures (the quality-diversity sweep)")
    compare.add_argument("--plot", help="write the quality-diversity plot to this PNG")
    compare.add_argument("--samples", type=int, default=2_000, help="samples per temperature")
    _add_loading_options(compare)
    compare.add_argument("--json", action="store_true", help="print the rows as JSON lines")
    return parser


def _mle_config(args: argparse.Namespace) -> MLEConfig:
    settings: dict = {}
    if args.resume:
        run_dir = RunDir(args.out)
        run_dir.create(resume=True)  # names the missing checkpoint before anything else
        settings |= run_dir.load_config()
    elif args.config:
        settings |= read_yaml(args.config)
    given = _flags_given(args, MLEConfig)
    if given.get("data") is not None:
        settings.pop("oracle", None)
    if given.get("oracle") is not None:
        settings.pop("data", None)
    return MLEConfig.from_dict(settings | given)


def _check_run_options(args: argparse.Namespace) -> None:
    if getattr(args, "n", 1) < 1 or getattr(args, "samples", 1) < 1:
        raise UserError("the number of samples must be >= 1")
    temperatures = getattr(args, "temperatures", None) or [args.temperature]
    if any(t < 0 for t in temperatures):
        raise UserError(f"temperatures must be >= 0, got {temperatures}")


def _compare(args: argparse.Namespace) -> int:
    if 0 in args.temperatures:
        raise UserError("compare samples at temperatures > 0: greedy decoding (0) has no "
                        "NLL-test and no diversity to plot")
    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        raise UserError(f"--plot {args.plot}: its folder does not exist; create it first")
    loaded = {run: load_run(run, best=args.checkpoint == "best") for run in args.runs}
    check_same_data([(run, data_identity(config, oracle))
                     for run, (config, _, oracle, _) in loaded.items()])
    rows = []
    for run, (_, corpus, oracle, policy) in loaded.items():
        for row in quality_diversity(policy, corpus, oracle, args.temperatures, args.samples,
                                     args.seed):
            rows.append({"run": run} | row)
    is_oracle = any(oracle is not None for *_, oracle, _ in loaded.values())
    quality, diversity = QD_AXES[is_oracle]
    columns = ["run", "temperature", quality, diversity, "nll_test", "bleu4", "self_bleu4",
               "distinct4", "length_mean"]
    columns = list(dict.fromkeys(c for c in columns if c in rows[0]))
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(format_table(rows, columns))
    if args.plot:
        plot_quality_diversity(rows, quality, diversity, args.plot)
    return 0


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train" and args.algorithm == "mle":
        config = _mle_config(args)
        result = train_mle(config, args.out, resume=args.resume, progress=not args.quiet)
        print(json.dumps({"out": args.out, **result}))
        return 0
    if args.command == "train":
        result = train_adversarial(_adversarial_config(args), args.out, resume=args.resume,
                                   progress=not args.quiet)
        print(json.dumps({"out": args.out, **result}))
        return 0
    _check_run_options(args)
    if args.command == "compare":
        return _compare(args)
    config, corpus, oracle, policy = load_run(args.run, best=args.checkpoint == "best")
    if args.command == "sample":
        generator = torch.Generator().manual_seed(args.seed)
        sample = policy.sample(args.n, corpus.max_len, args.temperature, generator=generator)
        tokenizer = get_tokenizer(config.tokenizer, config.keep_spaces)
        for row in sample.tokens.tolist():
            print(tokenizer.detokenize(corpus.vocab.decode(row)))
        return 0
    references = (read_references(args.references, config) if args.references
                  else decode_split(corpus.test, corpus))
    metrics = score_samples(policy, corpus, oracle, references, args.samples, args.temperature,
                            args.seed)
    result = metrics | {"settings": {
        "samples": args.samples, "temperature": args.temperature, "seed": args.seed,
        "checkpoint": args.checkpoint, "tokenizer": config.tokenizer,
        "references": args.references or "test split", "references_count": len(references),
        "sacrebleu_signature": sacrebleu_signature(len(references), 4),
        "split": "test", "config": asdict(config)}}
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
    except KeyboardInterrupt:
        print("textrl: interrupted; continue a training run with --resume", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
