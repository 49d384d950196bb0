"""What a run evaluates: its :class:`RunConfig`, and the plan of which model runs under which conditions.

Every model of the run is scored under every condition; a trivial baseline (``baselines``) reads no media
and runs on the clean condition only, beside every model's clean score.

Example:
    >>> from avikit.eval.source import parse_condition
    >>> from avikit.models.baselines import OracleModel
    >>> config = RunConfig(tasks=("sync",), models=("oracle",), conditions=("clean", "audio_muted"))
    >>> plan = model_plan(config, [OracleModel()], [parse_condition(c) for c in config.conditions], None)
    >>> [(model.id, [c.name for c in listed]) for model, listed in plan]
    [('oracle', ['clean', 'audio_muted'])]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from avikit.eval.source import Condition, parse_condition
from avikit.models.protocol import Model
from avikit.models.registry import get_model

__all__ = ["ModelPlan", "Progress", "RunConfig", "model_plan", "resolve_models"]

Progress = Callable[[str, int, int], None]
"""Called as ``progress(cell, done, total)`` after each batch."""

ModelPlan = list[tuple[Model, list[Condition]]]
"""Every model of a run with the conditions it runs under."""


@dataclass(frozen=True)
class RunConfig:
    """What to evaluate.

    Attributes:
        tasks: task names.
        models: model names (registered in :data:`avikit.models.registry.MODELS`, or keys of ``models``
            passed to :func:`~avikit.eval.runner.run_evaluation`).
        conditions: ``clean``, controls and AVSynth corruptions (see
            :func:`avikit.eval.source.parse_condition`).
        dataset: a prepared dataset folder, or ``None`` for in-memory AVSynth.
        split: the split to score.
        num_samples: the first N samples (required for in-memory AVSynth).
        seed: AVSynth seed, and the seed of the chance baseline and of the bootstrap.
        batch_size: samples per ``predict`` call.
        use: the declared use of the data (e.g. ``"commercial"``), checked against each dataset's licence.
        shard: ``(index, count)`` of this process's shard.
        baselines: trivial baselines (e.g. ``chance``, ``constant``, ``prior``), run on the clean condition
            only (they read no media); every model's clean score is compared with the strongest of them.
        watermark: leave the generators' audio watermarks on (their default); ``False`` turns them off.
        energy: measure each cell's energy with codecarbon (:mod:`avikit.eval.energy`) into
            ``results.json["energy"]`` (per model and total).
        energy_country: 3-letter ISO code of where the run happens, for CO2 (``None``: energy only).
    """

    tasks: tuple[str, ...]
    models: tuple[str, ...]
    conditions: tuple[str, ...] = ("clean",)
    dataset: str | None = None
    split: str = "test"
    num_samples: int | None = None
    seed: int = 0
    batch_size: int = 8
    use: str | None = None
    shard: tuple[int, int] = (0, 1)
    baselines: tuple[str, ...] = ()
    watermark: bool = True
    energy: bool = False
    energy_country: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form."""
        return json.loads(json.dumps(asdict(self)))


def resolve_models(config: RunConfig, models: Mapping[str, Model] | None) -> list[Model]:
    """The models ``config`` names: from ``models`` where given, else built from the registry.

    With ``config.watermark`` off, the generators' audio watermarks are turned off.
    """
    given = dict(models or {})
    resolved = [given[name] if name in given else get_model(name) for name in config.models]
    if not config.watermark:
        from avikit.models.watermark import set_watermarking

        for model in resolved:
            set_watermarking(model, False)
    return resolved


def model_plan(
    config: RunConfig, model_list: list[Model], conditions: list[Condition], given: Mapping[str, Model] | None
) -> ModelPlan:
    """Every model with the conditions it runs under: models under all, trivial baselines clean only."""
    plan: ModelPlan = [(model, conditions) for model in model_list]
    clean = next((c for c in conditions if c.name == "clean"), parse_condition("clean"))
    extra = [name for name in config.baselines if name not in config.models]
    for model in resolve_models(replace(config, models=tuple(extra)), given):
        plan.append((model, [clean]))
    return plan
