from __future__ import annotations

import json
from fractions import Fraction

import pytest

from avikit.data import (
    DatasetCard,
    MediaRef,
    Provenance,
    Sample,
    atomic_writer,
    iter_manifest,
    read_card,
    read_manifest,
    write_card,
    write_manifest,
)


def _sample(i: int = 0) -> Sample:
    return Sample(
        id=f"s{i}",
        dataset="demo",
        split="test",
        media=MediaRef("clips/a.mp4", start=Fraction(1, 3), duration=2.5),
        provenance=Provenance("demo", "CC0-1.0", {"faces": False}, {"seed": 1}),
        targets={"labels": ["dog"], "events": {"audio": [{"onset": 0.5, "offset": 1}]}},
    )


def test_sample_round_trip_is_exact():
    s = _sample()
    back = Sample.from_dict(json.loads(s.to_json()))
    assert back == s
    assert back.media.start == Fraction(1, 3)
    assert back.media.end == Fraction(1, 3) + Fraction(5, 2)


def test_sample_is_a_read_only_record():
    s = _sample()
    with pytest.raises(TypeError):
        s.targets["labels"] = []  # type: ignore[index]
    assert s.target("labels") == ["dog"]
    with pytest.raises(KeyError, match="has no target 'masks'; it has"):
        s.target("masks")


def test_unknown_and_missing_fields_are_errors():
    data = _sample().to_dict()
    with pytest.raises(ValueError, match="unknown sample field"):
        Sample.from_dict({**data, "extra": 1})
    with pytest.raises(ValueError, match="missing required field"):
        Sample.from_dict({k: v for k, v in data.items() if k != "media"})
    with pytest.raises(ValueError, match="valid fields are"):
        MediaRef.from_dict({"path": "a", "begin": 0})
    with pytest.raises(TypeError, match="JSON-able"):
        Sample("a", "d", "s", MediaRef("a"), Provenance("x", "y"), {"x": object()})


def test_manifest_is_lazy_and_round_trips(tmp_path):
    path = write_manifest(tmp_path / "m.jsonl", (_sample(i) for i in range(5)))
    it = iter_manifest(path)
    assert next(it).id == "s0"
    assert [s.id for s in read_manifest(path)] == [f"s{i}" for i in range(5)]


def test_manifest_bad_line_names_the_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(_sample().to_json() + "\n" + '{"id": 1}\n')
    with pytest.raises(ValueError, match=r"m.jsonl:2"):
        read_manifest(path)


def test_cut_short_write_leaves_nothing(tmp_path):
    def broken():
        yield _sample()
        raise RuntimeError("cut short")

    with pytest.raises(RuntimeError):
        write_manifest(tmp_path / "m.jsonl", broken())
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(KeyboardInterrupt), atomic_writer(tmp_path / "x.bin", "wb") as f:
        f.write(b"partial")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_card_round_trip_and_strictness(tmp_path):
    card = DatasetCard("d", "1", "desc", "made", "CC0-1.0", {"seed": 0}, {"test": 2}, {"dog": 1})
    assert read_card(write_card(tmp_path / "card.json", card)) == card
    (tmp_path / "bad.json").write_text(json.dumps({**card.to_dict(), "colour": 1}))
    with pytest.raises(ValueError, match="unknown dataset card field"):
        read_card(tmp_path / "bad.json")
