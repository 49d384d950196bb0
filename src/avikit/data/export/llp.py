"""Export to the LLP / AVVP layout (Tian et al., ECCV 2020; YapengTian/AVVP-ECCV20).

Layout (tab-separated, header first)::

    OUT/data/AVVP_train.csv        filename, event_labels (comma-joined video-level labels)
    OUT/data/AVVP_val_pd.csv       the same for val (and AVVP_test_pd.csv for test)
    OUT/data/AVVP_eval_audio.csv   filename, onset, offset, event_labels: audio events of val and test,
    OUT/data/AVVP_eval_visual.csv  visual events, in whole seconds (one row per run of labelled segments)
    OUT/LLP_dataset/video/<filename>.mp4

``filename`` is ``<id>_0_<duration>`` as in LLP's ``<youtube id>_<start>_<end>``. Segment labels come
from the ground truth's per-second labels (a class labels a second that it covers for at least 0.5 s).
"""

from __future__ import annotations

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

__all__ = ["export_llp"]

_WEAK = {"train": "AVVP_train.csv", "val": "AVVP_val_pd.csv", "test": "AVVP_test_pd.csv"}


def _rows(name: str, per_second: list[list[str]]) -> list[tuple[str, int, int, str]]:
    labels = sorted({c for second in per_second for c in second})
    rows = [(name, a, b, c) for c in labels for a, b in runs(c in second for second in per_second)]
    return sorted(rows, key=lambda r: (r[1], r[3]))


def export_llp(src: str | os.PathLike[str], out: str | os.PathLike[str], progress: Progress = None) -> Path:
    """Write the AVSynth set in ``src`` in the LLP layout under ``out`` and return ``out``."""
    root = Path(out)
    samples = source_samples(src)
    weak: dict[str, list[str]] = {k: [] for k in _WEAK}
    evals: dict[str, list[str]] = {"audio": [], "visual": []}
    for k, sample in enumerate(samples, start=1):
        split = split_of(sample)
        if split is None:
            continue
        t = targets(sample)
        name = f"{sample.id}_0_{round(t['duration'])}"
        seg = t["segment_labels"]
        labels = sorted({c for m in ("audio", "visual") for second in seg[m] for c in second})
        weak[split].append(f"{name}\t{','.join(labels)}")
        if split != "train":
            for modality in evals:
                evals[modality] += [f"{n}\t{a}\t{b}\t{c}" for n, a, b, c in _rows(name, seg[modality])]
        copy_file(Path(src) / sample.media.path, root / "LLP_dataset" / "video" / f"{name}.mp4")
        if progress is not None:
            progress(k, len(samples))
    for split, file in _WEAK.items():
        write_text(
            root / "data" / file, "".join(f"{line}\n" for line in ["filename\tevent_labels", *weak[split]])
        )
    for modality, lines in evals.items():
        header = "filename\tonset\toffset\tevent_labels"
        write_text(root / "data" / f"AVVP_eval_{modality}.csv", "".join(f"{x}\n" for x in [header, *lines]))
    return root
