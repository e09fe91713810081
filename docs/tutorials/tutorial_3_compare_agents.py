"""
Compare RL algorithms on text
=============================

The embedded arithmetic task: a prompt ``17+25=`` and a completion the policy writes,
rewarded 1 when it is the answer (``--partial-credit``: the share of the answer's
characters in place). Greedy accuracy on 500 held-out problems, whose operand pairs never
appear in training, is logged as ``accuracy`` (``accuracy_valid``, on 500 validation
problems, is the one to select on). Every completion of a prompt is one of a *group*:
GRPO and RLOO compare a completion with the others of its prompt, REINFORCE (``pg``) does
not. See :doc:`/systems/prompted`.

This tutorial pretrains a policy by maximum likelihood, trains it with three agents and
two seeds each for a few dozen updates, and compares them with ``textrl compare``. At this
size the curves say how to read the comparison, not which algorithm wins.
"""

# %%
# Run ``textrl`` in this process
# ------------------------------
import json
import os
import tempfile
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt

from textrl.cli import main

WORK = Path(tempfile.mkdtemp(prefix="textrl-tutorial-"))  # the runs go here


def textrl(*argv: str) -> None:
    """``textrl ARGV`` in this process, from ``WORK``; an exit other than 0 stops the
    tutorial."""
    here = os.getcwd()
    os.chdir(WORK)
    try:
        main([str(a) for a in argv])
    except SystemExit as done:
        if done.code not in (0, None):
            raise
    finally:
        os.chdir(here)


# %%
# Pretrain on worked additions
# ----------------------------
textrl("train", "mle", "--task", "arithmetic", "--data", "arithmetic", "--n-train", 500,
       "--epochs", 12, "--eval-every", 12, "--quiet", "--out", "runs/add-mle")

# %%
# Three agents, two seeds each
# ----------------------------
# The same start, learning rate, batch (64 completions: 16 prompts x 4, the defaults) and
# budget for each.
# ``pg`` on this task pays every completion its own reward, so it takes
# ``--n-rollouts 0`` (no Monte-Carlo rollouts).
common = ["--task", "arithmetic", "--init", "runs/add-mle", "--partial-credit", "--lr", "1e-3",
          "--iterations", 12, "--eval-every", 4, "--quiet"]
runs = []
for agent in ("grpo", "rloo", "pg"):
    for seed in (0, 1):
        out = f"runs/{agent}/seed{seed}"
        extra = ["--n-rollouts", 0] if agent == "pg" else []
        textrl("train", agent, *common, *extra, "--seed", seed, "--out", out)
        runs.append(out)

# %%
# ``textrl compare``
# ------------------
# ``--curves`` draws the learning curves of any logged metric, against update steps and
# against completions sampled, as the mean and sd over the seeds of each group of runs
# (runs of one recipe and settings that differ only in their seed form a group).
textrl("compare", "runs/grpo/seed0", "runs/grpo/seed1", "runs/rloo/seed0", "runs/rloo/seed1",
       "runs/pg/seed0", "runs/pg/seed1", "--curves", "accuracy", "reward", "kl",
       "--curves-out", "curves")
print(sorted(os.listdir(WORK / "curves")))

# %%
# Reading the figure
# ------------------
# One panel per metric: ``reward`` is the mean reward of the training batch, ``accuracy``
# the greedy accuracy on held-out problems (what the run is for), ``kl`` the KL of the
# policy to its start, which every agent logs. Against completions sampled rather than
# steps, agents that draw more samples per update pay for them.
pngs = [WORK / "curves" / f"{metric}.png" for metric in ("accuracy", "reward", "kl")]
images = [mpimg.imread(png) for png in pngs]
height = sum(image.shape[0] / image.shape[1] for image in images)
fig, axes = plt.subplots(len(images), 1, figsize=(10, 10 * height))
for ax, image in zip(axes, images, strict=True):
    ax.imshow(image)
    ax.set_axis_off()
fig.tight_layout(pad=0)

# %%
# The numbers behind the curves are each run's ``metrics.jsonl``:
for out in runs:
    log = [json.loads(line) for line in (WORK / out / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in log if "accuracy" in r][-1]
    print(f"{out:16s} iteration {last['iteration']:3d}  accuracy {last['accuracy']:.3f}  "
          f"reward {last.get('reward', float('nan')):.3f}")

# %%
# At full size
# ------------
# The README's commands; add seeds with ``--seed`` and
# other ``--out`` folders, then compare every run at once:
#
# .. code-block:: bash
#
#    textrl train mle --task arithmetic --data arithmetic --n-train 2000 --epochs 40 --eval-every 10 --out runs/add-mle
#    textrl train grpo --task arithmetic --init runs/add-mle --lr 1e-4 --iterations 300 --eval-every 25 --out runs/add-grpo
#    textrl train rloo --task arithmetic --init runs/add-mle --lr 1e-4 --iterations 300 --eval-every 25 --out runs/add-rloo
#    textrl train ppo --task arithmetic --init runs/add-mle --n-rollouts 0 --lr 1e-4 --iterations 300 --eval-every 25 --out runs/add-ppo
#    textrl compare runs/add-grpo runs/add-rloo runs/add-ppo --curves accuracy reward kl --curves-out runs/curves
