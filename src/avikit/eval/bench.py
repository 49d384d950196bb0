"""``avikit bench``: every reference model on every perception task, clean, corrupted and with controls.

The main job of the toolkit on a laptop. It makes the default AVSynth test set in memory (a rerun into the
same folder reuses every finished cell), runs the reference models of :mod:`avikit.models.registry` and the
chance baseline through :func:`avikit.eval.runner.run_evaluation` under ``clean``, the modality controls
(``video_blanked`` = audio only, ``audio_muted`` = video only) and the standard AVSynth corruptions, scores
the open-vocabulary split (``open_test``, classes never seen in training) for classification (supervised
and zero-shot through the joint audio-visual-text space) and retrieval, then runs the generation bench
(:mod:`avikit.eval.generation`: every generator, its retrieval baseline and the real media on a few clean
clips, reference and set metrics with intervals, into ``OUT/generation``), prints the leaderboards and
writes ``results.json``, ``results.md``, ``report.html`` (with playable generated samples) and the per-sample
viewer ``viewer.html``.

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
from avikit.eval.predict import predict_all
from avikit.eval.reference_embedders import load_reference_embedders
from avikit.eval.report import build_report, compute_av_gain
from avikit.eval.runner import RunConfig, run_evaluation
from avikit.metrics.classification import compute_average_precision
from avikit.models.protocol import Model
from avikit.models.registry import get_model
from avikit.tasks import Task, get_task

__all__ = [
    "BENCH_TASKS",
    "CONTROL_CONDITIONS",
    "STANDARD_CONDITIONS",
    "caption_to_clip_map",
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


def leaderboard(results: Mapping[str, Any], models: Mapping[str, Model]) -> list[dict[str, Any]]:
    """Per task: the clean score and CI, chance, audio-only, video-only, and the AV gain with its CI."""
    rows = []
    for task, name in BENCH_TASKS.items():
        if task not in results["tasks"]:
            continue
        metric, model_id = results["tasks"][task]["primary_metric"], models[name].id
        cells = {c: _cell(results, task, model_id, c) for c in ("clean", *CONTROL_CONDITIONS)}
        chance = next(
            (
                c
                for c in results["cells"]
                if c["task"] == task and c["model_id"].startswith("chance") and c["condition"] == "clean"
            ),
            None,
        )
        clean, audio, video = (cells[c] for c in ("clean", "video_blanked", "audio_muted"))
        if clean is None or audio is None or video is None:
            continue
        items = [cell["items"].get(metric) for cell in (clean, audio, video)]
        gain: float = clean["scores"][metric] - max(audio["scores"][metric], video["scores"][metric])
        gain_ci = None
        if all(items) and len({len(i) for i in items if i is not None}) == 1:
            gain, gain_ci = compute_av_gain(*items, scale=clean.get("scale", {}).get(metric, 1.0))  # type: ignore[misc]
        rows.append(
            {
                "task": task,
                "model": model_id,
                "metric": metric,
                "unit": results["tasks"][task]["units"][metric],
                "score": clean["scores"][metric],
                "ci": clean["ci"].get(metric),
                "chance": None if chance is None else chance["scores"].get(metric),
                "audio_only": audio["scores"][metric],
                "video_only": video["scores"][metric],
                "av_gain": gain,
                "av_gain_ci": None if gain_ci is None else list(gain_ci),
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


def caption_to_clip_map(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Text-to-clip retrieval through the joint space: each class caption ranks the clips by their score.

    Args:
        scores: ``[N, C]`` clip-by-caption scores (a zero-shot model's ``scores``).
        labels: ``[N]`` class index of each clip.

    Returns:
        Mean average precision over the classes present among the clips, and its chance level (the mean
        share of each present class's clips, the expected AP of a random ranking up to small-sample terms).

    Example:
        >>> caption_to_clip_map(np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]), np.array([0, 1, 0]))
        (1.0, 0.5)
    """
    present = np.unique(labels)
    targets = labels[:, None] == present[None, :]
    ap = compute_average_precision(scores[:, present], targets)
    return float(ap.mean()), float(targets.mean(0).mean())


def _open_vocabulary(
    models: Mapping[str, Model], count: int, seed: int, progress: Progress
) -> list[dict[str, Any]]:
    """Primary scores on ``test`` (seen classes) and ``open_test`` (held-out classes), and the drop."""
    rows = []
    bar = progress.add_task("open vocabulary", total=sum(len(v) for v in _OPEN_TASKS.values()))
    for task_name, names in _OPEN_TASKS.items():
        if not all(name in models for name in names):
            continue
        task = get_task(task_name)
        seen, unseen = _samples(task, "test", count, seed), _samples(task, "open_test", count, seed)
        for name in names:
            model = models[name]
            test_predictions, open_predictions = (
                _predictions(task, model, seen),
                _predictions(task, model, unseen),
            )
            test_score, open_score = (
                float(task.evaluate(p, [task.build_target(s) for s in i]).scores[task.spec.primary_metric])
                for p, i in ((test_predictions, seen), (open_predictions, unseen))
            )
            rows.append(
                {
                    "task": task_name,
                    "model": model.id,
                    "metric": task.spec.primary_metric,
                    "test": test_score,
                    "open_test": open_score,
                    "drop": test_score - open_score,
                    "open_test_count": len(unseen),
                }
            )
            if "zeroshot" in name:
                (test_map, test_chance), (open_map, open_chance) = (
                    caption_to_clip_map(
                        np.array([p["scores"] for p in predictions]),
                        np.array([task.build_target(s)["label"] for s in i]),
                    )
                    for predictions, i in ((test_predictions, seen), (open_predictions, unseen))
                )
                rows.append(
                    {
                        "task": "caption-to-clip retrieval",
                        "model": model.id,
                        "metric": "map",
                        "test": test_map,
                        "open_test": open_map,
                        "drop": test_map - open_map,
                        "open_test_count": len(unseen),
                        "chance": {"test": test_chance, "open_test": open_chance},
                    }
                )
            progress.advance(bar)
    return rows


def _print(
    console: Console, board: Sequence[Mapping[str, Any]], open_rows: Sequence[Mapping[str, Any]]
) -> None:
    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}"

    table = Table(title="avikit bench: AVSynth test, clean")
    for column in (
        "task",
        "model",
        "metric",
        "score [95% CI]",
        "chance",
        "audio-only",
        "video-only",
        "AV gain [95% CI]",
    ):
        table.add_column(column)
    for r in board:
        ci = f" [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]" if r["ci"] else ""
        gain_ci = f" [{r['av_gain_ci'][0]:.3f}, {r['av_gain_ci'][1]:.3f}]" if r["av_gain_ci"] else ""
        table.add_row(
            r["task"],
            r["model"],
            r["metric"],
            fmt(r["score"]) + ci,
            fmt(r["chance"]),
            fmt(r["audio_only"]),
            fmt(r["video_only"]),
            fmt(r["av_gain"]) + gain_ci,
        )
    console.print(table)
    table = Table(title="open vocabulary: test (seen classes) vs open_test (held-out classes)")
    for column in ("task", "model", "metric", "test", "open_test", "drop"):
        table.add_column(column)
    for r in open_rows:
        table.add_row(r["task"], r["model"], r["metric"], fmt(r["test"]), fmt(r["open_test"]), fmt(r["drop"]))
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
        models=(*sorted({BENCH_TASKS[t] for t in task_names}), "chance"),
        conditions=("clean", *CONTROL_CONDITIONS, *conditions),
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
    build_report([folder], folder)
    _print(console, board, open_rows)
    if generation is not None:
        _print_generation(console, generation)
    console.print(f"wrote {folder / 'report.html'}, {folder / 'viewer.html'} (per-sample viewer) and "
                  f"{folder / 'results.json'} in {results['seconds']} s")  # fmt: skip
    return results
