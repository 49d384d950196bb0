"""Score audio-to-video and joint generators as the bench runs them: whole AVSynth test clips, ``predict``.

:func:`score_av_generators` builds the items of a generation task on the default AVSynth ``test`` split
(10 s, 8 fps, 16 kHz, 128 px, up to three objects; the clips the bench uses), lets each model write its
predictions, and scores every model and the real clips with:

- the task's own reference metrics (``psnr``/``ssim`` for ``a2v``; plus ``mel_distance`` for joint);
- sync of the generated pair (``a2v``: generated frames with the real audio; joint: the generated audio
  with the generated frames): ``offset_accuracy`` and ``desync`` (s, :func:`avikit.metrics.generation.
  evaluate_desync`) from the simple sync scorer :func:`avikit.models.generation.judges.sync_logits` over +-3
  frames, and its zero-offset ``activity_correlation``;
- ``alignment`` (:func:`avikit.metrics.generation.evaluate_alignment`, an IB-score analogue): the cosine of
  the pair's audio and video embeddings by a :class:`~avikit.models.generation.judges.PairEmbedder` trained on
  AVSynth ``val`` clips;
- ``class_consistency``: how often a :class:`~avikit.models.generation.judges.SourceClassifier` trained on
  ``val`` clips puts the generated audio / video into one of the clip's labelled classes;
- ``rtf``: ``predict`` seconds per second of generated media on this CPU, and ``seconds_per_clip``.

Frames are scored at 32 px (area-downsampled), the size the embedder and classifier read.

Example:
    >>> sorted(SCORE_KEYS)[:3]
    ['activity_correlation', 'alignment', 'audio_class_accuracy']
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.data.sample import Sample
from avikit.data.synth import SEEN_CLASSES, generate
from avikit.errors import UsageError
from avikit.eval.predict import predict_all
from avikit.media import AVClip
from avikit.metrics.generation import evaluate_alignment
from avikit.models.generation.judges import PairEmbedder, SourceClassifier, sync_scores
from avikit.models.protocol import Model
from avikit.tasks import get_task
from avikit.tasks.generation import GenerationTask

__all__ = ["SCORE_KEYS", "format_scores", "load_samples", "score_av_generators"]

SCORE_KEYS = (
    "psnr",
    "ssim",
    "mel_distance",
    "offset_accuracy",
    "desync",
    "activity_correlation",
    "alignment",
    "audio_class_accuracy",
    "video_class_accuracy",
    "rtf",
    "seconds_per_clip",
)
"""Keys a result row may hold (``mel_distance`` and ``audio_class_accuracy`` only with generated audio)."""


def load_samples(split: str, count: int, seed: int = 0) -> tuple[list[Sample], list[AVClip]]:
    """AVSynth ``split`` (default clips): the sample records and their decoded clips."""
    made = [generate(split, index, seed)[:2] for index in range(count)]
    return [sample for sample, _ in made], [clip for _, clip in made]


def _whole(clips: Sequence[AVClip]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every clip's frames ``[T, H, W, 3]`` and mono audio ``[N]``."""
    return [c.require_frames() for c in clips], [c.require_waveform().mean(0) for c in clips]


def _tensors(frames: Sequence[np.ndarray], audio: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 ``[T, H, W, 3]`` and mono ``[N]`` arrays to ``([B, T, 3, 32, 32] in [0, 1], [B, 1, N])``."""
    video = torch.from_numpy(np.stack(frames)).permute(0, 1, 4, 2, 3).float() / 255
    small = F.interpolate(video.flatten(0, 1), size=(32, 32), mode="area").unflatten(0, video.shape[:2])
    sound = torch.from_numpy(np.stack([np.asarray(a, np.float32).reshape(-1) for a in audio]))[:, None]
    return small, sound


class _Judges:
    """The embedder and classifier, trained once on ``val`` clips of the same kind as the test clips."""

    def __init__(self, count: int, seed: int) -> None:
        samples, clips = load_samples("val", count, seed)
        frames, audio = _tensors(*_whole(clips))
        self.classes = list(SEEN_CLASSES)
        first = torch.tensor([self.classes.index(s.targets["labels"][0]) for s in samples])
        torch.manual_seed(seed)  # the initialisations too, so every run trains the same judges
        self.embedder = PairEmbedder().fit(audio, frames, seed=seed)
        self.classifier = SourceClassifier(len(self.classes)).fit(audio, frames, first)

    def scores(self, frames: torch.Tensor, audio: torch.Tensor, labels: list[list[str]]) -> dict[str, float]:
        with torch.no_grad():
            video_emb = self.embedder.embed_video(frames).numpy()
            audio_emb = self.embedder.embed_audio(audio).numpy()
        by_audio, by_video = self.classifier.predict(audio, frames)
        hit = [
            [self.classes[int(p)] in clip for p, clip in zip(pred, labels, strict=True)]
            for pred in (by_audio, by_video)
        ]
        return {
            **sync_scores(audio, frames),
            "alignment": evaluate_alignment(video_emb, audio_emb)["alignment"],
            "audio_class_accuracy": float(np.mean(hit[0])),
            "video_class_accuracy": float(np.mean(hit[1])),
        }


def score_av_generators(
    models: Mapping[str, Model],
    task_name: str,
    count: int = 32,
    seed: int = 0,
    scratch: str | Path | None = None,
    judge_clips: int = 192,
) -> dict[str, dict[str, float]]:
    """Run each model on ``count`` AVSynth test clips of ``task_name``; score them and the real clips.

    Args:
        models: display name -> model (e.g. ``{"a2v": get_model("a2v")}``).
        task_name: ``"a2v"`` or ``"joint-generation"``.
        count: test clips.
        seed: AVSynth seed.
        scratch: folder for the predictions (default: a temporary folder).
        judge_clips: ``val`` clips the embedder and classifier are trained on.

    Returns:
        ``{name: {key: value}}`` with keys from :data:`SCORE_KEYS`, plus a ``"real"`` row.
    """
    if task_name not in ("a2v", "joint-generation"):
        raise UsageError(f"score_av_generators scores 'a2v' or 'joint-generation', not {task_name!r}")
    task, judges = get_task(task_name), _Judges(judge_clips, seed)
    if not isinstance(task, GenerationTask):
        raise TypeError(f"{task_name} is not a generation task")
    samples, clips = load_samples("test", count, seed)
    by_id = {s.id: c for s, c in zip(samples, clips, strict=True)}
    labels = [list(s.targets["labels"]) for s in samples]
    real_frames, real_audio = _whole(clips)
    seconds = sum(len(a) for a in real_audio) / task.spec.protocol.sample_rate
    results = {"real": judges.scores(*_tensors(real_frames, real_audio), labels)}
    targets = [task.build_target(s) for s in samples]
    with tempfile.TemporaryDirectory() as temporary:
        for name, model in models.items():
            start = time.perf_counter()
            folder = Path(scratch or temporary) / name
            predictions = predict_all(task, model, samples, lambda s: by_id[s.id], len(samples), folder)
            elapsed = time.perf_counter() - start
            frames = [np.load(p["video"]) for p in predictions]
            audio = [np.load(p["audio"]) for p in predictions] if "audio" in task.outputs else real_audio
            evaluation = task.evaluate(predictions, targets)
            results[name] = {
                **evaluation.scores,
                **judges.scores(*_tensors(frames, audio), labels),
                "rtf": elapsed / seconds,
                "seconds_per_clip": elapsed / len(samples),
            }
    return results


def format_scores(results: Mapping[str, Mapping[str, float]]) -> str:
    """A markdown table of :func:`score_av_generators` results (``-`` where a row has no value)."""
    keys = [k for k in SCORE_KEYS if any(k in row for row in results.values())]
    lines = ["| | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, row in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[k]:.3f}" if k in row else "-" for k in keys) + " |")
    return "\n".join(lines)
