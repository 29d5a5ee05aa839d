"""Offline evaluation: splits, metrics, the runner and the HTML report."""

from shoprec.evaluation.runner import EvaluationResult, evaluate
from shoprec.evaluation.splits import Split, make_split, validation_split

__all__ = ["EvaluationResult", "Split", "evaluate", "make_split", "validation_split"]
