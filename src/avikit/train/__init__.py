"""The ``train`` layer: recipes, loops, pretraining, heads, probes, fine-tuning and generator recipes.

It sits between :mod:`avikit.models` (which it trains and never is imported by) and :mod:`avikit.eval`.
Every recipe is typed, seeded and finishes a tiny CPU run; ``avikit train RECIPE --set a.b=c`` runs one.
"""

from avikit.train.pretrain import PretrainConfig, PretrainResult, TrainConfig, pretrain
from avikit.train.recipes import RECIPES, train_recipe

__all__ = ["RECIPES", "PretrainConfig", "PretrainResult", "TrainConfig", "pretrain", "train_recipe"]
