"""Generation tasks: video-to-audio, audio-to-video, joint audio+video, and codec reconstruction.

A prediction names files, never inlines media: ``audio`` is the path of a ``.npy`` float array
``[C, N]`` (or ``[N]``) at the protocol's sample rate, ``video`` the path of a ``.npy`` uint8 array
``[T, H, W, 3]`` at the protocol's fps. Scores here are the reference-based ones that need no learned
embedder: mel distance (DAC's multi-scale log-mel L1, lower is better) and SI-SDR for audio, PSNR and SSIM
for frames (``avikit.metrics.reconstruction``). The embedder-based set metrics of
``avikit.metrics.generation`` (Frechet distance, KL, alignment, DeSync) need a model; the benchmark
computes them on the same files.

Example:
    >>> V2ATask().spec.metrics
    ('mel_distance',)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from avikit.data.clips import load_sample_media
from avikit.data.sample import Sample
from avikit.errors import UsageError
from avikit.metrics.reconstruction import compute_mel_distance, compute_psnr, compute_si_sdr, compute_ssim
from avikit.tasks.base import Evaluation, Protocol, Task, TaskInputs, TaskSpec, mean_values
from avikit.tasks.schema import FieldSpec, PredictionError

__all__ = [
    "SCORE_UNITS",
    "A2VTask",
    "CodecReconstructionTask",
    "GenerationTask",
    "JointGenerationTask",
    "V2ATask",
    "prediction_folder",
]

_AUDIO = FieldSpec("audio", "string", doc="path of a .npy float array [C, N] or [N]: the generated audio")
_VIDEO = FieldSpec("video", "string", doc="path of a .npy uint8 array [T, H, W, 3]: the generated frames")


def _load(path: str, kind: str) -> np.ndarray:
    """Read a generated array; a missing or non-.npy file is a :class:`PredictionError`."""
    file = Path(path)
    if file.suffix != ".npy" or not file.is_file():
        raise PredictionError(f"{kind} prediction {path!r} must be an existing .npy file")
    return np.load(file)


def _mono(audio: np.ndarray, length: int) -> np.ndarray:
    """``[C, N]`` or ``[N]`` to mono float64 ``[length]`` (cut or zero-padded)."""
    mono = np.asarray(audio, dtype=np.float64).reshape(-1, np.shape(audio)[-1]).mean(0)
    return np.pad(mono[:length], (0, max(length - len(mono), 0)))


def prediction_folder(
    task: Task,
    batch: Sequence[Any],
    model_id: str,
    tasks: Sequence[str],
    sample_rate: int,
    fps: int | None = None,
) -> Path:
    """Check that generator ``model_id`` serves ``task`` at its rates; return the batch's output folder.

    A generator writes its outputs as ``.npy`` files in the folder its items name (``item.output_dir``,
    given by the harness per cell). Raises ``UsageError`` for a task the model does not do, another sample
    rate (or frame rate, when ``fps`` is given), or items without an output folder.

    Example:
        >>> prediction_folder(V2ATask(), [], "my-v2a", ("v2a",), 16000)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        avikit.errors.UsageError: my-v2a writes its outputs as .npy files in item.output_dir; ...
    """
    if task.name not in tasks:
        raise UsageError(f"{model_id} predicts {', '.join(tasks)}, not {task.name!r}")
    protocol = task.spec.protocol
    if protocol.sample_rate != sample_rate or (fps is not None and protocol.fps != fps):
        rates = f"{sample_rate} Hz" + ("" if fps is None else f" and {fps} fps")
        raise UsageError(
            f"{model_id} works at {rates}, task {task.name} at {protocol.sample_rate} Hz and {protocol.fps} "
            "fps; resample the data or use a model trained at the task's rates"
        )
    folders = {getattr(item, "output_dir", None) for item in batch}
    given = next(iter(folders)) if len(folders) == 1 else None
    if given is None:
        raise UsageError(
            f"{model_id} writes its outputs as .npy files in item.output_dir; give every item of a batch "
            "the same output folder (the runner does)"
        )
    folder = Path(given)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class GenerationTask(Task):
    """Shared behaviour: whole-clip inputs, reference media as targets, per-item reference metrics."""

    spec: ClassVar[TaskSpec]
    outputs: ClassVar[tuple[str, ...]] = ("audio",)

    def build_inputs(self, sample: Sample) -> TaskInputs:
        """Every frame and every audio sample of the clip; the caption as text."""
        geometry = self.check_rates(sample)
        caption = str(sample.targets.get("caption", ""))
        return TaskInputs(
            sample.id,
            tuple(range(geometry.num_frames)),
            (0, geometry.num_samples),
            geometry.frame_shape,
            text=(caption,) if caption else (),
        )

    def build_target(self, sample: Sample, root: str | Path | None = None) -> dict[str, Any]:
        """``{"audio": float [N] mono reference, "video": uint8 [T, H, W, 3], "sample_rate"}``."""
        clip = load_sample_media(sample, root, self.profile)
        return {
            "audio": clip.require_waveform().mean(0).astype(np.float64),
            "video": clip.require_frames(),
            "sample_rate": self.spec.protocol.sample_rate,
        }

    def _audio_values(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> dict[str, np.ndarray]:
        refs = [t["audio"] for t in targets]
        ests = [_mono(_load(p["audio"], "audio"), len(r)) for p, r in zip(predictions, refs, strict=True)]
        rate = int(targets[0]["sample_rate"])
        values = {
            "mel_distance": np.array(
                [float(compute_mel_distance(r, e, rate)) for r, e in zip(refs, ests, strict=True)]
            )
        }
        if "si_sdr" in self.spec.metrics:
            values["si_sdr"] = np.array(
                [float(compute_si_sdr(r, e)) for r, e in zip(refs, ests, strict=True)]
            )
        return values

    def _video_values(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> dict[str, np.ndarray]:
        psnr, ssim = [], []
        for prediction, target in zip(predictions, targets, strict=True):
            video = _load(prediction["video"], "video")
            if video.shape != target["video"].shape:
                raise PredictionError(
                    f"video of {prediction['id']!r} is {video.shape}, expected {target['video'].shape}"
                )
            psnr.append(float(np.mean(compute_psnr(target["video"], video))))
            ssim.append(float(np.mean(compute_ssim(target["video"], video))))
        return {"psnr": np.array(psnr), "ssim": np.array(ssim)}

    def evaluate(
        self, predictions: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]]
    ) -> Evaluation:
        """Mean per-item reference metrics of the task's outputs."""
        values: dict[str, np.ndarray] = {}
        if "audio" in self.outputs:
            values.update(self._audio_values(predictions, targets))
        if "video" in self.outputs:
            values.update(self._video_values(predictions, targets))
        scores = {key: float(np.mean(values[key])) for key in self.spec.metrics}
        return Evaluation(
            scores, {key: mean_values(values[key]) for key in self.spec.metrics}, len(predictions)
        )

    @staticmethod
    def _write(folder: Path | None, name: str, array: np.ndarray, sample_id: str) -> str:
        if folder is None:
            raise UsageError("a generation baseline writes its arrays to files: give it an output folder")
        Path(folder).mkdir(parents=True, exist_ok=True)
        path = Path(folder) / f"{sample_id}_{name}.npy"
        np.save(path, array)
        return str(path)

    def oracle_prediction(
        self, target: Mapping[str, Any], inputs: TaskInputs, folder: Path | None = None
    ) -> dict[str, Any]:
        """The reference media itself, written to files in ``folder``."""
        out: dict[str, Any] = {"id": inputs.sample_id}
        for kind in self.outputs:
            out[kind] = self._write(folder, f"oracle_{kind}", np.asarray(target[kind]), inputs.sample_id)
        return out

    def chance_prediction(
        self, inputs: TaskInputs, rng: np.random.Generator, folder: Path | None = None
    ) -> dict[str, Any]:
        """White noise audio (RMS 0.1) and uniform-noise frames of the right shapes, in ``folder``."""
        out: dict[str, Any] = {"id": inputs.sample_id}
        if "audio" in self.outputs:
            noise = (0.1 * rng.standard_normal(inputs.audio[1] - inputs.audio[0])).astype(np.float32)
            out["audio"] = self._write(folder, "chance_audio", noise, inputs.sample_id)
        if "video" in self.outputs:
            frames = rng.integers(0, 256, (len(inputs.frames), *inputs.frame_size, 3), dtype=np.uint8)
            out["video"] = self._write(folder, "chance_video", frames, inputs.sample_id)
        return out


SCORE_UNITS: dict[str, str] = {
    "mel_distance": "log10-mel L1",
    "si_sdr": "dB",
    "psnr": "dB",
    "ssim": "fraction",
}
"""The unit of every reference score of the generation tasks."""


def _spec(
    name: str,
    family: str,
    description: str,
    inputs: tuple[str, ...],
    fields: tuple[FieldSpec, ...],
    metrics: tuple[str, ...],
    benchmark: str,
    version: int = 1,
) -> TaskSpec:
    return TaskSpec(
        name=name,
        pillar="generation",
        family=family,
        version=version,
        benchmark=benchmark,
        description=description,
        inputs=inputs,
        protocol=Protocol(
            params={"prediction_files": ".npy", "mel_distance": "DAC multi-scale (2048/150, 512/80)"}
        ),
        target_schema={"audio": "mono reference waveform [N]", "video": "reference frames [T, H, W, 3]"},
        prediction_schema=fields,
        metrics=metrics,
        primary_metric=metrics[0],
        unit=SCORE_UNITS[metrics[0]],
        lower_is_better=tuple(m for m in metrics if m == "mel_distance"),
        metric_units={m: SCORE_UNITS[m] for m in metrics[1:] if SCORE_UNITS[m] != SCORE_UNITS[metrics[0]]},
    )


class V2ATask(GenerationTask):
    """Video-to-audio: generate the clip's sound from its frames."""

    outputs = ("audio",)
    spec = _spec(
        "v2a",
        "video-to-audio",
        "Generate the audio of a clip from its video frames.",
        ("video",),
        (_AUDIO,),
        ("mel_distance",),
        "VGGSound V2A protocol (reference metrics part)",
    )


class A2VTask(GenerationTask):
    """Audio-to-video: generate the clip's frames (the visible activity of the sources) from its sound."""

    outputs = ("video",)
    spec = _spec(
        "a2v",
        "audio-to-video",
        "Generate the frames of a clip from its audio and its first frame (the reference identity frame).",
        ("audio", "first_frame"),
        (_VIDEO,),
        ("psnr", "ssim"),
        "talking-head style reconstruction metrics (PSNR/SSIM)",
        version=2,  # 2: the model gets the audio and the first frame only (1 gave every real frame)
    )


class JointGenerationTask(GenerationTask):
    """Joint audio+video generation from the clip's caption."""

    outputs = ("audio", "video")
    spec = _spec(
        "joint-generation",
        "joint audio-video generation",
        "Generate audio and frames of a clip from its caption.",
        ("text",),
        (_AUDIO, _VIDEO),
        ("mel_distance", "psnr", "ssim"),
        "reference metrics on AVSynth captions",
    )


class CodecReconstructionTask(GenerationTask):
    """Codec reconstruction: encode the clip's audio to tokens and decode it back."""

    outputs = ("audio",)
    spec = _spec(
        "codec-reconstruction",
        "tokenization",
        "Reconstruct a clip's audio through a tokenizer.",
        ("audio",),
        (_AUDIO,),
        ("mel_distance", "si_sdr"),
        "DAC/EnCodec codec fidelity (mel distance, SI-SDR)",
    )
