"""Issue 15: the LLP export in the official layout, keyed on unique 11-character YouTube-style ids.

The export is parsed the way YapengTian/AVVP-ECCV20 (fde56118f2) parses LLP: ``dataloader.py`` reads each
weak CSV with a header and tabs, keys a row on ``row[0][:11]`` and its labels on ``row[-1].split(',')``;
``scripts/download_dataset.py`` reads ``data/AVVP_dataset_full.csv`` and takes the start time from
``row[0][11:].split('_')[1]``; the videos are ``data/LLP_dataset/video/<id>.mp4`` and the frame and feature
scripts name their outputs by the video file name without ``.mp4``; ``main_avvp.py`` selects the dense rows
of a video by ``filename`` equality with the weak CSV's first field.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from avikit.data import read_manifest
from avikit.data.export import export_dataset
from avikit.data.export.llp import llp_video_id

_WEAK = {"train": "AVVP_train.csv", "val": "AVVP_val_pd.csv", "test": "AVVP_test_pd.csv"}


def _table(path: Path) -> list[list[str]]:
    """Rows after the header, tab-separated, as ``pd.read_csv(path, header=0, sep='\\t')`` gives them."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    return rows[1:]


@pytest.fixture(scope="module")
def exported(synth_dir, tmp_path_factory):
    return export_dataset(synth_dir, tmp_path_factory.mktemp("llp"), "llp")


def test_ids_are_eleven_characters_and_unique_per_split_and_overall(exported, synth_dir):
    keys: dict[str, list[str]] = {}
    for split, name in _WEAK.items():
        rows = _table(exported / "data" / name)
        assert rows, split
        keys[split] = [row[0][:11] for row in rows]  # dataloader.py: name = row[0][:11]
        assert len(set(keys[split])) == len(rows), f"{split}: ids collide after truncation to 11 characters"
        for row in rows:
            assert row[0][11] == "_" and row[0][11:].split("_")[1] == "0"  # download_dataset.py: t_start
    every = [k for split in keys.values() for k in split]
    assert len(set(every)) == len(every)
    assert all(len(k) == 11 and k.isalnum() and k.isascii() for k in every)
    listed = {s.id for s in read_manifest(synth_dir / "manifest.jsonl") if s.split != "long"}
    assert {llp_video_id(i) for i in listed} == set(every)


def test_official_file_names_and_folders(exported):
    video = exported / "data" / "LLP_dataset" / "video"
    weak = {row[0] for name in _WEAK.values() for row in _table(exported / "data" / name)}
    assert sorted(p.name for p in video.iterdir()) == sorted(f"{name[:11]}.mp4" for name in weak)
    assert not (exported / "LLP_dataset").exists()
    full = _table(exported / "data" / "AVVP_dataset_full.csv")
    assert sorted(row[0] for row in full) == sorted(weak)
    for row in full:  # download_dataset.py: the clip's start and end
        assert float(row[0][11:].split("_")[1]) + 10 == 10.0


def test_dense_rows_select_listed_videos_and_map_back_to_the_source(exported, synth_dir):
    truth = {s.id: s for s in read_manifest(synth_dir / "manifest.jsonl")}
    back = {row[0]: row[1] for row in _table(exported / "avsynth_ids.tsv")}
    listed = {row[0] for split in ("val", "test") for row in _table(exported / "data" / _WEAK[split])}
    for modality in ("audio", "visual"):
        rows = _table(exported / "data" / f"AVVP_eval_{modality}.csv")
        assert rows and {row[0] for row in rows} <= listed  # main_avvp.py: filename equality
        for filename, onset, offset, label in rows:
            seconds = truth[back[filename]].target("segment_labels")[modality]
            assert all(label in seconds[k] for k in range(int(onset), int(offset)))
