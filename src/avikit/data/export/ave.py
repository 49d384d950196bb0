"""Export to the AVE layout (Tian et al., ECCV 2018; YapengTian/AVE-ECCV18).

Layout::

    OUT/AVE_Dataset/Annotations.txt      Category&VideoID&Quality&StartTime&EndTime, one line per video
    OUT/AVE_Dataset/trainSet.txt         the same lines, per split (valSet.txt, testSet.txt)
    OUT/AVE_Dataset/AVE/<VideoID>.mp4    the clips

AVE has one event per video: one class over one run of whole seconds. A clip is written when its
per-second AVEL labels hold exactly one run of one class; other clips are skipped and counted in the
log, because the format cannot state them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from avikit.data.export._common import (
    Progress,
    copy_file,
    runs,
    source_samples,
    split_of,
    targets,
    write_text,
)
from avikit.data.synth.ground_truth import BACKGROUND

__all__ = ["export_ave"]

log = logging.getLogger(__name__)
_SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}


def export_ave(src: str | os.PathLike[str], out: str | os.PathLike[str], progress: Progress = None) -> Path:
    """Write the AVSynth set in ``src`` in the AVE layout under ``out`` and return the dataset folder."""
    root = Path(out) / "AVE_Dataset"
    samples = source_samples(src)
    lines: dict[str, list[str]] = {k: [] for k in _SPLIT_FILES}
    skipped = 0
    for k, sample in enumerate(samples, start=1):
        split = split_of(sample)
        avel = targets(sample)["avel"]
        classes = {c for c in avel if c != BACKGROUND}
        spans = runs(c != BACKGROUND for c in avel)
        if split is None or len(classes) != 1 or len(spans) != 1:
            skipped += 1
            continue
        (cls,) = classes
        lines[split].append(f"{cls}&{sample.id}&good&{spans[0][0]}&{spans[0][1]}")
        copy_file(Path(src) / sample.media.path, root / "AVE" / f"{sample.id}.mp4")
        if progress is not None:
            progress(k, len(samples))
    if skipped:
        log.info(
            "AVE export: skipped %d of %d clips without exactly one audio-visual event", skipped, len(samples)
        )
    for split, name in _SPLIT_FILES.items():
        write_text(root / name, "".join(f"{line}\n" for line in lines[split]))
    write_text(
        root / "Annotations.txt", "".join(f"{line}\n" for split in _SPLIT_FILES for line in lines[split])
    )
    return root
