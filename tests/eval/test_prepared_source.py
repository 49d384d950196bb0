"""Evaluation data from a folder written by `avikit data prepare`: its card, and the subset it states."""

from __future__ import annotations

from pathlib import Path

import pytest

from avikit.data.datasets import DATASETS
from avikit.data.export import export_dataset
from avikit.data.governance import LicenceError, check_allowed_use
from avikit.data.prepared import subset_digest
from avikit.data.synth import prepare_avsynth
from avikit.eval.source import load_eval_data


@pytest.fixture(scope="module")
def prepared_llp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AVSynth written in LLP's official layout, one clip's media deleted, then prepared as LLP."""
    synth = tmp_path_factory.mktemp("avsynth")
    prepare_avsynth(synth, {"train": 2, "val": 2, "test": 4}, seed=0)
    official = tmp_path_factory.mktemp("llp-official")
    export_dataset(synth, official, "llp")
    first_test = (official / "data" / "AVVP_test_pd.csv").read_text().splitlines()[1][:11]
    (official / "data" / "LLP_dataset" / "video" / f"{first_test}.mp4").unlink()  # a taken-down video
    out = tmp_path_factory.mktemp("llp-prepared")
    DATASETS["llp"].prepare(official, out, check_classes=False)
    return out


def test_missing_media_is_left_out_and_the_subset_is_stated(prepared_llp: Path) -> None:
    data = load_eval_data(prepared_llp, split="test")
    listed = (prepared_llp / "test.missing.txt").read_text().split()
    assert len(listed) == 1 and listed[0] not in {s.id for s in data.samples}
    assert data.subset == {
        "split": "test",
        "samples": len(data.samples),
        "ids_sha256": subset_digest(s.id for s in data.samples),
        "missing_media": 1,
    }
    assert data.subset["samples"] == 3


def test_the_card_is_the_prepared_croissant_card_and_governs_use(prepared_llp: Path) -> None:
    data = load_eval_data(prepared_llp, split="test")
    assert data.card["name"] == "llp" and data.card["license"] == DATASETS["llp"].card()["license"]
    with pytest.raises(LicenceError, match="NOASSERTION"):
        check_allowed_use(data.card, "commercial")


def test_in_memory_avsynth_states_its_subset_too() -> None:
    data = load_eval_data(None, split="test", num_samples=3)
    assert data.subset["samples"] == 3 and data.subset["missing_media"] == 0
