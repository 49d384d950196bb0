"""``avikit bench``: every reference model on every perception task, clean, corrupted and with controls.

The main job of the toolkit on a laptop. It makes the default AVSynth test set in memory (a rerun into the
same folder reuses every finished cell), runs the reference models of :mod:`avikit.models.registry`
through :func:`avikit.eval.runner.run_evaluation` under ``clean``, the modality controls
(``video_blanked`` = audio only, ``audio_muted`` = video only) and the standard AVSynth corruptions, scores
the open-vocabulary split (``open_test``, classes never seen in training) for classification (supervised
and zero-shot through the joint audio-visual-text space) and retrieval, then runs the generation bench
(:mod:`avikit.eval.generation`: every generator, its retrieval baseline and the real media on a few clean
clips, reference and set metrics with intervals, into ``OUT/generation``), prints the leaderboards and
writes ``results.json``, ``results.md``, ``report.html`` (with playable generated samples), the per-sample
viewer ``viewer.html``, and ``summary.json``: what the README's result tables are made from
(:func:`avikit.eval.tables.summarize_bench`).

Beside the reference models it runs the trivial baselines (:data:`TRIVIAL_BASELINES`: chance, the constant
answer and the training prior) on the clean clips; the leaderboard puts the strongest of them beside every
score with the paired difference, and the AV gain with its paired interval (:mod:`avikit.eval.comparisons`).

Example:
    >>> BENCH_TASKS["avs-binary"]
    'avs'
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from avikit.data.manifest import atomic_writer
from avikit.data.sample import Sample
from avikit.data.synth import generate, load_clip
from avikit.eval.generation import GENERATION_MODELS, run_generation
from avikit.eval.intervals import cell_intervals, sample_units
from avikit.eval.predict import predict_all
from avikit.eval.reference_embedders import load_reference_embedders
from avikit.eval.report import build_report
from avikit.eval.runner import RunConfig, run_evaluation
from avikit.eval.tables import leaderboard_table, open_vocabulary_table, summarize_bench
from avikit.metrics import compute_percentile_interval, compute_set_replicates, evaluate_caption_to_clip_map
from avikit.models.protocol import Model
from avikit.models.registry import get_model
from avikit.tasks import Task, get_task

__all__ = [
    "BENCH_TASKS",
    "CONTROL_CONDITIONS",
    "STANDARD_CONDITIONS",
    "TRIVIAL_BASELINES",
    "leaderboard",
    "run_bench",
]

BENCH_TASKS: dict[str, str] = {
    "avel": "avel",
    "avel-cross-modal": "avel-cross-modal",
    "avvp": "avvp",
    "dense-localization": "dense-localization",
    "avs-binary": "avs",
    "avs-semantic": "avs",
    "source-localization": "source-localization",
    "retrieval": "retrieval",
    "classification": "classification",
    "classification-multilabel": "classification",
    "sync": "sync",
    "avqa": "avqa",
}
"""Perception task -> the reference model measured on it."""
CONTROL_CONDITIONS = ("video_blanked", "audio_muted")
"""Audio-only and video-only views of every model."""
STANDARD_CONDITIONS = ("noise_snr=10", "noise_snr=0", "occlusion=0.25", "occlusion=0.5")
"""The AVSynth corruptions of the standard bench (robustness against the clean truth)."""
TRIVIAL_BASELINES = ("chance", "constant", "prior")
"""The trivial baselines run beside the reference models (clean only); the strongest is in the leaderboard."""
_OPEN_TASKS = {
    "classification": ("classification", "classification-zeroshot", "classification-zeroshot-minilm"),
    "retrieval": ("retrieval", "retrieval-minilm"),
}


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )


def _cell(results: Mapping[str, Any], task: str, model: str, condition: str) -> dict[str, Any] | None:
    for cell in results["cells"]:
        if (cell["task"], cell["model_id"], cell["condition"]) == (task, model, condition) and cell[
            "complete"
        ]:
            return dict(cell)
    return None


def _comparison(results: Mapping[str, Any], kind: str, task: str, model: str) -> dict[str, Any] | None:
    for entry in results.get("comparisons", []):
        if (entry["kind"], entry["task"], entry["model"]) == (kind, task, model):
            return {key: entry[key] for key in ("difference", "ci", "significant")}
    return None


def leaderboard(results: Mapping[str, Any], models: Mapping[str, Model]) -> list[dict[str, Any]]:
    """Per task: clean score and CI, strongest trivial baseline, paired differences, audio and video only.

    ``vs_baseline`` and ``av_gain`` are the run's paired comparisons (``significant``: the CI excludes 0).
    """
    rows = []
    for task, name in BENCH_TASKS.items():
        if task not in results["tasks"]:
            continue
        metric, model_id = results["tasks"][task]["primary_metric"], models[name].id
        cells = {c: _cell(results, task, model_id, c) for c in ("clean", *CONTROL_CONDITIONS)}
        clean, audio, video = (cells[c] for c in ("clean", "video_blanked", "audio_muted"))
        if clean is None or audio is None or video is None:
            continue
        rows.append(
            {
                "task": task,
                "model": model_id,
                "metric": metric,
                "unit": results["tasks"][task]["units"][metric],
                "resampling_unit": results["tasks"][task].get("resampling_unit", "clip"),
                "score": clean["scores"][metric],
                "ci": clean["ci"].get(metric),
                "baseline": results.get("baselines", {}).get(task),
                "vs_baseline": _comparison(results, "vs_baseline", task, model_id),
                "audio_only": audio["scores"][metric],
                "video_only": video["scores"][metric],
                "av_gain": _comparison(results, "av_gain", task, model_id),
            }
        )
    return rows


def _samples(task: Task, split: str, count: int, seed: int) -> list[Sample]:
    """Samples of AVSynth ``split`` that the task would score if they were in its own split."""
    out = []
    for index in range(count):
        sample = generate(split, index, seed)[0]
        if task.includes(replace(sample, split=task.spec.protocol.split)):
            out.append(sample)
    return out


def _predictions(task: Task, model: Model, samples: Sequence[Sample]) -> list[dict[str, Any]]:
    return predict_all(task, model, samples, lambda sample: load_clip(sample))


def _scored(
    task: Task, model: Model, samples: Sequence[Sample], seed: int
) -> tuple[float, list[float] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """The primary score of ``model`` on ``samples``, its interval, the predictions and the targets."""
    predictions = _predictions(task, model, samples)
    targets = [task.build_target(s) for s in samples]
    evaluation = task.evaluate(predictions, targets)
    ci, _ = cell_intervals(task, evaluation, predictions, targets, sample_units(task, samples), seed)
    metric = task.spec.primary_metric
    return float(evaluation.scores[metric]), ci.get(metric), predictions, targets


def _caption_map(
    predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]], seed: int
) -> tuple[float, list[float], float]:
    """Caption-to-clip mAP, its clip-bootstrap percentile interval and its chance level."""
    scores = np.array([p["scores"] for p in predictions])
    labels = np.array([t["label"] for t in targets])
    value = evaluate_caption_to_clip_map(scores, labels)

    def score(rows: np.ndarray) -> float:
        return evaluate_caption_to_clip_map(scores[rows], labels[rows])["map"]

    interval = compute_percentile_interval(compute_set_replicates(score, len(labels), seed=seed))
    return value["map"], list(interval), value["chance"]


def _chance(task: Task, predictions: Sequence[Mapping[str, Any]]) -> float:
    """Chance of the primary score: 1 / classes for top-1, 1 / clips for recall at 1."""
    if task.name == "classification":
        return 1.0 / len(predictions[0]["scores"])
    return 1.0 / len(predictions)


def _open_vocabulary(
    models: Mapping[str, Model], count: int, seed: int, progress: Progress
) -> list[dict[str, Any]]:
    """Primary scores on ``test`` (seen classes) and ``open_test`` (held-out classes), with intervals."""
    rows = []
    bar = progress.add_task("open vocabulary", total=sum(len(v) for v in _OPEN_TASKS.values()))
    for task_name, names in _OPEN_TASKS.items():
        if not all(name in models for name in names):
            continue
        task = get_task(task_name)
        seen, unseen = _samples(task, "test", count, seed), _samples(task, "open_test", count, seed)
        for name in names:
            model = models[name]
            test, test_ci, test_predictions, test_targets = _scored(task, model, seen, seed)
            held, held_ci, open_predictions, open_targets = _scored(task, model, unseen, seed)
            rows.append({"task": task_name, "model": model.id, "metric": task.spec.primary_metric,
                         "test": test, "test_ci": test_ci, "open_test": held, "open_test_ci": held_ci,
                         "open_test_count": len(unseen),
                         "chance": {"test": _chance(task, test_predictions),
                                    "open_test": _chance(task, open_predictions)}})  # fmt: skip
            if "zeroshot" in name:
                test_map, test_map_ci, test_chance = _caption_map(test_predictions, test_targets, seed)
                open_map, open_map_ci, open_chance = _caption_map(open_predictions, open_targets, seed)
                rows.append({"task": "caption-to-clip retrieval", "model": model.id, "metric": "map",
                             "test": test_map, "test_ci": test_map_ci, "open_test": open_map,
                             "open_test_ci": open_map_ci, "open_test_count": len(unseen),
                             "chance": {"test": test_chance, "open_test": open_chance}})  # fmt: skip
            progress.advance(bar)
    return rows


def _print(
    console: Console, board: Sequence[Mapping[str, Any]], open_rows: Sequence[Mapping[str, Any]]
) -> None:
    for title, (header, rows) in (
        ("avikit bench: AVSynth test, clean", leaderboard_table(board)),
        (
            "open vocabulary: test (seen classes) vs open_test (held-out classes)",
            open_vocabulary_table(open_rows),
        ),
    ):
        table = Table(title=title)
        for column in header:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        console.print(table)


def _generation(
    folder: Path,
    given: Mapping[str, Model] | None,
    loaded: Mapping[str, Model],
    count: int,
    tasks: Sequence[str] | None,
    seed: int,
    progress: Callable[[str, int, int], None],
    watermark: bool = True,
    energy_country: str | None = None,
) -> dict[str, Any]:
    """The generation bench into ``folder/generation``, scored with the loaded reference models."""
    names = {name for names in GENERATION_MODELS.values() for name in names}
    generators = None if given is None else {n: m for n, m in given.items() if n in names}
    embedders = load_reference_embedders(
        {n: m for n, m in loaded.items() if n in ("retrieval", "classification", "sync")}
    )
    start = time.perf_counter()
    section = run_generation(
        folder / "generation",
        count,
        tasks,
        generators,
        embedders,
        seed,
        progress,
        watermark=watermark,
        energy_country=energy_country,
    )
    return {**section, "seconds": round(time.perf_counter() - start, 1)}


def _print_generation(console: Console, section: Mapping[str, Any]) -> None:
    metrics = section["metrics"]
    for task in dict.fromkeys(row["task"] for row in section["rows"]):
        rows = [r for r in section["rows"] if r["task"] == task]
        used = [m for m in metrics if any(m in r["scores"] for r in rows)]
        table = Table(title=f"avikit bench: {task}, {section['num_samples']} clean clips [95% CI]")
        table.add_column("model")
        table.add_column("role")
        for metric in used:
            arrow = "↑" if metrics[metric]["higher_is_better"] else "↓"
            table.add_column(f"{metric} {arrow}\n({metrics[metric]['unit']})")
        table.add_column("RTF\n(s per s)")
        table.add_column("parameters")
        for r in rows:
            cells = []
            for metric in used:
                value, ci = r["scores"].get(metric), r["ci"].get(metric)
                text = "-" if value is None else f"{float(value):.3f}".replace("-0.000", "0.000")
                cells.append(
                    text + (f"\n[{ci[0]:.3f}, {ci[1]:.3f}]".replace("-0.000", "0.000") if ci else "")
                )
            real = r["role"] == "real media"
            rtf = "-" if real else f"{r['speed']['real_time_factor']:.3f}"
            table.add_row(r["model"], r["role"], *cells, rtf, "-" if real else f"{r['parameters']:,}")
        console.print(table)
    if section["skipped"]:
        console.print(f"generation: no model {', '.join(section['skipped'])}; skipped")


def run_bench(
    out: str | Path,
    num_samples: int = 48,
    conditions: Sequence[str] = STANDARD_CONDITIONS,
    tasks: Sequence[str] | None = None,
    models: Mapping[str, Model] | None = None,
    seed: int = 0,
    console: Console | None = None,
    generation_samples: int = 8,
    generation_tasks: Sequence[str] | None = None,
    watermark: bool = True,
    energy_country: str | None = None,
    cache: str | Path | None = None,
) -> dict[str, Any]:
    """Run the bench into ``out`` (resumable) and return ``results.json`` with the leaderboard added.

    Args:
        out: the run folder (``results.json``, ``results.md``, ``report.html``, ``cells/``).
        num_samples: AVSynth clips per split.
        conditions: corruptions besides ``clean`` and the two modality controls.
        tasks: perception tasks (default: every task of :data:`BENCH_TASKS`).
        models: reference models by registry name (default: the packaged ones); they must include the
            model of every task and ``classification-zeroshot``. Given models replace the registry for the
            generation bench too (a generator not given is skipped).
        seed: AVSynth and bootstrap seed.
        console: where the progress and leaderboard go.
        generation_samples: clean clips of the generation bench (0: no generation bench).
        generation_tasks: generation tasks (default: every task of
            :data:`avikit.eval.generation.GENERATION_MODELS`).
        watermark: keep the generators' audio watermarks (the default); ``False`` turns them off.
        energy_country: 3-letter ISO code of where the bench runs, for the CO2 of the energy it records
            per model (codecarbon, offline; ``None``: energy only).
        cache: a :class:`~avikit.eval.run_cache.RunCache` folder: the perception cells reuse the model
            outputs of earlier runs (``None``: no cache).
    """
    start, folder, console = time.perf_counter(), Path(out), console or Console()
    task_names = tuple(tasks or BENCH_TASKS)
    needed = {BENCH_TASKS[t] for t in task_names} | {
        n for t in _OPEN_TASKS if t in task_names for n in _OPEN_TASKS[t]
    }
    loaded = dict(models or {})
    loaded.update({name: get_model(name) for name in sorted(needed) if name not in loaded})
    config = RunConfig(
        tasks=task_names,
        models=tuple(sorted({BENCH_TASKS[t] for t in task_names})),
        conditions=("clean", *CONTROL_CONDITIONS, *conditions),
        baselines=TRIVIAL_BASELINES,
        num_samples=num_samples,
        seed=seed,
        batch_size=16,
        energy=True,
        energy_country=energy_country,
    )
    with _progress() as progress:
        bar = progress.add_task("bench", total=None)

        def report(label: str, done: int, total: int) -> None:
            progress.update(bar, description=label, completed=done, total=total)

        results = run_evaluation(config, folder, models=loaded, progress=report, cache=cache)
        open_rows = (
            _open_vocabulary(loaded, num_samples, seed, progress)
            if set(_OPEN_TASKS) & set(task_names)
            else []
        )
        generation = None
        if generation_samples:
            generation = _generation(
                folder,
                models,
                loaded,
                generation_samples,
                generation_tasks,
                seed,
                report,
                watermark,
                energy_country,
            )
    board = leaderboard(results, loaded)
    results = {
        **results,
        "leaderboard": board,
        "open_vocabulary": open_rows,
        **({"generation": generation} if generation is not None else {}),
        "seconds": round(time.perf_counter() - start, 1),
    }
    with atomic_writer(folder / "results.json") as f:
        json.dump(results, f, indent=1, allow_nan=False)
    with atomic_writer(folder / "summary.json") as f:
        json.dump(summarize_bench(results), f, indent=1, allow_nan=False)
    build_report([folder], folder)
    _print(console, board, open_rows)
    if generation is not None:
        _print_generation(console, generation)
    console.print(f"wrote {folder / 'report.html'}, {folder / 'viewer.html'} (per-sample viewer) and "
                  f"{folder / 'results.json'} in {results['seconds']} s")  # fmt: skip
    return results
