"""MUSIC-AVQA recipe on the real original and updated test files and on a fixture."""

from __future__ import annotations

import json

import pytest

from avikit.data.datasets.music_avqa import prepare_music_avqa
from avikit.data.manifest import read_manifest
from avikit.data.prepared import read_prepared
from tests.data.datasets.conftest import media_file

ORIGINAL = {
    "Audio/Counting": 1022,
    "Audio/Comparative": 601,
    "Visual/Counting": 1199,
    "Visual/Location": 1228,
    "Audio-Visual/Existential": 995,
    "Audio-Visual/Counting": 1274,
    "Audio-Visual/Location": 927,
    "Audio-Visual/Comparative": 1115,
    "Audio-Visual/Temporal": 824,
}
UPDATED = {
    "Audio/Counting": 1017,
    "Audio/Comparative": 594,
    "Visual/Counting": 1197,
    "Visual/Location": 1225,
    "Audio-Visual/Existential": 988,
    "Audio-Visual/Counting": 1265,
    "Audio-Visual/Location": 920,
    "Audio-Visual/Comparative": 1101,
    "Audio-Visual/Temporal": 822,
}


@pytest.mark.parametrize(
    ("annotations", "questions", "types"), [("original", 9185, ORIGINAL), ("updated", 9129, UPDATED)]
)
def test_real_test_files_give_the_official_counts(reference_data, tmp_path, annotations, questions, types):
    manifests = prepare_music_avqa(reference_data / "music-avqa", tmp_path, annotations)
    assert list(manifests) == ["test"]
    entry = read_prepared(tmp_path)["splits"]["test"]
    assert (entry["samples"], entry["found"], entry["questions"]) == (6399, 0, questions)
    assert entry["question_types"] == dict(sorted(types.items()))
    samples = read_manifest(manifests["test"])
    keys = [q["key"] for s in samples for q in s.target("qa")]
    assert len(keys) == len(set(keys)) == questions
    answers = {q["answer"] for s in samples for q in s.target("qa")}
    assert len(answers) == 41  # the test files hold 41 of the 42 answers


def test_repeated_question_ids_get_unique_keys(official, tmp_path):
    root = official("music_avqa")
    media_file(root / "data/video/00005778.mp4")
    manifests = prepare_music_avqa(root, tmp_path / "out")
    assert sorted(manifests) == ["test", "val"]
    record = read_prepared(tmp_path / "out")
    assert (
        record["splits"]["test"]["found"] == 1
        and "1 question id(s) occur more than once" in record["notes"][0]
    )
    video = {s.id: s for s in read_manifest(manifests["test"])}["00005778"]
    qa = video.target("qa")
    assert [(q["key"], q["answer"]) for q in qa] == [("1138", "two"), ("1138#2", "four")]
    assert (
        qa[0]["type"] == ["Audio-Visual", "Counting"]
        and qa[0]["question"] == "How many sounding bagpipe in the video？"
    )
    other = {s.id: s for s in read_manifest(manifests["test"])}["00000086"].target("qa")[0]
    assert other["question"] == "Where is the first sounding instrument?" and other["templ_values"] == [
        "first"
    ]
    updated = read_manifest(prepare_music_avqa(root, tmp_path / "upd", "updated")["test"])
    assert [q["key"] for s in updated for q in s.target("qa")] == ["12", "1138", "28"]


def test_unknown_or_missing_fields_fail(official, tmp_path):
    root = official("music_avqa")
    path = root / "data/json/avqa-test.json"
    rows = json.loads(path.read_text())
    rows[0]["answer"] = rows[0].pop("anser")
    path.write_text(json.dumps(rows))
    with pytest.raises(ValueError, match=r"question 0: unknown field\(s\) \['answer'\]"):
        prepare_music_avqa(root, tmp_path / "out")
    with pytest.raises(ValueError, match="unknown MUSIC-AVQA annotations"):
        prepare_music_avqa(root, tmp_path / "out", "v2")
    with pytest.raises(FileNotFoundError, match="no MUSIC-AVQA original annotation file"):
        prepare_music_avqa(tmp_path, tmp_path / "out")
