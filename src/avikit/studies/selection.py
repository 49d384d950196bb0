"""Hyperparameters of the packaged generators, chosen on AVSynth ``val`` clips.

Every setting a packaged generator ships with that was once chosen by looking at test clips is re-chosen
here on ``val`` (the rule of ``DEVELOPERS.md``: tests and ``avikit bench`` never feed a training or
selection decision). A :class:`Selection` names the setting, its candidates, the value the package
shipped with, and the one score that decides (the setting's purpose: alignment for a guidance scale,
DeSync for a sync loss, mel distance for a vocoder). :func:`run_selection` scores one variant of the
generator per candidate on the first ``num_samples`` ``val`` clips with the generation bench
(:func:`avikit.eval.generation.run_generation`, ``split="val"``: the same metrics, embedders and clip
bootstrap), picks the candidate with the best score, and gives each candidate's paired difference to the
shipped value on that score.

Variants of a sampling setting (guidance, vocoder) are the shipped package with the setting changed;
variants of a training setting (a loss weight, a tokenizer stride) are packages trained by the model's
recipe (``avikit train a2v --set model.sync_weight=0.02 --set export=DIR``), passed as ``folders``.

Example:
    >>> SELECTIONS["joint-guidance"].criterion, SELECTIONS["joint-guidance"].shipped
    ('alignment', 4.0)
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avikit.data.manifest import atomic_writer
from avikit.errors import UsageError
from avikit.eval.generation import GENERATION_METRICS, GENERATION_MODELS, run_generation
from avikit.eval.reference_embedders import load_reference_embedders
from avikit.eval.tables import Table, format_difference
from avikit.metrics import compute_paired_difference
from avikit.models.protocol import Model
from avikit.models.registry import get_model

__all__ = ["SELECTIONS", "Selection", "run_selection", "selection_summary_table", "write_selection"]

Value = float | str


@dataclass(frozen=True)
class Selection:
    """One setting of a packaged generator and how ``val`` chooses it.

    Attributes:
        name: the selection's key in :data:`SELECTIONS`.
        model: the registry name of the packaged generator.
        task: its generation task.
        parameter: the setting (a package config field or a recipe field, dotted).
        shipped: the value the package shipped with before this selection.
        candidates: the values scored.
        criterion: the generation score that decides (:data:`avikit.eval.generation.GENERATION_METRICS`).
        trained: whether a candidate needs its own training run (its package folder is given).
        origin: how the shipped value had been chosen.
    """

    name: str
    model: str
    task: str
    parameter: str
    shipped: Value
    candidates: tuple[Value, ...]
    criterion: str
    trained: bool
    origin: str


SELECTIONS: dict[str, Selection] = {
    "joint-guidance": Selection(
        "joint-guidance", "joint-generation", "joint-generation", "guidance", 4.0, (2.0, 3.0, 4.0, 5.0, 7.0),
        "alignment", False, "bench test clips (8 and 32): alignment against DeSync"),
    "v2a-flow-guidance": Selection(
        "v2a-flow-guidance", "v2a-flow", "v2a", "guidance", 4.0, (2.0, 3.0, 4.0, 5.0, 7.0),
        "alignment", False, "16 test clips: alignment and DeSync at guidance 2 and 4"),
    "v2a-flow-vocoder": Selection(
        "v2a-flow-vocoder", "v2a-flow", "v2a", "vocoder", "istft", ("istft", "griffin-lim"),
        "mel_distance", False, "resynthesis of 16 test clips and the bench's 8 and 32 test clips"),
    "a2v-sync-weight": Selection(
        "a2v-sync-weight", "a2v", "a2v", "model.sync_weight", 0.01, (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1),
        "desync", True, "bench test clips (8 and 32): DeSync against PSNR"),
    "mel-token-stride": Selection(
        "mel-token-stride", "v2a-ar", "v2a", "model.token_stride", 2, (2, 4),
        "alignment", True, "16 test clips: alignment of the autoregressive model"),
}  # fmt: skip
"""Every setting once chosen on test, re-chosen on ``val``."""


def _sampling_variant(selection: Selection, value: Value) -> Model:
    """The shipped package with one sampling setting changed."""
    model: Any = get_model(selection.model)
    if selection.parameter == "vocoder":
        if value == "griffin-lim":
            model.vocoder = None
        elif value != "istft":
            raise UsageError(f"{selection.name}: vocoder {value!r} is not one of {selection.candidates}")
    elif hasattr(model, "checkpoint"):  # the joint package keeps its sampling settings in a record
        model.checkpoint = dataclasses.replace(model.checkpoint, guidance=float(value))
    else:
        model.guidance = float(value)
    return model


def _trained_variant(selection: Selection, folder: str | os.PathLike[str]) -> Model:
    """A package trained with the candidate value (its recipe run with ``export``)."""
    if selection.task == "a2v":
        from avikit.models.generation.a2v_pipeline import load_a2v

        return load_a2v(folder)
    from avikit.models.generation.v2a_pipeline import from_pretrained

    return from_pretrained(folder)


def _variants(
    selection: Selection, folders: Mapping[Value, str | os.PathLike[str]] | None
) -> dict[str, tuple[Value, Model]]:
    out = {}
    for value in selection.candidates:
        if selection.trained:
            if folders is None or value not in folders:
                raise UsageError(f"{selection.name}: give the package folder trained with {value!r}")
            model = _trained_variant(selection, folders[value])
        else:
            model = _sampling_variant(selection, value)
        name = f"{selection.model}@{selection.parameter}={value}"
        model.id = f"{model.id}@{selection.parameter}={value}"
        out[name] = (value, model)
    return out


def run_selection(
    selection: Selection,
    out: str | Path,
    num_samples: int = 32,
    seed: int = 0,
    folders: Mapping[Value, str | os.PathLike[str]] | None = None,
    embedders: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Score every candidate of ``selection`` on ``val`` clips and choose the best on its criterion.

    Returns:
        ``{"selection", "split", "num_samples", "rows", "chosen", "vs_shipped"}``: one row per candidate
        (its scores and intervals), the chosen value, and every candidate's paired difference to the shipped
        value on the criterion (positive = better).
    """
    variants = _variants(selection, folders)
    references = [n for n in GENERATION_MODELS[selection.task] if "retrieval" in n]
    models = {**{n: get_model(n) for n in references}, **{n: m for n, (_, m) in variants.items()}}
    if embedders is None:
        embedders = load_reference_embedders(
            {n: get_model(n) for n in ("retrieval", "classification", "sync")}
        )
    section = run_generation(out, num_samples, [selection.task], models, embedders, seed, split="val")
    by_model = {row["model"]: row for row in section["rows"]}
    metric = selection.criterion
    higher = GENERATION_METRICS[metric].higher_is_better
    rows = []
    for value, model in variants.values():
        row = by_model[model.id]
        rows.append({"value": value, "model": model.id, "scores": row["scores"], "ci": row["ci"],
                     "items": {metric: row["items"][metric]}})  # fmt: skip
    shipped = next(r for r in rows if r["value"] == selection.shipped)
    best = max(rows, key=lambda r: float(r["scores"][metric]) * (1 if higher else -1))
    vs_shipped = []
    for r in rows:
        pair = (r, shipped) if higher else (shipped, r)  # positive = better
        result = compute_paired_difference(pair[0]["items"][metric], pair[1]["items"][metric], seed=seed)
        vs_shipped.append({"value": r["value"], **result.to_dict()})
    baselines = [r for r in section["rows"] if r["role"] != "generator"]
    return {
        "selection": dataclasses.asdict(selection),
        "split": "val",
        "num_samples": num_samples,
        "seed": seed,
        "rows": rows,
        "references": [{"model": r["model"], "role": r["role"], "scores": r["scores"]} for r in baselines],
        "chosen": best["value"],
        "vs_shipped": vs_shipped,
    }


def selection_summary_table(
    results: Mapping[str, Mapping[str, Any]], names: Sequence[str] = tuple(SELECTIONS)
) -> Table:
    """One row per setting of ``names``: how it was chosen before, the shipped value, what ``val`` chose.

    A setting without a result in ``results`` says so (``not re-chosen yet``) instead of a value.

    Example:
        >>> selection_summary_table({}, ["joint-guidance"])[1][0][-1]
        'not re-chosen yet'
    """
    header = ["setting", "model", "chosen before on", "shipped", "chosen on val", "deciding score",
              "chosen vs shipped [paired 95% CI] (+ = better)"]  # fmt: skip
    rows = []
    for name in names:
        spec, result = SELECTIONS[name], results.get(name)
        head = [f"{spec.parameter}", spec.model, spec.origin, str(spec.shipped)]
        if result is None:
            rows.append([*head, "-", spec.criterion, "not re-chosen yet"])
            continue
        vs = next(v for v in result["vs_shipped"] if str(v["value"]) == str(result["chosen"]))
        clips = f"{spec.criterion} ({result['num_samples']} val clips)"
        rows.append([*head, str(result["chosen"]), clips, format_difference(vs)])
    return header, rows


def write_selection(result: Mapping[str, Any], path: str | Path) -> Path:
    """Add one selection's result to the JSON file ``path`` (a dict by selection name) and return it."""
    file = Path(path)
    data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
    data[result["selection"]["name"]] = {k: v for k, v in result.items()}
    with atomic_writer(file) as f:
        json.dump(data, f, indent=1, sort_keys=True)
    return file


def _value(text: str) -> Value:
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> None:
    """``python -m avikit.studies.selection NAME --out DIR --write FILE [--n 32] [--folder VALUE=DIR]``."""
    import argparse

    parser = argparse.ArgumentParser(description="Choose a packaged generator's setting on val clips.")
    parser.add_argument("name", choices=sorted(SELECTIONS))
    parser.add_argument("--out", required=True, help="run folder of the generation bench on val")
    parser.add_argument("--n", type=int, default=32, help="val clips")
    parser.add_argument("--folder", action="append", default=[], help="VALUE=DIR: a trained candidate")
    parser.add_argument("--write", required=True, help="the results file (JSON) to add the result to")
    args = parser.parse_args(argv)
    folders = {_value(k): v for k, v in (item.split("=", 1) for item in args.folder)}
    result = run_selection(SELECTIONS[args.name], args.out, args.n, folders=folders or None)
    write_selection(result, args.write)
    print(json.dumps({"chosen": result["chosen"], "vs_shipped": result["vs_shipped"]}, indent=1))


if __name__ == "__main__":
    main()
