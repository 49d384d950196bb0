"""Export to the AVSBench layouts (Zhou et al., ECCV 2022; OpenNLPLab/AVSBench): S4, MS3 and AVSS.

One frame per second is extracted, the one the official preprocessing keeps (``preprocess_s4.py`` and
``preprocess_ms3.py``: 16 frames listed per second, the 16th kept, about 15/16 s into the second; see
:func:`avikit.data.datasets.avsbench.avsbench_frame_indices`). The AVS tasks pick the same frames on an
AVSynth folder, so a model scored there and on the export sees the same frames, masks and audio. The AVSS
release ships its frames without the script that chose them; its export uses the same rule. Binary masks
are 8-bit grey PNGs (255 on sounding objects); AVSS colour masks use the official palette
(bit-interleaved class index, background 0) with ``label2idx.json`` naming the classes.

S4 (one sounding source class per clip; train annotates frame 1 only)::

    OUT/Single-source/s4_meta_data.csv                    name,start_time,category,split
    OUT/Single-source/s4_data/visual_frames/<split>/<category>/<name>/<name>_<i>.png   i = 1..5
    OUT/Single-source/s4_data/gt_masks/<split>/<category>/<name>/<name>_<i>.png
    OUT/Single-source/s4_data/audio_wav/<split>/<category>/<name>.wav                  first 5 s

MS3 (all 5 frames annotated)::

    OUT/Multi-sources/ms3_meta_data.csv                   video_id,split
    OUT/Multi-sources/ms3_data/visual_frames/<name>/<name>.mp4_<i>.png
    OUT/Multi-sources/ms3_data/gt_masks/<split>/<name>/<name>_<i>.png
    OUT/Multi-sources/ms3_data/audio_wav/<split>/<name>.wav

AVSS (AVSBench-semantic, 10 s clips as the ``v2`` subset; ``label2idx.json`` lists the classes of the source
set's card, in its order, after the background)::

    OUT/avss/metadata.csv      vid,uid,s_min,s_sec,a_obj,split,label
    OUT/avss/label2idx.json
    OUT/avss/v2/<uid>/frames/<i>.jpg   labels_rgb/<i>.png   labels_semantic/<i>.png   audio.wav   i = 0..9

The VGGish log-Mel pickles of the official release are derived features, made by its own scripts from
the wav files, and are not written.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from avikit.data.datasets.avsbench import avsbench_frame_indices, avss_palette
from avikit.data.export._common import (
    Progress,
    source_classes,
    source_samples,
    split_of,
    targets,
    write_image,
    write_text,
)
from avikit.data.sample import Sample
from avikit.data.synth.classes import CLASS_NAMES
from avikit.data.synth.ground_truth import segment_mask_maps
from avikit.data.synth.recipe import load_clip, load_ids
from avikit.errors import DataError
from avikit.media import AVClip, save

__all__ = ["avss_palette", "export_avsbench"]

VARIANTS = ("s4", "ms3", "avss")


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _per_second(
    sample: Sample, src: Path, seconds: int
) -> tuple[AVClip, tuple[int, ...], np.ndarray, np.ndarray]:
    """Return the clip, the frame AVSBench keeps of each second, and the binary and semantic masks there."""
    clip = load_clip(sample, src)
    fps = int(sample.provenance.generator["config"]["fps"]) if sample.provenance.generator else 8
    ids = load_ids(sample, src)
    index = avsbench_frame_indices(fps, len(ids), seconds)
    binary, semantic = segment_mask_maps(ids, targets(sample), fps)
    return clip, index, binary[list(index)], semantic[list(index)]


def _audio(clip: AVClip, seconds: int, path: Path) -> None:
    save(clip.trim(0, seconds).with_frames(None), path)


def _sounding(t: dict[str, Any], seconds: float) -> list[str]:
    return sorted({e["label"] for e in t["events"]["audio_visual"] if e["onset"] < seconds})


def _export_s4_ms3(src: Path, root: Path, variant: str, progress: Progress) -> Path:
    samples = source_samples(src)
    base = root / ("Single-source" if variant == "s4" else "Multi-sources")
    data = base / f"{variant}_data"
    meta: list[list[Any]] = [
        ["name", "start_time", "category", "split"] if variant == "s4" else ["video_id", "split"]
    ]
    for k, sample in enumerate(samples, start=1):
        split, t = split_of(sample), targets(sample)
        classes = _sounding(t, 5)
        wanted = len(classes) == 1 if variant == "s4" else len(classes) >= 2
        if split is None or not wanted:
            continue
        name = sample.id
        clip, index, binary, _ = _per_second(sample, src, 5)
        where = Path(split) / classes[0] / name if variant == "s4" else Path(split) / name
        for i in range(5):
            frame_dir = data / "visual_frames" / (where if variant == "s4" else Path(name))
            frame_name = f"{name}_{i + 1}.png" if variant == "s4" else f"{name}.mp4_{i + 1}.png"
            write_image(frame_dir / frame_name, clip.require_frames()[index[i]])
            if variant == "ms3" or split != "train" or i == 0:
                write_image(data / "gt_masks" / where / f"{name}_{i + 1}.png", binary[i] * np.uint8(255))
        _audio(clip, 5, data / "audio_wav" / where.parent / f"{name}.wav")
        meta.append([name, 0, classes[0], split] if variant == "s4" else [name, split])
        if progress is not None:
            progress(k, len(samples))
    write_text(base / f"{variant}_meta_data.csv", _csv(meta))
    return base


def _export_avss(src: Path, root: Path, progress: Progress) -> Path:
    samples = source_samples(src)
    base = root / "avss"
    classes = source_classes(src)
    palette = avss_palette(len(classes) + 1)
    lut = np.zeros(len(CLASS_NAMES) + 1, dtype=np.uint8)  # AVSynth class index + 1 -> the set's index + 1
    lut[[CLASS_NAMES.index(c) + 1 for c in classes]] = np.arange(1, len(classes) + 1)
    meta: list[list[Any]] = [["vid", "uid", "s_min", "s_sec", "a_obj", "split", "label"]]
    for k, sample in enumerate(samples, start=1):
        split, t = split_of(sample), targets(sample)
        if split is None:
            continue
        seconds = int(t["duration"])
        clip, index, _, semantic = _per_second(sample, src, seconds)
        semantic = lut[semantic]
        folder = base / "v2" / sample.id
        for i in range(seconds):
            write_image(folder / "frames" / f"{i}.jpg", clip.require_frames()[index[i]])
            write_image(folder / "labels_rgb" / f"{i}.png", palette[semantic[i]])
            write_image(folder / "labels_semantic" / f"{i}.png", semantic[i])
        _audio(clip, seconds, folder / "audio.wav")
        meta.append([sample.id, sample.id, 0, 0, "_".join(_sounding(t, seconds)), split, "v2"])
        if progress is not None:
            progress(k, len(samples))
    write_text(base / "metadata.csv", _csv(meta))
    write_text(
        base / "label2idx.json",
        json.dumps({"background": 0, **{c: i + 1 for i, c in enumerate(classes)}}, indent=2),
    )
    return base


def export_avsbench(
    src: str | os.PathLike[str], out: str | os.PathLike[str], variant: str, progress: Progress = None
) -> Path:
    """Write the AVSynth set in ``src`` in an AVSBench layout (``s4``, ``ms3`` or ``avss``) under ``out``.

    Raises:
        ValueError: for an unknown variant; the message lists the valid ones.
    """
    if variant not in VARIANTS:
        raise DataError(f"unknown AVSBench variant {variant!r}; valid variants are {', '.join(VARIANTS)}")
    if variant == "avss":
        return _export_avss(Path(src), Path(out), progress)
    return _export_s4_ms3(Path(src), Path(out), variant, progress)
