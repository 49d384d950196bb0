"""Croissant cards: every registered dataset's card and every prepared folder's card validate with mlcroissant."""

from __future__ import annotations

import pytest

from avikit.data.croissant import (
    CardFile,
    DatasetInfo,
    build_croissant,
    read_croissant,
    validate_croissant,
    write_croissant,
)
from avikit.data.datasets import DATASETS

mlcroissant = pytest.importorskip("mlcroissant")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REQUIRED = (
    "license",
    "url",
    "citeAs",
    "distribution",
    "rai:dataLimitations",
    "rai:personalSensitiveInformation",
    "avikit:usage",
)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_registered_cards_are_valid_croissant(name):
    card = DATASETS[name].card()
    assert all(key in card for key in REQUIRED)
    warnings = validate_croissant(card)
    assert all("datePublished" in w for w in warnings), warnings


def test_card_states_hashes_counts_issues_and_restrictions():
    card = DATASETS["llp"].card()
    files = {f["name"]: f for f in card["distribution"]}
    assert (
        files["AVVP_eval_audio.csv"]["sha256"]
        == "d5435664668bec6e7eafb39059d2f424ed2682f6b55395262fc3cb691b7d0778"
    )
    assert card["avikit:counts"] == {"train": 10000, "val": 649, "test": 1200, "classes": 25}
    assert any("2024-04-16" in issue for issue in card["rai:dataLimitations"])
    assert card["avikit:usage"] == {
        "nonCommercial": True,
        "researchOnly": True,
        "redistribution": False,
        "containsFaces": True,
        "containsVoices": True,
    }
    assert "faces and voices" in card["rai:personalSensitiveInformation"]


def test_file_without_published_hash_is_a_file_set_and_round_trip(tmp_path):
    info = DatasetInfo(
        "demo",
        "Demo",
        "d",
        "https://example.org",
        "CC0-1.0",
        "@misc{d}",
        "v1",
        files=(CardFile("a.csv", "https://example.org/a.csv", "text/csv"),),
    )
    card = build_croissant(info, subsets={"test": {"samples": 2, "ids_sha256": "0" * 64}})
    assert card["distribution"][0]["@type"] == "cr:FileSet"
    validate_croissant(card)
    assert read_croissant(write_croissant(tmp_path / "c.json", card)) == card


def test_invalid_card_is_reported(tmp_path):
    card = DATASETS["ave"].card()
    card["distribution"] = [
        {"@type": "cr:FileObject", "@id": "x", "name": "x", "contentUrl": "x", "encodingFormat": "text/plain"}
    ]
    with pytest.raises(ValueError, match=r"(?s)not valid Croissant.*md5.*sha256"):
        validate_croissant(card)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a Croissant dataset card"):
        read_croissant(tmp_path / "bad.json")
