"""Metrics shared by every model: NLL-oracle, NLL-test, perplexity, BLEU and Self-BLEU."""

from textrl.metrics.bleu import BLEUScorer, bleu, self_bleu
from textrl.metrics.nll import nll_oracle, nll_test, perplexity

__all__ = ["BLEUScorer", "bleu", "nll_oracle", "nll_test", "perplexity", "self_bleu"]
