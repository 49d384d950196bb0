r"""Export to the MUSIC-AVQA layout (Li et al., CVPR 2022; GeWu-Lab/MUSIC-AVQA).

Layout::

    OUT/data/json/avqa-train.json    a JSON list of questions (also avqa-val.json, avqa-test.json)
    OUT/videos/<video_id>.mp4

Each question has the fields of the original files, in their order: ``video_id``, ``question_id``,
``type`` (a JSON list written as a string, e.g. ``"[\\"Audio\\", \\"Counting\\"]"``), ``question_content``
(with ``<Object>`` slots), ``templ_values`` (a JSON list as a string), ``question_deleted`` and the
answer under the original key ``anser`` (sic).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from avikit.data.export._common import Progress, copy_file, source_samples, split_of, targets, write_json

__all__ = ["export_music_avqa"]


def export_music_avqa(
    src: str | os.PathLike[str], out: str | os.PathLike[str], progress: Progress = None
) -> Path:
    """Write the AVSynth set in ``src`` in the MUSIC-AVQA layout under ``out`` and return ``out``."""
    root = Path(out)
    samples = source_samples(src)
    files: dict[str, list[dict[str, Any]]] = {"train": [], "val": [], "test": []}
    question_id = 0
    for k, sample in enumerate(samples, start=1):
        split = split_of(sample)
        if split is None:
            continue
        for q in targets(sample)["qa"]:
            files[split].append(
                {
                    "video_id": sample.id,
                    "question_id": question_id,
                    "type": json.dumps(q["type"]),
                    "question_content": q["question_content"],
                    "templ_values": json.dumps(q["templ_values"]),
                    "question_deleted": 0,
                    "anser": q["answer"],
                }
            )
            question_id += 1
        copy_file(Path(src) / sample.media.path, root / "videos" / f"{sample.id}.mp4")
        if progress is not None:
            progress(k, len(samples))
    for split, rows in files.items():
        write_json(root / "data" / "json" / f"avqa-{split}.json", rows)
    return root
