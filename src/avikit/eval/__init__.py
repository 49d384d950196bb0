"""The ``eval`` layer: the Model protocol, baselines, controls, runner, scoring of files and reports."""

from avikit.eval.baselines import MODELS, ChanceModel, OracleModel, SingleModality, get_model
from avikit.eval.controls import CONTROLS, apply_control
from avikit.eval.report import build_report, compute_av_gain
from avikit.eval.runner import RunConfig, run_evaluation
from avikit.eval.score import ScoreReport, score_predictions
from avikit.models.protocol import Item, Model

__all__ = [
    "CONTROLS",
    "MODELS",
    "ChanceModel",
    "Item",
    "Model",
    "OracleModel",
    "RunConfig",
    "ScoreReport",
    "SingleModality",
    "apply_control",
    "build_report",
    "compute_av_gain",
    "get_model",
    "run_evaluation",
    "score_predictions",
]
