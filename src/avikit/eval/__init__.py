"""The ``eval`` layer: controls, the runner, scoring of prediction files, reports and the bench."""

from avikit.eval.controls import CONTROLS, apply_control
from avikit.eval.modality import SingleModality
from avikit.eval.report import build_report
from avikit.eval.runner import RunConfig, run_evaluation
from avikit.eval.score import ScoreReport, score_predictions

__all__ = [
    "CONTROLS",
    "RunConfig",
    "ScoreReport",
    "SingleModality",
    "apply_control",
    "build_report",
    "run_evaluation",
    "score_predictions",
]
