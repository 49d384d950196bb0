from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from avikit.data import read_manifest
from avikit.data.export import EXPORTERS, avss_palette, export_dataset
from avikit.data.export._common import read_image
from avikit.data.synth import CLASS_NAMES
from avikit.media import probe


@pytest.fixture(scope="module")
def samples(synth_dir):
    return {s.id: s for s in read_manifest(synth_dir / "manifest.jsonl")}


def test_ave_layout(synth_dir, samples, tmp_path, reference_data):
    root = export_dataset(synth_dir, tmp_path, "ave")
    lines = (root / "Annotations.txt").read_text().splitlines()
    assert lines, "no clip with one audio-visual event"
    reference = (reference_data / "ave" / "Annotations.txt").read_text().splitlines()[0].split("&")
    assert len(reference) == 5
    per_split = sum(
        len((root / f).read_text().splitlines()) for f in ("trainSet.txt", "valSet.txt", "testSet.txt")
    )
    assert per_split == len(lines)
    for line in lines:
        category, video, quality, start, end = line.split("&")
        avel = samples[video].target("avel")
        assert quality == "good" and all(avel[k] == category for k in range(int(start), int(end)))
        assert (root / "AVE" / f"{video}.mp4").is_file()


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_llp_layout_matches_the_reference_files(synth_dir, samples, tmp_path, reference_data):
    root = export_dataset(synth_dir, tmp_path, "llp")
    for name in (
        "AVVP_train.csv",
        "AVVP_val_pd.csv",
        "AVVP_test_pd.csv",
        "AVVP_eval_audio.csv",
        "AVVP_eval_visual.csv",
    ):
        ours = (root / "data" / name).read_text().splitlines()[0]
        assert ours == (reference_data / "llp" / name).read_text().splitlines()[0], name
    back = {row["filename"]: row["avsynth_id"] for row in _tsv(root / "avsynth_ids.tsv")}
    audio = _tsv(root / "data" / "AVVP_eval_audio.csv")
    for row in audio:
        sample = samples[back[row["filename"]]]
        seg = sample.target("segment_labels")["audio"]
        assert all(row["event_labels"] in seg[k] for k in range(int(row["onset"]), int(row["offset"])))
    weak = _tsv(root / "data" / "AVVP_test_pd.csv")
    assert len(weak) == 8  # test + open_test
    assert all(set(r["event_labels"].split(",")) <= set(CLASS_NAMES) for r in weak)
    assert (root / "data" / "LLP_dataset" / "video" / f"{weak[0]['filename'][:11]}.mp4").is_file()


def test_music_avqa_layout_matches_the_reference_file(synth_dir, samples, tmp_path, reference_data):
    root = export_dataset(synth_dir, tmp_path, "music-avqa")
    test = json.loads((root / "data" / "json" / "avqa-test.json").read_text())
    ref = reference_data / "music-avqa" / "avqa-test.json"
    assert list(test[0]) == list(json.loads(ref.read_text())[0])
    assert "anser" in test[0] and json.loads(test[0]["type"])[0] in ("Audio", "Visual", "Audio-Visual")
    ids = [
        q["question_id"]
        for name in ("train", "val", "test")
        for q in json.loads((root / "data" / "json" / f"avqa-{name}.json").read_text())
    ]
    assert len(ids) == len(set(ids))
    q = test[0]
    assert any(
        x["answer"] == q["anser"] and x["question_content"] == q["question_content"]
        for x in samples[q["video_id"]].target("qa")
    )


def test_unav100_layout(synth_dir, samples, tmp_path):
    root = export_dataset(synth_dir, tmp_path, "unav100")
    db = json.loads((root / "annotations" / "unav100_annotations.json").read_text())["database"]
    assert {v["subset"] for v in db.values()} == {"train", "validation", "test"}
    for vid, item in db.items():
        events = samples[vid].target("events")["audio_visual"]
        assert [a["segment"] for a in item["annotations"]] == [[e["onset"], e["offset"]] for e in events]
        assert all(CLASS_NAMES[a["label_id"]] == a["label"] for a in item["annotations"])


def test_avsbench_s4_and_ms3_layouts(synth_dir, tmp_path):
    for variant in ("s4", "ms3"):
        base = export_dataset(synth_dir, tmp_path / variant, f"avsbench-{variant}")
        with (base / f"{variant}_meta_data.csv").open() as f:
            meta = list(csv.DictReader(f))
        if not meta:
            continue
        row = meta[0]
        name = row["name"] if variant == "s4" else row["video_id"]
        where = Path(row["split"]) / row["category"] / name if variant == "s4" else Path(row["split"]) / name
        frame_dir = base / f"{variant}_data" / "visual_frames" / (where if variant == "s4" else Path(name))
        frames = sorted(frame_dir.iterdir())
        assert len(frames) == 5 and frames[0].name == (
            f"{name}_1.png" if variant == "s4" else f"{name}.mp4_1.png"
        )
        masks = sorted((base / f"{variant}_data" / "gt_masks" / where).iterdir())
        assert len(masks) == (1 if variant == "s4" and row["split"] == "train" else 5)
        mask = read_image(masks[0])
        assert mask.shape == (128, 128) and set(np.unique(mask)) <= {0, 255}
        wav = base / f"{variant}_data" / "audio_wav" / where.parent / f"{name}.wav"
        assert abs(probe(wav).duration - 5.0) < 1e-3


def test_avsbench_avss_layout(synth_dir, tmp_path):
    base = export_dataset(synth_dir, tmp_path, "avsbench-avss")
    with (base / "metadata.csv").open() as f:
        meta = list(csv.DictReader(f))
    assert list(meta[0]) == ["vid", "uid", "s_min", "s_sec", "a_obj", "split", "label"]
    label2idx = json.loads((base / "label2idx.json").read_text())
    assert label2idx["background"] == 0 and len(label2idx) == len(CLASS_NAMES) + 1
    palette = avss_palette()
    for row in meta:
        folder = base / row["label"] / row["uid"]
        semantic = read_image(folder / "labels_semantic" / "3.png")
        colour = read_image(folder / "labels_rgb" / "3.png")
        assert np.array_equal(palette[semantic], colour)
        assert len(list((folder / "frames").glob("*.jpg"))) == 10
        present = {CLASS_NAMES[i - 1] for i in np.unique(semantic) if i}
        assert present <= set(row["a_obj"].split("_"))


def test_every_format_is_registered():
    assert set(EXPORTERS) == {
        "ave",
        "llp",
        "unav100",
        "avsbench-s4",
        "avsbench-ms3",
        "avsbench-avss",
        "music-avqa",
    }
