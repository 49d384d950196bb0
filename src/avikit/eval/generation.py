"""The generation part of ``avikit bench``: every generator, its retrieval baseline and the real media.

For each generation task (video-to-audio, audio-to-video, joint audio+video, codec reconstruction) the
registered generators, the task's retrieval baseline and the real media (the ``oracle``, an upper bound that
shows what each score reads on real clips) run through :func:`avikit.eval.runner.run_evaluation` on a few
clean AVSynth test clips (a rerun resumes). Each is scored on the task's reference metrics (mel distance,
SI-SDR, PSNR, SSIM) and on the set metrics of av-benchmark (:mod:`avikit.metrics.generation`), computed with
the AVSynth reference embedders (:mod:`avikit.eval.reference_embedders`):

- ``fd_audio`` / ``fd_video``: Frechet distance of the generated set to the real set, in the retrieval
  model's audio or video space;
- ``kl``: paired KL(real || generated) of the audio classifier's class distributions;
- ``inception_score`` of the generated audio;
- ``alignment``: cosine between the video and the audio embedding of each clip (IB-score analogue);
  generated audio with real video (V2A, codec), generated video with real audio (A2V), both generated (joint);
- ``desync``: mean absolute offset (s) the sync model sees between the same video and audio.

Every score states its unit and range (:data:`GENERATION_METRICS`), has a 95% bootstrap interval over clips
(set metrics: clips resampled with replacement, generated and real paired, the metric recomputed) and
per-clip values: a clip's term of a mean metric, or its leave-one-out contribution to FD, so the worst clips
can be looked at. Features are cached on disk by (embedder, preprocessing, file hash).

Example:
    >>> GENERATION_METRICS["desync"].unit
    'seconds'
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from torch import nn

from avikit.data.sample import Sample
from avikit.errors import DataError, UsageError
from avikit.eval.feature_cache import FeatureCache, file_sha256
from avikit.eval.runner import Progress, RunConfig, json_number, read_cell_records, run_evaluation
from avikit.eval.source import load_eval_data
from avikit.media import AVClip
from avikit.metrics.generation_sets import (
    IS_SPLITS,
    SetScore,
    compare_set_scores,
    compute_set_metrics,
    mean_score,
)
from avikit.models.baselines import OracleModel
from avikit.models.embedders import Embedder
from avikit.models.generation.cards import GENERATOR_CARDS
from avikit.models.protocol import Model
from avikit.models.registry import MODELS as REGISTRY
from avikit.models.registry import get_model
from avikit.tasks import get_task
from avikit.tasks.generation import SCORE_UNITS, GenerationTask

__all__ = [
    "GENERATION_METRICS",
    "GENERATION_MODELS",
    "MetricInfo",
    "compare_rows",
    "count_parameters",
    "run_generation",
]

log = logging.getLogger(__name__)

GENERATION_MODELS: dict[str, tuple[str, ...]] = {
    "v2a": ("v2a", "v2a-ar", "v2a-flow", "v2a-retrieval"),
    "a2v": ("a2v", "a2v-retrieval"),
    "joint-generation": ("joint-generation", "joint-retrieval", "joint-caption-retrieval"),
    "codec-reconstruction": ("codec",),
}
"""Generation task -> the registered models measured on it (generators, then the retrieval baseline)."""


@dataclass(frozen=True)
class MetricInfo:
    """What a generation score means: its unit, range, direction and definition."""

    unit: str
    low: float | None
    high: float | None
    higher_is_better: bool
    definition: str


GENERATION_METRICS: dict[str, MetricInfo] = {
    "mel_distance": MetricInfo(SCORE_UNITS["mel_distance"], 0.0, None, False,
                               "DAC multi-scale mel distance to the real audio (2 scales summed)"),
    "si_sdr": MetricInfo(SCORE_UNITS["si_sdr"], None, None, True, "scale-invariant SDR to the real audio"),
    "psnr": MetricInfo(SCORE_UNITS["psnr"], 0.0, None, True,
                       "PSNR to the real frames, mean over frames (inf: identical)"),
    "ssim": MetricInfo(SCORE_UNITS["ssim"], -1.0, 1.0, True,
                       "SSIM to the real frames (Wang et al. 2004), frame mean"),
    "fd_audio": MetricInfo("squared distance", 0.0, None, False,
                           "Frechet distance, generated vs real audio (unit-norm 64-d retrieval embeddings)"),
    "fd_video": MetricInfo("squared distance", 0.0, None, False,
                           "Frechet distance, generated vs real video (unit-norm 64-d retrieval embeddings)"),
    "kl": MetricInfo("nats", 0.0, None, False, "KL(real || generated) of the audio classifier's softmax"),
    "inception_score": MetricInfo("classes", 1.0, 27.0, True,
                                  f"Inception Score of the audio classifier's softmax, {IS_SPLITS} split"),
    "alignment": MetricInfo("cosine", -1.0, 1.0, True, "cosine of the clip's video and audio embeddings"),
    "desync": MetricInfo("seconds", 0.0, 2.0, False,
                         "mean |offset| the sync model predicts on the first and the last 5 s"),
}  # fmt: skip
"""Every score of the generation bench: unit, range, direction, definition."""

_ROLES = {"oracle": "real media"}


def _role(name: str) -> str:
    return _ROLES.get(name, "retrieval baseline" if "retrieval" in name else "generator")


# ---------------------------------------------------------------------------------------- media and features


@dataclass(frozen=True)
class _Media:
    """Where one clip's audio and video are, and the protocol's rates and reference length."""

    audio: Path
    video: Path
    num_samples: int
    sample_rate: int
    fps: int


def _load_audio(path: Path, num_samples: int) -> NDArray[np.float32]:
    """A predicted audio array as mono ``[1, num_samples]`` (cut or zero-padded, as the task scores it)."""
    array = np.load(path)
    mono = np.asarray(array, dtype=np.float32).reshape(-1, np.shape(array)[-1]).mean(0)
    return np.pad(mono[:num_samples], (0, max(num_samples - len(mono), 0)))[None]


def _clip(media: _Media, streams: Sequence[str]) -> AVClip:
    frames = np.load(media.video) if "video" in streams else None
    waveform = _load_audio(media.audio, media.num_samples) if "audio" in streams else None
    return AVClip(
        frames=frames,
        waveform=waveform,
        fps=media.fps if frames is not None else None,
        sample_rate=media.sample_rate if waveform is not None else None,
    )


def _features(
    cache: FeatureCache, embedder: Embedder, media: _Media, streams: Sequence[str]
) -> dict[str, Any]:
    """The embedder's cached features of ``streams`` of a clip; the key covers every file it reads."""
    files = [media.audio if stream == "audio" else media.video for stream in streams]
    preprocessing = {**embedder.preprocessing, "num_samples": media.num_samples, "streams": list(streams)}
    if len(files) > 1:
        preprocessing["paired_sha256"] = [file_sha256(f) for f in files[1:]]
    return cache.get_or_compute(
        files[0], embedder.name, preprocessing, lambda: embedder.embed(_clip(media, streams))
    )


# --------------------------------------------------------------------------------------------------- the run


def _write_reference(
    folder: Path, samples: Sequence[Sample], task: GenerationTask
) -> dict[str, dict[str, Path]]:
    """The real audio (mono float64 ``[N]``) and frames of every clip, once, as the oracle writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for sample in samples:
        paths = {kind: folder / f"{sample.id}_{kind}.npy" for kind in ("audio", "video")}
        if not all(p.is_file() for p in paths.values()):
            target = task.build_target(sample)
            for kind, path in paths.items():
                partial = path.with_suffix(".partial.npy")
                np.save(partial, np.asarray(target[kind]))
                os.replace(partial, path)
        out[sample.id] = paths
    return out


def _row_media(
    records: Mapping[str, Mapping[str, Any]],
    reference: Mapping[str, Mapping[str, Path]],
    sample: Sample,
    task: GenerationTask,
) -> _Media:
    prediction = records[sample.id]["prediction"]
    geometry = task.check_rates(sample)
    paths = {
        kind: Path(prediction[kind]) if kind in task.outputs else reference[sample.id][kind]
        for kind in ("audio", "video")
    }
    return _Media(
        paths["audio"],
        paths["video"],
        geometry.num_samples,
        task.spec.protocol.sample_rate,
        task.spec.protocol.fps,
    )


def _row_features(
    cache: FeatureCache,
    embedders: Mapping[str, Embedder],
    generated: Sequence[_Media],
    real: Sequence[_Media],
    outputs: Sequence[str],
) -> dict[str, NDArray[np.float64]]:
    def stack(role: str, key: str, media: Sequence[_Media], streams: Sequence[str]) -> NDArray[np.float64]:
        return np.stack([_features(cache, embedders[role], m, streams)[key] for m in media]).astype(
            np.float64
        )

    out = {
        "pair_video": stack("video", "embedding", generated, ["video"]),
        "pair_audio": stack("audio", "embedding", generated, ["audio"]),
        "sync": stack("sync", "logits", generated, ["audio", "video"]),
    }
    if "audio" in outputs:
        out |= {
            "audio": out["pair_audio"],
            "real_audio": stack("audio", "embedding", real, ["audio"]),
            "logits": stack("classifier", "logits", generated, ["audio"]),
            "real_logits": stack("classifier", "logits", real, ["audio"]),
        }
    if "video" in outputs:
        out |= {"video": out["pair_video"], "real_video": stack("video", "embedding", real, ["video"])}
    return out


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _worst(values: Sequence[float], ids: Sequence[str], metric: str, count: int = 3) -> list[str]:
    order = np.argsort(np.asarray(values, dtype=np.float64), kind="stable")
    if not GENERATION_METRICS[metric].higher_is_better:
        order = order[::-1]
    return [ids[i] for i in order[:count]]


def count_parameters(model: object) -> int:
    """Parameters of a model object: its own if it is a torch module, and those of the modules it holds.

    Held means an attribute, or an attribute of an attribute. A retrieval baseline counts only the networks
    it runs (its index is data), the real media none.

    Example:
        >>> from torch import nn
        >>> class Wrapper:
        ...     def __init__(self) -> None:
        ...         self.net, self.vocoder = nn.Linear(3, 2), None
        >>> count_parameters(Wrapper())
        8
    """
    seen: dict[int, nn.Parameter] = {}
    held = [model, *(vars(model).values() if hasattr(model, "__dict__") else ())]
    for value in held:
        if isinstance(value, nn.Module):
            seen.update((id(p), p) for p in value.parameters())
        elif value is not model and hasattr(value, "__dict__"):
            modules = [v for v in vars(value).values() if isinstance(v, nn.Module)]
            seen.update((id(p), p) for m in modules for p in m.parameters())
    return sum(p.numel() for p in seen.values())


def _row_scores(
    cell: Mapping[str, Any], set_scores: Mapping[str, SetScore], seed: int
) -> dict[str, SetScore]:
    """Every score of a row with its clip-bootstrap replicates: the cell's per-clip means and set metrics."""
    out = {
        key: mean_score(values, seed) for key, values in cell["items"].items() if key in GENERATION_METRICS
    }
    return {**out, **set_scores}


def _row(
    task: GenerationTask,
    name: str,
    model: Model,
    cell: Mapping[str, Any],
    set_scores: Mapping[str, SetScore],
    media: Sequence[_Media],
    ids: Sequence[str],
    folder: Path,
    records: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    scores: dict[str, float | str] = dict(cell["scores"])
    ci = {key: list(value) for key, value in cell["ci"].items()}
    items = {key: list(values) for key, values in cell["items"].items()}
    for metric, value in set_scores.items():
        scores[metric], ci[metric] = json_number(value.score), list(value.interval())
        items[metric] = value.per_clip.tolist()
    worst = {
        metric: _worst(values, ids, metric)
        for metric, values in items.items()
        if metric in GENERATION_METRICS
    }
    files = {
        i: {kind: _relative(getattr(m, kind), folder) for kind in task.outputs}
        for i, m in zip(ids, media, strict=True)
    }
    seconds = sum(float(records[i].get("predict_seconds", math.nan)) for i in ids)
    duration = sum(m.num_samples / m.sample_rate for m in media)
    return {
        "task": task.name,
        "name": name,
        "model": model.id,
        "role": _role(name),
        "scores": scores,
        "ci": ci,
        "items": items,
        "worst": worst,
        "media": files,
        "speed": {"predict_seconds": seconds, "real_time_factor": seconds / duration},
        "parameters": count_parameters(model),
        "licence": GENERATOR_CARDS[name].output_licence if name in GENERATOR_CARDS else None,
        "watermark": getattr(getattr(model, "watermarker", None), "name", None),
    }


def compare_rows(
    rows: Sequence[Mapping[str, Any]], scores: Sequence[Mapping[str, SetScore]]
) -> list[dict[str, Any]]:
    """Paired comparisons of one task's rows on every metric, positive = better (lower-is-better negated).

    Each generator against the strongest retrieval baseline of each metric (the baseline row with the best
    score), and each pair of generators (paradigm against paradigm). The rows score the same clips with the
    same resamples, so each interval is the paired bootstrap of the difference.
    """
    out: list[dict[str, Any]] = []
    generators = [k for k, r in enumerate(rows) if r["role"] == "generator"]
    baselines = [k for k, r in enumerate(rows) if r["role"] == "retrieval baseline"]
    for metric, info in GENERATION_METRICS.items():
        sign = 1.0 if info.higher_is_better else -1.0
        have = [k for k in range(len(rows)) if metric in scores[k] and np.isfinite(scores[k][metric].score)]
        pool = [k for k in baselines if k in have]
        best = max(pool, key=lambda k: sign * scores[k][metric].score, default=None)
        pairs = [(g, best, "vs_baseline") for g in generators if g in have and best is not None]
        pairs += [(a, b, "paradigms") for i, a in enumerate(generators) for b in generators[i + 1 :]
                  if a in have and b in have]  # fmt: skip
        for first, second, kind in pairs:
            result = compare_set_scores(scores[first][metric], scores[second][metric], info.higher_is_better)
            out.append({"kind": kind, "task": rows[first]["task"], "metric": metric,
                        "model": rows[first]["model"], "reference": rows[second]["model"],
                        **result.to_dict()})  # fmt: skip
    return out


def _loaded_models(
    models: Mapping[str, Model] | None, tasks: Sequence[str]
) -> tuple[dict[str, Model], list[str]]:
    """The models of :data:`GENERATION_MODELS` for ``tasks`` (``models``, or else the registered ones).

    Given models under other names (variants of a generator, e.g. one per guidance) that declare one of
    ``tasks`` are measured too, after the registered ones.
    """
    wanted = list(dict.fromkeys(name for task in tasks for name in GENERATION_MODELS[task]))
    available = set(models) if models is not None else set(REGISTRY)
    loaded = {
        name: models[name] if models is not None else get_model(name) for name in wanted if name in available
    }
    extra = {n: m for n, m in (models or {}).items() if n not in loaded and set(m.tasks) & set(tasks)}
    return {**loaded, **extra}, [name for name in wanted if name not in available]


def _task_rows(
    task: GenerationTask,
    loaded: Mapping[str, Model],
    results: Mapping[str, Any],
    samples: Sequence[Sample],
    folder: Path,
    cache: FeatureCache,
    embedders: Mapping[str, Embedder],
    seed: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One task's rows (its generators, baselines and the real media) and their paired comparisons."""
    split = task.spec.protocol.split
    here = [s for s in samples if task.includes(s if s.split == split else replace(s, split=split))]
    ids = [s.id for s in here]
    reference = _write_reference(folder / "reference", here, task)
    real = [_Media(paths["audio"], paths["video"], task.check_rates(s).num_samples,
                   task.spec.protocol.sample_rate, task.spec.protocol.fps)
            for s, paths in zip(here, reference.values(), strict=True)]  # fmt: skip
    rows, scores = [], []
    names = [n for n in GENERATION_MODELS[task.name] if n in loaded]
    names += [n for n, m in loaded.items() if n not in GENERATION_MODELS[task.name] and task.name in m.tasks]
    for name in (*names, "oracle"):
        model = loaded[name] if name in loaded else OracleModel()
        if task.name not in model.tasks:
            raise UsageError(f"{name} ({model.id}) does not declare task {task.name!r}")
        cell = next(c for c in results["cells"] if (c["task"], c["model_id"]) == (task.name, model.id))
        records = read_cell_records(folder, task.name, model.id, "clean")
        failed = [f"{i}: {r['error']}" for i, r in records.items() if "error" in r]
        if failed:
            first = "; ".join(failed[:2])
            raise DataError(f"generator {model.id} failed on {len(failed)} clip(s) of {task.name}: {first}")
        media = [_row_media(records, reference, s, task) for s in here]
        features = _row_features(cache, embedders, media, real, task.outputs)
        set_scores = compute_set_metrics(features, task.outputs, seed)
        rows.append(_row(task, name, model, cell, set_scores, media, ids, folder, records))
        scores.append(_row_scores(cell, set_scores, seed))
    return rows, compare_rows(rows, scores)


def run_generation(
    out: str | Path,
    num_samples: int = 8,
    tasks: Sequence[str] | None = None,
    models: Mapping[str, Model] | None = None,
    embedders: Mapping[str, Embedder] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    split: str = "test",
    watermark: bool = True,
    energy_country: str | None = None,
) -> dict[str, Any]:
    """Run (or resume) the generation bench into ``out`` and return its section of ``results.json``.

    Args:
        out: the run folder (``cells/`` of the runner, ``reference/`` real media, ``features/`` cache).
        num_samples: clean AVSynth clips.
        tasks: generation tasks (default: every task of :data:`GENERATION_MODELS`).
        models: model objects by registry name (default: load the registered ones); names of
            :data:`GENERATION_MODELS` that are not there are skipped and listed in ``skipped``.
        embedders: ``audio``, ``video``, ``classifier`` and ``sync`` embedders (default: the AVSynth
            reference embedders).
        seed: AVSynth and bootstrap seed.
        progress: called as ``progress(cell, done, total)``.
        split: the AVSynth split scored (``"val"`` to choose settings; the bench scores ``"test"``).
        watermark: keep the generators' audio watermarks (their default); ``False`` turns them off.
        energy_country: 3-letter ISO code for the CO2 of the energy recorded per model (``None``: energy
            only).

    Returns:
        ``{"samples", "rows", "comparisons", "metrics", "embedders", "skipped", ...}``; media paths are
        relative to ``out``; ``comparisons`` holds the paired differences of :func:`compare_rows`.
    """
    folder, names = Path(out), tuple(tasks or GENERATION_MODELS)
    unknown = [t for t in names if t not in GENERATION_MODELS]
    if unknown:
        raise UsageError(f"unknown generation tasks {unknown}; choose from {sorted(GENERATION_MODELS)}")
    if num_samples < 3:
        raise UsageError("the generation bench needs at least 3 clips (a covariance and a leave-one-out FD)")
    loaded, skipped = _loaded_models(models, names)
    if skipped:
        log.warning("generation bench: no model %s; skipped", ", ".join(skipped))
    config = RunConfig(
        tasks=names,
        models=(*loaded, "oracle"),
        split=split,
        num_samples=num_samples,
        seed=seed,
        batch_size=num_samples,
        watermark=watermark,
        energy=True,
        energy_country=energy_country,
    )
    results = run_evaluation(config, folder, models=loaded, progress=progress)
    if embedders is None:
        from avikit.eval.reference_embedders import load_reference_embedders

        embedders = load_reference_embedders()
    samples = load_eval_data(None, split, num_samples, seed).samples
    cache = FeatureCache(folder / "features")
    rows, comparisons, tasks_used = [], [], []
    for task_name in names:
        task = get_task(task_name)
        if not isinstance(task, GenerationTask):
            raise TypeError(f"{task_name} is not a generation task")
        tasks_used.append(task)
        task_rows, task_comparisons = _task_rows(
            task, loaded, results, samples, folder, cache, embedders, seed
        )
        rows += task_rows
        comparisons += task_comparisons
    return {
        "folder": folder.name,
        "num_samples": num_samples,
        "split": split,
        "condition": "clean",
        "fps": int(tasks_used[0].spec.protocol.fps),
        "sample_rate": int(tasks_used[0].spec.protocol.sample_rate),
        "tasks": {
            t.name: {"inputs": list(t.spec.inputs), "outputs": list(t.outputs), "version": t.spec.version}
            for t in tasks_used
        },
        "samples": [s.id for s in samples],
        "captions": {s.id: str(s.targets.get("caption", "")) for s in samples},
        "reference": {
            s.id: {k: _relative(folder / "reference" / f"{s.id}_{k}.npy", folder) for k in ("audio", "video")}
            for s in samples
        },
        "rows": rows,
        "comparisons": comparisons,
        "metrics": {name: asdict(info) for name, info in GENERATION_METRICS.items()},
        "embedders": {
            role: {"name": e.name, "preprocessing": dict(e.preprocessing)} for role, e in embedders.items()
        },
        "skipped": skipped,
        "watermark": watermark,
        "energy": results.get("energy"),
        "run": results["run"],
    }
