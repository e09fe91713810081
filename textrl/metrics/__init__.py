"""Metrics shared by every model: NLL-oracle, NLL-test, perplexity."""

from textrl.metrics.nll import nll_oracle, nll_test, perplexity

__all__ = ["nll_oracle", "nll_test", "perplexity"]
