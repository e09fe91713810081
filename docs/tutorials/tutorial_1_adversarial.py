"""
Train a generator against a learned discriminator
=================================================

SeqGAN's loop, in miniature: a language model is pretrained by maximum likelihood on
samples of an *oracle* (a random LSTM whose likelihood we can compute, so the quality of
what the generator writes can be measured exactly), then trained by policy gradient
against a CNN discriminator that is itself trained, between the policy's updates, to tell
the oracle's sentences from the generator's. The reward is learned from expert data while
the policy is trained against it: inverse RL, or a GAN over sequences (see
:doc:`/systems/seqgan` and :doc:`/systems/irl`).

Everything below runs in seconds on two CPU cores, so every size is tiny; the commands at
the end run the same recipe at the paper's size.
"""

# %%
# Pretrain the generator (behaviour cloning)
# ------------------------------------------
# :func:`~textrl.recipes.recipe_config` builds a run's settings as ``textrl train`` would
# (a recipe, a preset, then overrides: the command line's flags), and
# :func:`~textrl.recipes.train` runs it into a run directory. ``oracle: random:1`` is the
# embedded seeded random oracle (vocabulary 5,000, sentences of 20 tokens, SeqGAN's
# setting); the generator is SeqGAN's LSTM (embedding and hidden size 32).
import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from textrl.recipes import recipe_config, train

RUNS = Path(tempfile.mkdtemp(prefix="textrl-tutorial-")) / "runs"  # where the runs go
small_data = {"oracle": "random:1", "n_train": 1000, "n_valid": 200, "n_test": 200}
mle = recipe_config("mle", None, small_data | {"epochs": 4, "eval_samples": 256, "seed": 0})
last = train(mle, RUNS / "mle", progress=False)
print({k: round(v, 3) for k, v in last.items() if k in ("epoch", "nll_oracle", "nll_valid")})

# %%
# ``nll_oracle`` is SeqGAN's quality measure: the oracle's mean per-token negative
# log-likelihood of the generator's samples (lower is better); ``nll_valid`` is the
# generator's own NLL of held-out oracle samples (how well it covers the data).
#
# The adversarial loop
# --------------------
# The ``seqgan`` recipe starts from that run (``init``). Each iteration is one g-step (16
# sentences, each prefix's reward estimated by Monte-Carlo rollouts, REINFORCE) and, every
# ``d_every`` iterations, a d-step: the discriminator trained on fresh real and generated
# sentences. The ``cpu`` preset holds SeqGAN's generator schedule; here it is cut further.
seqgan = recipe_config("seqgan", "cpu", {
    "init": str(RUNS / "mle"), "iterations": 12, "batch_size": 16, "n_rollouts": 4,
    "d_filter_sizes": [2, 3, 4], "d_num_filters": [20, 20, 20], "d_pretrain_steps": 2,
    "d_samples": 256, "d_every": 1, "eval_every": 3, "eval_samples": 256,
    "checkpoint_every": 6, "seed": 0})
last = train(seqgan, RUNS / "seqgan", progress=False)
print(sorted(os.listdir(RUNS / "seqgan")))

# %%
# What the run wrote
# ------------------
# A run directory holds its settings (``config.yaml``), vocabulary, the latest checkpoint
# and the best one by validation NLL, a JSON-lines log with one record per evaluation
# and per logged step, and a learning-curve PNG redrawn at every evaluation. Any run can
# be continued with ``--resume``. The log is plain JSON lines:
log = (RUNS / "seqgan" / "metrics.jsonl").read_text().splitlines()
records = [json.loads(line) for line in log]
print(json.dumps(records[-1], indent=1))

# %%
# Plot what matters: the quality of the samples under the oracle, the mean reward the
# discriminator pays a generated sentence, and the discriminator's accuracy on its own
# training batches. A discriminator that wins (accuracy near 1, reward near 0) leaves the
# generator only noise to follow; that is what the benchmark runs show at full size
# (:doc:`/systems/seqgan`).
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
for ax, key in zip(axes, ("nll_oracle", "reward", "d_accuracy"), strict=True):
    points = [(r["iteration"], r[key]) for r in records if key in r]
    ax.plot(*zip(*points, strict=True), marker="o")
    ax.set(title=key, xlabel="iteration")
    ax.grid(alpha=0.3)
fig.tight_layout()

# %%
# Samples, and an evaluation
# --------------------------
# ``textrl sample`` draws sentences from a run's last (or ``--checkpoint best``) weights and
# ``textrl evaluate`` computes every metric from one fresh seeded sample set; from Python,
# :func:`~textrl.training.load_run` gives a run's policy, data and config.
from textrl.cli import main


def textrl(*argv: str) -> None:
    """Run ``textrl ARGV`` in this process; an exit other than 0 stops the tutorial."""
    try:
        main([str(a) for a in argv])
    except SystemExit as done:
        if done.code not in (0, None):
            raise


textrl("sample", RUNS / "seqgan", "-n", "3")  # an oracle's tokens are ids, not words

# %%
# ``evaluate --json`` prints every metric and the settings it used; here, four of them:
with contextlib.redirect_stdout(io.StringIO()) as printed:
    textrl("evaluate", RUNS / "seqgan", "--samples", "256", "--json")
scores = json.loads(printed.getvalue())
print({k: round(scores[k], 3) for k in ("nll_oracle", "nll_test", "bleu4", "self_bleu4")})

# %%
# At full size
# ------------
# The same recipe at SeqGAN's sizes (the authors' oracle file, 120 MLE epochs, 200
# adversarial iterations; the ``cpu`` preset's adversarial phase stays under 20 minutes on
# two cores in ``benchmarks/RESULTS.md``, the ``paper`` preset is GPU-sized):
#
# .. code-block:: bash
#
#    textrl train mle --oracle ../shared/data/seqgan_oracle/target_params_py3.pkl --epochs 120 --seed 0 --out runs/mle
#    textrl train seqgan --init runs/mle --iterations 200 --seed 0 --out runs/seqgan
#    textrl train seqgan --init runs/mle --config paper --out runs/seqgan-paper
#    textrl evaluate runs/seqgan --json
#
# or the same from Python: ``train(recipe_config("seqgan", "cpu", {"init": "runs/mle"}),
# "runs/seqgan")``.
