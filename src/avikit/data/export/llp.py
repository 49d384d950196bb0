"""Export to the LLP / AVVP layout (Tian et al., ECCV 2020; YapengTian/AVVP-ECCV20).

Layout (tab-separated, header first), as the official repository and its scripts expect it::

    OUT/data/AVVP_train.csv            filename, event_labels (comma-joined video-level labels)
    OUT/data/AVVP_val_pd.csv           the same for val (and AVVP_test_pd.csv for test)
    OUT/data/AVVP_dataset_full.csv     every row of the three (what scripts/download_dataset.py reads)
    OUT/data/AVVP_eval_audio.csv       filename, onset, offset, event_labels: audio events of val and test,
    OUT/data/AVVP_eval_visual.csv      visual events, in whole seconds (one row per run of labelled segments)
    OUT/data/LLP_dataset/video/<id>.mp4
    OUT/avsynth_ids.tsv                filename, AVSynth sample id (not part of LLP: the way back)

``filename`` is ``<id>_0_<duration>`` as in LLP's ``<YouTube id>_<start>_<end>``. The official code keys
everything on the first 11 characters (``row[0][:11]``: video, audio and feature files are ``<id>.mp4``,
``<id>.wav``, ``<id>.npy``), so ``id`` is an 11-character YouTube-style id made from the AVSynth id
(:func:`llp_video_id`), unique over the whole export. Segment labels come from the ground truth's
per-second labels (a class labels a second that it covers for at least 0.5 s).
"""

from __future__ import annotations

import hashlib
import os
import string
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
from avikit.errors import DataError

__all__ = ["export_llp", "llp_video_id"]

_WEAK = {"train": "AVVP_train.csv", "val": "AVVP_val_pd.csv", "test": "AVVP_test_pd.csv"}
_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 11


def llp_video_id(sample_id: str) -> str:
    """Return the 11-character id (letters and digits) under which a sample is exported to LLP.

    The id is the first 11 base-62 digits of the SHA-256 of ``sample_id``: the same sample always gets the
    same id, whatever else is exported with it.

    Example:
        >>> llp_video_id("test_000001") == llp_video_id("test_000001"), len(llp_video_id("val_000000"))
        (True, 11)
    """
    value = int.from_bytes(hashlib.sha256(sample_id.encode("utf-8")).digest(), "big")
    digits = []
    for _ in range(_ID_LENGTH):
        value, digit = divmod(value, len(_ALPHABET))
        digits.append(_ALPHABET[digit])
    return "".join(digits)


def _rows(name: str, per_second: list[list[str]]) -> list[tuple[str, int, int, str]]:
    labels = sorted({c for second in per_second for c in second})
    rows = [(name, a, b, c) for c in labels for a, b in runs(c in second for second in per_second)]
    return sorted(rows, key=lambda r: (r[1], r[3]))


def _table(path: Path, header: str, lines: list[str]) -> None:
    write_text(path, "".join(f"{line}\n" for line in [header, *lines]))


def _write_tables(
    root: Path, weak: dict[str, list[str]], evals: dict[str, list[str]], owners: dict[str, str]
) -> None:
    """Write the weak, full and dense CSVs, and the map from file names back to AVSynth ids."""
    header = "filename\tevent_labels"
    for split, file in _WEAK.items():
        _table(root / "data" / file, header, weak[split])
    every = [line for split in _WEAK for line in weak[split]]
    _table(root / "data" / "AVVP_dataset_full.csv", header, every)
    for modality, lines in evals.items():
        _table(root / "data" / f"AVVP_eval_{modality}.csv", "filename\tonset\toffset\tevent_labels", lines)
    names = [line.split("\t", 1)[0] for line in every]
    back = [f"{name}\t{owners[name[:_ID_LENGTH]]}" for name in names]
    _table(root / "avsynth_ids.tsv", "filename\tavsynth_id", back)


def export_llp(src: str | os.PathLike[str], out: str | os.PathLike[str], progress: Progress = None) -> Path:
    """Write the AVSynth set in ``src`` in the LLP layout under ``out`` and return ``out``.

    Raises:
        DataError: two sample ids of the set get the same 11-character id (a SHA-256 prefix collision).
    """
    root = Path(out)
    samples = source_samples(src)
    weak: dict[str, list[str]] = {k: [] for k in _WEAK}
    evals: dict[str, list[str]] = {"audio": [], "visual": []}
    owners: dict[str, str] = {}
    for k, sample in enumerate(samples, start=1):
        split = split_of(sample)
        if split is None:
            continue
        video_id = llp_video_id(sample.id)
        if owners.setdefault(video_id, sample.id) != sample.id:
            raise DataError(
                f"{src}: samples {owners[video_id]!r} and {sample.id!r} both map to the LLP id {video_id!r}; "
                "rename one of them"
            )
        t = targets(sample)
        name = f"{video_id}_0_{round(t['duration'])}"
        seg = t["segment_labels"]
        labels = sorted({c for m in ("audio", "visual") for second in seg[m] for c in second})
        weak[split].append(f"{name}\t{','.join(labels)}")
        if split != "train":
            for modality in evals:
                evals[modality] += [f"{n}\t{a}\t{b}\t{c}" for n, a, b, c in _rows(name, seg[modality])]
        copy_file(Path(src) / sample.media.path, root / "data" / "LLP_dataset" / "video" / f"{video_id}.mp4")
        if progress is not None:
            progress(k, len(samples))
    _write_tables(root, weak, evals, owners)
    return root
