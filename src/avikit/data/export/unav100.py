"""Export to the UnAV-100 layout (Geng et al., CVPR 2023; ttgeng233/UnAV).

Layout::

    OUT/annotations/unav100_annotations.json
        {"database": {<video id>: {"subset": "train" | "validation" | "test", "duration": seconds,
                                   "annotations": [{"segment": [start, end], "label": name,
                                                    "label_id": index}, ...]}}}
    OUT/videos/<video id>.mp4

Events are the dense audio-visual events (a source both seen and heard), in exact seconds.
``label_id`` is the class's index in the source set's class list (its card's profile).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from avikit.data.export._common import (
    Progress,
    copy_file,
    source_classes,
    source_samples,
    split_of,
    targets,
    write_json,
)

__all__ = ["export_unav100"]

_SUBSETS = {"train": "train", "val": "validation", "test": "test"}


def export_unav100(
    src: str | os.PathLike[str], out: str | os.PathLike[str], progress: Progress = None
) -> Path:
    """Write the AVSynth set in ``src`` in the UnAV-100 layout under ``out`` and return ``out``."""
    root = Path(out)
    samples = source_samples(src)
    classes = source_classes(src)
    database: dict[str, Any] = {}
    for k, sample in enumerate(samples, start=1):
        split = split_of(sample)
        if split is None:
            continue
        t = targets(sample)
        events = [
            {
                "segment": [float(e["onset"]), float(e["offset"])],
                "label": e["label"],
                "label_id": classes.index(e["label"]),
            }
            for e in t["events"]["audio_visual"]
        ]
        database[sample.id] = {
            "subset": _SUBSETS[split],
            "duration": float(t["duration"]),
            "annotations": events,
        }
        copy_file(Path(src) / sample.media.path, root / "videos" / f"{sample.id}.mp4")
        if progress is not None:
            progress(k, len(samples))
    write_json(root / "annotations" / "unav100_annotations.json", {"database": database})
    return root
