"""The real official files of ``shared/reference-data`` scored end to end, and the one real LLP clip run.

Prediction files are written here from the official files themselves (parsed independently of the recipes
and tasks), so a score checks the whole path: recipe -> manifest -> bound task -> targets -> metric. Their
expected values are closed forms over the same files (the truth scores 1 or 100; a constant answer scores
the share of the truth it matches).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from avikit.data.datasets import DATASETS
from avikit.data.profile import read_profile
from avikit.eval.runner import RunConfig, read_cell_records, run_evaluation
from avikit.eval.score import score_predictions
from avikit.eval.source import load_eval_data
from avikit.metrics import compute_avvp_scores, compute_avvp_statistics
from avikit.metrics.avqa import AVQA_QUESTION_TYPES
from avikit.tasks import PredictionError, get_task
from tests.data.datasets.conftest import link_reference


def _write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


# ------------------------------------------------------------------------------------------------------- AVE


def _ave_lines(reference: Path) -> list[tuple[str, str, int, int]]:
    text = (reference / "ave/Annotations.txt").read_text(encoding="utf-8-sig").splitlines()
    rows = [line.split("&") for line in text if line and line != "Category&VideoID&Quality&StartTime&EndTime"]
    videos = Counter(video for _, video, *_ in rows)
    return [(f"{v}#{c}" if videos[v] > 1 else v, c, int(a), int(b)) for c, v, _, a, b in rows]


def test_ave_annotations_scored_from_prediction_files(reference_data: Path, tmp_path: Path) -> None:
    prepared = tmp_path / "ave"
    DATASETS["ave"].prepare(reference_data / "ave", prepared)  # no split files: one split "all", no media
    lines = _ave_lines(reference_data)
    truth = [
        {"id": i, "labels": [c if a <= k < b else "background" for k in range(10)]} for i, c, a, b in lines
    ]
    kwargs = {"split": "all", "missing_media": "keep"}
    oracle = score_predictions("avel", prepared, _write(tmp_path / "oracle.jsonl", truth), **kwargs)
    assert (oracle.count, oracle.scores["accuracy"]) == (4143, 1.0)
    background = [{"id": row["id"], "labels": ["background"] * 10} for row in truth]
    report = score_predictions("avel", prepared, _write(tmp_path / "bg.jsonl", background), **kwargs)
    share = sum(10 - (b - a) for _, _, a, b in lines) / (10 * len(lines))
    assert report.scores["accuracy"] == pytest.approx(share, abs=1e-12)
    with pytest.raises(ValueError, match="none of the 4143 'all' samples has its media"):  # nothing to score
        score_predictions("avel", prepared, tmp_path / "bg.jsonl", split="all")


# ------------------------------------------------------------------------------------------------------- LLP


@pytest.fixture(scope="module")
def llp(reference_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real CSVs in the repository layout, the one real clip where the download script puts it."""
    root = tmp_path_factory.mktemp("llp-official")
    link_reference(reference_data, "llp", root / "data")
    (root / "data/BjCEufrlXm4.mp4").unlink()
    (root / "data/LLP_dataset/video").mkdir(parents=True)
    (root / "data/LLP_dataset/video/BjCEufrlXm4.mp4").symlink_to(reference_data / "llp/BjCEufrlXm4.mp4")
    out = tmp_path_factory.mktemp("llp")
    DATASETS["llp"].prepare(root, out)
    return out


def _llp_segments(reference: Path, modality: str) -> dict[str, list[set[str]]]:
    """Per test video, the labels of each second, read straight from AVVP_eval_<modality>.csv."""
    with (reference / "llp/AVVP_test_pd.csv").open() as f:
        test = [row["filename"] for row in csv.DictReader(f, delimiter="\t")]
    out = {name: [set() for _ in range(10)] for name in test}
    with (reference / f"llp/AVVP_eval_{modality}.csv").open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            for k in range(int(row["onset"]), int(row["offset"])):
                if row["filename"] in out:
                    out[row["filename"]][k].add(row["event_labels"])
    return out


def test_llp_test_split_scored_from_prediction_files(reference_data: Path, llp: Path, tmp_path: Path) -> None:
    audio, visual = (_llp_segments(reference_data, m) for m in ("audio", "visual"))
    truth = [{"id": v, "audio": [sorted(s) for s in audio[v]], "visual": [sorted(s) for s in visual[v]]}
             for v in audio]  # fmt: skip
    oracle = score_predictions("avvp", llp, _write(tmp_path / "oracle.jsonl", truth), missing_media="keep")
    assert oracle.count == 1200 and all(value == pytest.approx(100.0) for value in oracle.scores.values())
    swapped = [{"id": row["id"], "audio": row["visual"], "visual": row["audio"]} for row in truth]
    report = score_predictions("avvp", llp, _write(tmp_path / "swap.jsonl", swapped), missing_media="keep")
    classes = json.loads((llp / "croissant.json").read_text())["avikit:profile"]["vocabularies"]["classes"]

    def binary(rows: dict[str, list[set[str]]]) -> np.ndarray:
        out = np.zeros((len(rows), len(classes), 10), dtype=np.int64)
        for n, segments in enumerate(rows.values()):
            for k, labels in enumerate(segments):
                out[n, [classes.index(c) for c in labels], k] = 1
        return out

    expected = compute_avvp_scores(
        compute_avvp_statistics(binary(visual), binary(audio), binary(audio), binary(visual))
    )
    assert report.scores == pytest.approx(expected, abs=1e-9)


def test_llp_real_clip_runs_at_the_declared_geometry(llp: Path, tmp_path: Path) -> None:
    """The real clip (320 x 240 at 359/12 fps, AAC 44.1 kHz) decoded at LLP's 8 fps, 224 px and 16 kHz."""
    config = RunConfig(tasks=("classification-multilabel", "sync"), models=("oracle", "avikit/sync"),
                       dataset=str(llp), split="train")  # fmt: skip
    results = run_evaluation(config, tmp_path / "run")
    cells = {(c["task"], c["model_id"]): c for c in results["cells"]}
    assert results["run"]["subset"]["samples"] == 1 and results["run"]["subset"]["missing_media"] == 9999
    assert cells[("classification-multilabel", "oracle")]["scores"]["map"] == 1.0
    sync = cells[("sync", "avikit/sync")]
    assert sync["complete"] and sync["resampled"] == {
        "frames": "8 fps at 224x224 px -> every frame at 8 fps (the frame at or before each 1/8 s) at 64x64 px "
        "(area average)"
    }
    record = read_cell_records(tmp_path / "run", "sync", "avikit/sync", "clean")["BjCEufrlXm4_20_30"]
    assert record["resampled"] == sync["resampled"] and len(record["prediction"]["logits"]) == 21


# ------------------------------------------------------------------------------------------------ MUSIC-AVQA


def test_music_avqa_questions_scored_from_prediction_files(reference_data: Path, tmp_path: Path) -> None:
    """The original test file, with its 55 repeated question ids (each question is scored)."""
    prepared = tmp_path / "avqa"
    DATASETS["music-avqa"].prepare(reference_data / "music-avqa", prepared)
    questions = json.loads((reference_data / "music-avqa/avqa-test.json").read_text())
    per_video: dict[str, list[dict]] = {}
    for q in questions:
        per_video.setdefault(str(q["video_id"]), []).append(q)
    truth = [{"id": v, "answers": [q["anser"] for q in qs]} for v, qs in per_video.items()]
    oracle = score_predictions("avqa", prepared, _write(tmp_path / "o.jsonl", truth), missing_media="keep")
    assert oracle.scores["overall"] == pytest.approx(100.0) and np.isnan(oracle.scores["evidence_iou"])
    two = [{"id": v, "answers": ["two"] * len(qs)} for v, qs in per_video.items()]
    report = score_predictions("avqa", prepared, _write(tmp_path / "two.jsonl", two), missing_media="keep")
    for kind, key in AVQA_QUESTION_TYPES.items():
        chosen = [q for q in questions if tuple(json.loads(q["type"])) == kind]
        share = 100 * sum(q["anser"] == "two" for q in chosen) / len(chosen)
        assert report.scores[key] == pytest.approx(share, abs=1e-9), key
    assert report.scores["overall"] == pytest.approx(100 * np.mean([q["anser"] == "two" for q in questions]))
    with pytest.raises(PredictionError, match="have no prediction"):
        score_predictions("avqa", prepared, _write(tmp_path / "part.jsonl", two[1:]), missing_media="keep")


def test_music_avqa_questions_in_words_and_as_choices(reference_data: Path, tmp_path: Path) -> None:
    """The language tasks on the official questions: the truth scores 100, a constant word the share of the
    truth it matches (no answer in the file is a digit, so VQA normalization changes no match), and every
    multiple-choice question offers its answer among options from the dataset's own answers."""
    prepared = tmp_path / "avqa"
    DATASETS["music-avqa"].prepare(reference_data / "music-avqa", prepared)
    questions = json.loads((reference_data / "music-avqa/avqa-test.json").read_text())
    assert not any(q["anser"].isdigit() for q in questions)
    answers = {q["anser"] for q in questions}
    per_video: dict[str, list[dict]] = {}
    for q in questions:
        per_video.setdefault(str(q["video_id"]), []).append(q)
    truth = [{"id": v, "answers": [q["anser"] for q in qs]} for v, qs in per_video.items()]
    words = score_predictions(
        "avqa-words", prepared, _write(tmp_path / "o.jsonl", truth), missing_media="keep"
    )
    assert words.scores["overall"] == pytest.approx(100.0)
    yes = [{"id": v, "answers": ["yes"] * len(qs)} for v, qs in per_video.items()]
    report = score_predictions(
        "avqa-words", prepared, _write(tmp_path / "y.jsonl", yes), missing_media="keep"
    )
    assert report.scores["overall"] == pytest.approx(100 * np.mean([q["anser"] == "yes" for q in questions]))
    visual = [q for q in questions if json.loads(q["type"])[0] == "Visual"]
    assert report.scores["visual"] == pytest.approx(100 * np.mean([q["anser"] == "yes" for q in visual]))
    task = get_task("avqa-choice").for_dataset(read_profile(prepared), "test")
    fixed = {"zero", "one", "two", "three", "four", "five", "yes", "no", "left", "middle", "right"}
    for sample in load_eval_data(prepared, missing_media="keep").samples[:300]:
        records = task.build_target(sample)["records"]
        assert len(records) == len(per_video[sample.id])
        for record, question in zip(records, per_video[sample.id], strict=True):
            options = record["options"]
            assert options["ABCD".index(record["answer"][1])] == question["anser"]
            assert len(set(options)) == len(options) and set(options) <= {*answers, *fixed}
