"""The commands on a model's code space and on missing words: ``textrl reconstruct`` and
``textrl interpolate`` (a VAE, or an autoencoder alone or under a latent-space GAN), and
``textrl impute`` (a VAE or a sentence language model)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

from textrl.data.tokenizers import get_tokenizer
from textrl.device import resolve_device, seeded_generator
from textrl.errors import UserError, a
from textrl.imputation import impute, read_blanks
from textrl.latent_space import decode, encode_texts, homotopy, posterior_codes
from textrl.models import require
from textrl.training import load_run

CODE_SPACE_COMMANDS = ("reconstruct", "interpolate", "impute")


def add_code_space_commands(commands, add_loading_options: Callable[[argparse.ArgumentParser], None]
                            ) -> None:
    """Add the three commands' parsers to ``commands`` (the ``textrl`` subparsers)."""
    defaults_shown = argparse.ArgumentDefaultsHelpFormatter
    reconstruct = commands.add_parser("reconstruct", formatter_class=defaults_shown,
                                      help="a VAE run: decode sentences from their posterior")
    reconstruct.add_argument("run", help="run directory (vae)")
    reconstruct.add_argument("texts", nargs="+", help="sentences to encode")
    reconstruct.add_argument("--posterior-samples", type=int, default=None,
                             help="codes drawn from q(z|x) besides its mean (default: 3 for a "
                             "VAE, 0 for an autoencoder, whose code is its mean)")
    add_loading_options(reconstruct)

    interpolate = commands.add_parser("interpolate", formatter_class=defaults_shown,
                                      help="a VAE run: greedy decodes along the line between "
                                      "two sentences' posterior means")
    interpolate.add_argument("run", help="run directory (vae)")
    interpolate.add_argument("first", help="the sentence at t = 0")
    interpolate.add_argument("second", help="the sentence at t = 1")
    interpolate.add_argument("--steps", type=int, default=5, help="points from t = 0 to 1")
    add_loading_options(interpolate)

    impute = commands.add_parser("impute", formatter_class=defaults_shown,
                                 help="fill the ___ blanks of sentences with a VAE (iterated "
                                 "conditional modes) or a language model (beam search)")
    impute.add_argument("run", help="run directory (vae, or an mle run on sentences)")
    impute.add_argument("texts", nargs="+", help='sentences with ___ where a word is missing, '
                        'e.g. "it was ___ ___ for a moment ."')
    impute.add_argument("--beam", type=int, help="beam width (default: 15 for a language "
                        "model, 5 per step for a VAE, as Bowman et al.)")
    impute.add_argument("--icm-steps", type=int, default=3, help="a VAE's rounds of iterated "
                        "conditional modes")
    add_loading_options(impute)


def run_code_space_command(args: argparse.Namespace) -> int:
    return _impute(args) if args.command == "impute" else _code_space(args)


def _code_space(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    loaded = load_run(args.run, best=args.checkpoint == "best", with_data=False, device=device)
    require(loaded.model, {"codes"}, f"{args.run} ({loaded.kind} run) for `textrl "
            f"{args.command}`", "use a vae or latent-gan run")
    loaded = loaded._replace(model=loaded.model.code_model)  # a latent GAN: its autoencoder's
    tokenizer = get_tokenizer(loaded.data.tokenizer, loaded.data.keep_spaces)
    texts = args.texts if args.command == "reconstruct" else [args.first, args.second]
    tokens, lengths = encode_texts(texts, loaded.vocab, tokenizer, loaded.max_len, device)
    g = seeded_generator(args.seed, device)
    if args.command == "reconstruct":
        deterministic = loaded.model.config.deterministic
        samples = args.posterior_samples
        if samples is None:
            samples = 0 if deterministic else 3
        if samples < 0 or (deterministic and samples):
            raise UserError("--posterior-samples must be >= 0, and 0 for an autoencoder (its "
                            "code is the encoder's mean; there is no posterior to sample)")
        codes = posterior_codes(loaded.model, tokens, lengths, samples, g)
        decoded = decode(loaded.model, codes.flatten(0, 1), loaded.max_len, loaded.vocab,
                         tokenizer)
        per = 1 + samples
        for i, text in enumerate(texts):
            print(f"input\t{text}\nmean\t{decoded[i * per]}")
            for line in decoded[i * per + 1:(i + 1) * per]:
                print(f"sample\t{line}")
        return 0
    means = posterior_codes(loaded.model, tokens, lengths, 0)[:, 0]
    path = homotopy(means[0], means[1], args.steps)
    for t, line in zip(torch.linspace(0, 1, args.steps).tolist(),
                       decode(loaded.model, path, loaded.max_len, loaded.vocab, tokenizer),
                       strict=True):
        print(f"{t:.2f}\t{line}")
    return 0


def _impute(args: argparse.Namespace) -> int:
    if (args.beam is not None and args.beam < 1) or args.icm_steps < 1:
        raise UserError("--beam and --icm-steps must be >= 1")
    device = resolve_device(args.device)
    loaded = load_run(args.run, best=args.checkpoint == "best", with_data=False, device=device)
    capabilities = loaded.model.capabilities
    if not ("posterior" in capabilities or {"unconditional", "likelihood"} <= capabilities) \
            or loaded.vocab.eos_id is None or loaded.data.windows is not None:
        raise UserError(f"{args.run} is {a(loaded.kind)} run of a {type(loaded.model).__name__}; "
                        "impute takes a vae run or an mle run on sentences (for in-fillers "
                        "use `textrl infill`)")
    tokenizer = get_tokenizer(loaded.data.tokenizer, loaded.data.keep_spaces)
    for number, text in enumerate(args.texts, 1):
        try:
            words = read_blanks(text, loaded.vocab, tokenizer, loaded.max_len)
        except UserError as error:
            raise UserError(f"sentence {number}: {error}") from None
        filled = impute(loaded.model, words, loaded.vocab, args.beam, args.icm_steps)
        print(f"{text}\t{tokenizer.detokenize(loaded.vocab.decode(filled))}")
    return 0

