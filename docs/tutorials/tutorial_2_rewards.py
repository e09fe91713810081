"""
Swap rewards: built-in, a function, a learned class, a composite with a KL penalty
==================================================================================

A reward is whatever scores finished sentences: ``reward(tokens [B, T], lengths [B],
context) -> [B]`` (one number a sentence) or ``[B, T]`` (one a token). This tutorial trains
the same pretrained policy with the same agent (REINFORCE) against four rewards:

1. a built-in one, :class:`~textrl.rewards.OracleReward` (the oracle's log-likelihood);
2. a plain function of yours;
3. a :class:`~textrl.rewards.LearnedReward` of yours, trained by d-steps while the policy
   trains against it (the adversarial loop written out by hand);
4. a :class:`~textrl.rewards.CompositeReward`: the oracle's reward plus a
   :class:`~textrl.rewards.KLPenalty` that keeps the policy near its start.

A small oracle (50 tokens, sentences of 10) keeps it to seconds.
"""

# %%
# A policy pretrained by behaviour cloning
# ----------------------------------------
import copy

import matplotlib.pyplot as plt
import torch

from textrl import BehaviourCloning, LMConfig, OracleLSTM, RecurrentLM, nll_oracle
from textrl.agents import PolicyGradient, sample_rollout
from textrl.rewards import CompositeReward, KLPenalty, LearnedReward, OracleReward, as_reward

torch.manual_seed(0)
oracle = OracleLSTM.random(seed=0, vocab_size=50, seq_len=10)
corpus = oracle.corpus(n_train=2000, n_valid=200, n_test=200, seed=0)
start = RecurrentLM(LMConfig(vocab_size=50, init_std=0.1))
cloning = BehaviourCloning(start, lr=0.01, batch_size=64)
g = torch.Generator().manual_seed(0)
for _ in range(3):
    cloning.train_epoch(corpus.train, g)
print(f"NLL-oracle after pretraining: {nll_oracle(start, oracle, n=1000, generator=g):.3f}")

# %%
# Four rewards
# ------------
# **Built-in.** Every reward of textrl is a :class:`~textrl.rewards.Reward`; the recipes
# name them (``--reward discriminator``, ``ranker``, ``bleu``, ``oracle``, ...).
builtin = OracleReward(oracle)


# %%
# **A function of yours.** Any callable with this signature is a reward:
# :func:`~textrl.rewards.as_reward` wraps it in a :class:`~textrl.rewards.FunctionReward`,
# which checks the shape it returns (the recipes and environments do this for you); set
# ``fn.token_level = True`` for one that returns ``[B, T]``.
def distinct_share(tokens, lengths, context=None):
    """Share of distinct tokens in each sentence."""
    return torch.tensor([len(set(row[:n].tolist())) / n
                         for row, n in zip(tokens, lengths.tolist(), strict=True)])


# %%
# **A learned reward of yours.** A :class:`~textrl.rewards.LearnedReward` is a
# ``torch.nn.Module`` with ``forward(tokens, lengths, context)`` (the reward),
# ``update(real, fake, context)`` (one d-step on a batch of real and one of generated
# ``(tokens, lengths)``) and ``self.optimizer``; :meth:`~textrl.rewards.LearnedReward.optimize`
# takes the step. This one scores the mean embedding of a sentence's tokens.
class BagOfWordsDiscriminator(LearnedReward):
    """P(real) from the mean token embedding, trained to tell real from generated."""

    def __init__(self, vocab_size: int = 5000):  # the command line builds it with no argument
        super().__init__()
        self.embedding = torch.nn.EmbeddingBag(vocab_size, 8, mode="mean")
        self.out = torch.nn.Linear(8, 1)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=0.01)

    def logits(self, tokens, lengths):
        offsets = torch.arange(len(tokens)) * tokens.shape[1]
        keep = torch.arange(tokens.shape[1]) < lengths[:, None]
        flat = tokens.masked_fill(~keep, 0).flatten()
        weights = (keep / lengths[:, None]).flatten().float()
        return self.out(torch.nn.functional.embedding_bag(
            flat, self.embedding.weight, offsets, mode="sum", per_sample_weights=weights)
        ).squeeze(1)

    def forward(self, tokens, lengths, context=None):
        with torch.no_grad():
            return torch.sigmoid(self.logits(tokens, lengths))

    def update(self, real, fake, context=None):
        z = self.logits(torch.cat([real[0], fake[0]]), torch.cat([real[1], fake[1]]))
        labels = torch.cat([torch.ones(len(real[0])), torch.zeros(len(fake[0]))])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, labels)
        self.optimize(loss, "bag-of-words discriminator")
        return {"d_loss": loss.item()}


# %%
# **A composite with a KL penalty.** :class:`~textrl.rewards.KLPenalty` pays each token
# ``-(log pi(y_t) - log pi_ref(y_t))`` for a frozen copy of the policy taken when it is
# built; summed over a sentence it is minus the sampled KL to the start. The composite is
# token-level as soon as one term is; the sentence-level term is paid at the last token.
def composite_for(policy):
    return CompositeReward((1.0, OracleReward(oracle)), (0.2, KLPenalty(policy)))


# %%
# The same training loop for each
# -------------------------------
# :func:`~textrl.agents.sample_rollout` writes a batch with the policy and scores it with
# the reward; ``agent.update`` is one REINFORCE step. A learned reward gets one d-step
# before each g-step, on fresh real sentences and the batch just written. After each
# update we record the reward paid and the NLL-oracle of the policy's samples.
real = corpus.train.tokens


def run(make_reward, iterations=40):
    policy = copy.deepcopy(start)
    reward = make_reward(policy)
    agent = PolicyGradient(policy, lr=0.005, baseline="moving_average")
    g = torch.Generator().manual_seed(1)
    curve = []
    for _ in range(iterations):
        rollout = sample_rollout(policy, reward, 64, oracle.seq_len, generator=g)
        if isinstance(reward, LearnedReward):
            rows = torch.randint(len(real), (64,), generator=g)
            reward.update((real[rows], torch.full((64,), oracle.seq_len)),
                          (rollout.tokens, rollout.lengths))
        agent.update(rollout)
        curve.append(float(rollout.rewards.sum(1).mean()))
    return curve, nll_oracle(policy, oracle, n=1000, generator=g)


results = {
    "OracleReward": run(lambda policy: builtin),
    "distinct_share (function)": run(lambda policy: as_reward(distinct_share)),
    "BagOfWordsDiscriminator (learned)": run(lambda policy: BagOfWordsDiscriminator(50)),
    "oracle + 0.2 KL (composite)": run(composite_for),
}
for name, (_, nll) in results.items():
    print(f"{name:36s} NLL-oracle after: {nll:.3f}")

# %%
# Each curve is the mean reward of a sentence under its own reward, so the scales differ.
# The learned reward's curve is not meant to rise: its discriminator learns at the same
# time, and a generator that keeps its reward level is keeping up. NLL-oracle, printed
# above, says what each reward did to the quality of the samples as the oracle judges
# them: only the oracle's own likelihood is aligned with it by construction.
fig, axes = plt.subplots(2, 2, figsize=(10, 6))
for ax, (name, (curve, _)) in zip(axes.flat, results.items(), strict=True):
    ax.plot(curve)
    ax.set(title=name, xlabel="update")
    ax.grid(alpha=0.3)
for ax in axes[:, 0]:
    ax.set_ylabel("mean reward")
fig.tight_layout()

# %%
# From the command line
# ---------------------
# Every recipe takes ``--reward NAME`` or ``--reward MODULE:ATTRIBUTE``: a function or a
# class of yours, imported from the folder ``textrl`` runs in (or from ``PYTHONPATH``). A
# :class:`~textrl.rewards.LearnedReward` subclass is trained by d-steps under the ``--d-*``
# flags and checkpointed with the run, as SeqGAN's discriminator is. Every agent measures
# the KL to a frozen copy of its start: ``--kl-coef`` pays it in the reward (``--kl-in
# reward``, per token) or adds it to the loss (``--kl-in loss``), fixed or adapted towards
# ``--kl-target``.
#
# .. code-block:: bash
#
#    textrl train mle --oracle random --epochs 5 --out runs/mle
#    textrl train pg --reward oracle --init runs/mle --out runs/pg-oracle
#    textrl train pg --reward my_rewards:distinct_share --init runs/mle --out runs/distinct
#    textrl train pg --reward my_rewards:BagOfWordsDiscriminator --init runs/mle --out runs/mine
#    textrl train ppo --reward discriminator --reward-form airl --kl-coef 0.05 --init runs/mle --out runs/ppo-airl
#
# where ``my_rewards.py`` holds ``distinct_share`` and the class above (whose default
# vocabulary size is the random oracle's 5,000: the command line builds a reward class
# with no arguments).
