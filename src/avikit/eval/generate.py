"""Run a registered generator on a real media file (or a caption) and save its output as media.

The file is decoded at the task's protocol rates (fps, sample rate, mono) and frame size; the model gets
exactly what the task declares (:func:`~avikit.tasks.model_media`) through the same predict loop as an
evaluation, and its ``.npy`` outputs become a ``.wav`` (audio) or an H.264/AAC ``.mp4`` (video, with the
generated audio or, for audio-to-video, the input's audio).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from avikit import media
    >>> folder = Path(tempfile.mkdtemp())
    >>> clip = media.AVClip(frames=np.zeros((32, 64, 64, 3), np.uint8), fps=8,
    ...                     waveform=np.zeros((1, 64000), np.float32), sample_rate=16000)
    >>> source = media.save(clip, folder / "silent.mp4")
    >>> out = generate_file("v2a", "v2a-retrieval", folder / "sound.wav", source)
    >>> media.probe(out).audio.sample_rate
    16000
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from avikit.errors import InputFileError, UsageError
from avikit.media import AVClip, load, save
from avikit.models.protocol import Item
from avikit.models.registry import get_model
from avikit.tasks import TaskInputs, get_task, model_media
from avikit.tasks.generation import GenerationTask

__all__ = ["generate_file"]

_SIZE = 128
"""Frame size of the generation tasks' clips (AVSynth's), at which the packaged generators work."""


def _inputs(
    task: GenerationTask, input_file: Path | None, caption: str | None, duration: float | None
) -> tuple[TaskInputs, np.ndarray, np.ndarray]:
    protocol, needs = task.spec.protocol, task.spec.inputs
    fps, rate = int(protocol.fps or 8), int(protocol.sample_rate or 16000)
    if "text" in needs and not caption:
        raise UsageError(f"task {task.name} generates from a caption: give --caption")
    if any(k in needs for k in ("video", "audio", "first_frame")) and input_file is None:
        raise UsageError(f"task {task.name} generates from {' and '.join(needs)}: give --input FILE")
    if input_file is None:
        seconds = int(duration or 10)
        frames = np.zeros((seconds * fps, _SIZE, _SIZE, 3), np.uint8)
        waveform = np.zeros((1, seconds * rate), np.float32)
    else:
        if not Path(input_file).is_file():
            raise InputFileError(f"{input_file}: no such media file")
        clip = load(input_file, 0, duration, fps=fps, size=_SIZE, sample_rate=rate, channels=1)
        count = (
            len(clip.frames)
            if clip.frames is not None
            else int(clip.require_waveform().shape[1] * fps // rate)
        )
        frames = clip.frames if clip.frames is not None else np.zeros((count, _SIZE, _SIZE, 3), np.uint8)
        waveform = np.zeros((1, count * rate // fps), np.float32)
        if clip.waveform is not None:
            have = clip.waveform[:, : waveform.shape[1]]
            waveform[:, : have.shape[1]] = have
        if ("video" in needs or "first_frame" in needs) and clip.frames is None:
            raise UsageError(f"{input_file} has no video stream; task {task.name} needs one")
        if "audio" in needs and clip.waveform is None:
            raise UsageError(f"{input_file} has no audio stream; task {task.name} needs one")
    text = (caption,) if caption else ()
    inputs = TaskInputs("input", tuple(range(len(frames))), (0, waveform.shape[1]), (_SIZE, _SIZE), text=text)
    return inputs, frames, waveform


def generate_file(
    task_name: str,
    model_name: str,
    out: str | Path,
    input_file: str | Path | None = None,
    caption: str | None = None,
    duration: float | None = None,
) -> Path:
    """Generate with ``model_name`` for ``task_name`` and write ``out`` (``.wav`` or ``.mp4``).

    Raises:
        UsageError: for a task that is not a generation task, a model that does not do it, missing
            inputs, or an output suffix other than ``.wav``/``.mp4``.
    """
    task = get_task(task_name)
    if not isinstance(task, GenerationTask):
        raise UsageError(
            f"{task_name} is not a generation task; choose v2a, a2v, joint-generation or codec-reconstruction"
        )
    target = Path(out)
    if target.suffix not in (".wav", ".mp4"):
        raise UsageError(f"{target}: write .wav (audio) or .mp4 (video with sound)")
    if target.suffix == ".wav" and "audio" not in task.outputs:
        raise UsageError(f"task {task_name} generates video: write an .mp4")
    model = get_model(model_name)
    if task.name not in model.tasks:
        raise UsageError(f"model {model_name} does {', '.join(model.tasks)}, not {task_name}")
    inputs, frames, waveform = _inputs(
        task, None if input_file is None else Path(input_file), caption, duration
    )
    shown = model_media(frames, waveform, task.spec.inputs)
    view = inputs.model_view("input", task.spec.inputs)
    protocol = task.spec.protocol
    fps, rate = int(protocol.fps or 8), int(protocol.sample_rate or 16000)
    with tempfile.TemporaryDirectory() as folder:
        prediction = model.predict(task, [Item("input", view, shown, Path(folder))])[0]
        task.check_prediction(prediction, view, f"model {model_name}")
        audio = np.load(prediction["audio"])[None] if "audio" in task.outputs else waveform
        video = np.load(prediction["video"]) if "video" in task.outputs else frames
    audio = np.asarray(audio, np.float32).reshape(1, -1)
    if target.suffix == ".wav":
        return save(AVClip(waveform=audio, sample_rate=rate), target)
    return save(AVClip(frames=video, fps=fps, waveform=audio, sample_rate=rate), target)
