"""VGGSound, VGG-SS and Flickr-SoundNet end to end: the official layouts (the dataset fixtures) with real
media written here, prepared by their recipes, run by `eval run` and scored from prediction files.

The expected scores are closed forms over the fixtures' own annotations: the truth scores 1, a constant
guess scores the share it matches. Ground-truth maps are drawn here from the published boxes with the
official rules (EZ-VSL ``testset_gt`` for VGG-SS, LVS ``test.py`` for Flickr-SoundNet), independently of the
task code.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from avikit.data.datasets import DATASETS
from avikit.data.images import write_image
from avikit.data.synth import generate
from avikit.eval.runner import RunConfig, run_evaluation
from avikit.eval.score import score_predictions
from avikit.media import save
from tests.data.datasets.conftest import official  # noqa: F401 (the fixture, used by name)


def _write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _clip(index: int):
    return generate("test", index)[1]


def test_vggsound_classification_and_retrieval(official: object, tmp_path: Path) -> None:  # noqa: F811
    root = official("vggsound")  # type: ignore[operator]
    with (root / "vggsound.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    test = {f"{ytid}_{int(start):06d}": label for ytid, start, label, split in rows if split == "test"}
    for k, sample_id in enumerate(test):
        save(_clip(k), root / "video" / f"{sample_id}.mp4")
    prepared = tmp_path / "prepared"
    DATASETS["vggsound"].prepare(root, prepared)
    classes = sorted({label for _, _, label, _ in rows})
    config = RunConfig(tasks=("classification", "retrieval"), models=("oracle", "avikit/classification"),
                       dataset=str(prepared))  # fmt: skip
    cells = {(c["task"], c["model_id"]): c for c in run_evaluation(config, tmp_path / "run")["cells"]}
    assert cells[("classification", "oracle")]["scores"]["top1_accuracy"] == 1.0
    assert cells[("retrieval", "oracle")]["scores"]["audio_to_video_r1"] == 1.0
    model = cells[("classification", "avikit/classification")]
    assert model["complete"] and model["resampled"]["frames"].startswith("1 fps at 224x224 px")
    truth = [
        {"id": i, "scores": np.eye(len(classes))[classes.index(label)].tolist()} for i, label in test.items()
    ]
    report = score_predictions("classification", prepared, _write(tmp_path / "o.jsonl", truth))
    assert report.count == 3 and report.scores["top1_accuracy"] == 1.0
    flat = [{"id": i, "scores": [0.0] * len(classes)} for i in test]  # ties: the first class wins
    report = score_predictions("classification", prepared, _write(tmp_path / "flat.jsonl", flat))
    assert report.scores["top1_accuracy"] == pytest.approx(
        np.mean([lab == classes[0] for lab in test.values()])
    )


def _still_frame_media(root: Path, ids: list[str]) -> None:
    for k, file_id in enumerate(ids):
        clip = _clip(k)
        write_image(root / "frames" / f"{file_id}.jpg", clip.frames[40])
        save(clip.with_frames(None), root / "audio" / f"{file_id}.wav")


def _ezvsl_map(boxes: list[list[float]]) -> np.ndarray:
    gt = np.zeros((224, 224))
    for box in boxes:
        x1, y1, x2, y2 = (np.clip(np.array(box), 0, 1) * 224).astype(int)
        gt[y1:y2, x1:x2] = 1
    return gt


def _lvs_map(xml: Path) -> np.ndarray:
    gt = np.zeros((224, 224))
    for annotator in ET.parse(xml).getroot():
        for box in annotator:
            if box.tag == "bbox":
                x1, y1, x2, y2 = (int(224 * int(v.text or 0) / 256) for v in list(box)[1:])
                gt[y1:y2, x1:x2] += 1
    return np.minimum(gt / 2, 1)


@pytest.mark.parametrize("name", ["vggss", "flickr-soundnet"])
def test_still_frame_source_localization(official: object, tmp_path: Path, name: str) -> None:  # noqa: F811
    root = official(name.replace("-", "_"))  # type: ignore[operator]
    listed = (root / "metadata" / ("vggss_test.csv" if name == "vggss" else "flickr_test.csv")).read_text()
    ids = [line.split(",")[0].strip() for line in listed.splitlines() if line.strip()]
    _still_frame_media(root, ids)
    prepared = tmp_path / "prepared"
    DATASETS[name].prepare(root, prepared)
    config = RunConfig(tasks=("source-localization",), models=("oracle", "avikit/source-localization"),
                       dataset=str(prepared))  # fmt: skip
    cells = {c["model_id"]: c for c in run_evaluation(config, tmp_path / "run")["cells"]}
    assert cells["oracle"]["scores"]["ciou"] == 1.0 and cells["oracle"]["count"] == len(ids)
    assert cells["avikit/source-localization"]["complete"]
    assert cells["avikit/source-localization"]["resampled"]["frames"].startswith("1 fps at 224x224 px")
    if name == "vggss":
        boxes = {row["file"]: row["bbox"] for row in json.loads((root / "metadata/vggss.json").read_text())}
        maps = {i: _ezvsl_map(boxes[i]) for i in ids}
    else:
        maps = {i: _lvs_map(root / "Annotations" / f"{i}.xml") for i in ids}
    support = [{"id": i, "heatmap": (m > 0).astype(float).tolist()} for i, m in maps.items()]
    assert score_predictions("source-localization", prepared, _write(tmp_path / "s.jsonl", support)).scores[
        "ciou"
    ] == 1.0  # fmt: skip
    full = [{"id": i, "heatmap": [[1.0]]} for i in ids]  # one cell: the whole frame is the mask
    report = score_predictions("source-localization", prepared, _write(tmp_path / "f.jsonl", full))
    expected = [m.sum() / (m.sum() + (m == 0).sum()) for m in maps.values()]  # cIoU of a full mask
    assert report.scores["mean_ciou"] == pytest.approx(np.mean(expected), abs=1e-12)


def test_audioset_multilabel_classification_and_retrieval(official: object, tmp_path: Path) -> None:  # noqa: F811
    """The eval segments with real media: the truth scores mAP 1; scores that rank every clip's true classes
    below the other clip give each of the two classes present AP 1/2 (its one positive at rank 2 of 2)."""
    root = official("audioset")  # type: ignore[operator]
    lines = (root / "eval_segments.csv").read_text().splitlines()
    rows = [next(csv.reader([line], skipinitialspace=True)) for line in lines if not line.startswith("#")]
    labels = {f"{ytid}_{int(float(start))}": mids.split(",") for ytid, start, _, mids in rows}
    for k, sample_id in enumerate(labels):
        save(_clip(k), root / "eval" / f"{sample_id}.mp4")
    prepared = tmp_path / "prepared"
    DATASETS["audioset"].prepare(root, prepared)
    with (root / "class_labels_indices.csv").open(newline="") as f:
        mids = [row["mid"] for row in csv.DictReader(f)]
    config = RunConfig(tasks=("classification-multilabel", "retrieval"), split="eval", dataset=str(prepared),
                       models=("oracle", "avikit/classification"))  # fmt: skip
    cells = {(c["task"], c["model_id"]): c for c in run_evaluation(config, tmp_path / "run")["cells"]}
    assert cells[("classification-multilabel", "oracle")]["scores"]["map"] == 1.0
    assert cells[("retrieval", "oracle")]["scores"]["audio_to_video_r1"] == 1.0
    model = cells[("classification-multilabel", "avikit/classification")]
    assert model["complete"] and model["count"] == 2
    assert model["resampled"]["frames"].startswith("1 fps at 224x224 px")
    truth = {i: [float(m in positives) for m in mids] for i, positives in labels.items()}
    right = [{"id": i, "scores": t} for i, t in truth.items()]
    report = score_predictions("classification-multilabel", prepared, _write(tmp_path / "t.jsonl", right),
                               split="eval")  # fmt: skip
    assert report.count == 2 and report.scores["map"] == 1.0
    wrong = [{"id": i, "scores": [1.0 - v for v in t]} for i, t in truth.items()]
    report = score_predictions("classification-multilabel", prepared, _write(tmp_path / "w.jsonl", wrong),
                               split="eval")  # fmt: skip
    assert report.scores["map"] == pytest.approx(0.5)
