"""Runner end to end on a small in-memory AVSynth set: oracle, chance, controls, resume, shards, governance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avikit.eval.cache import CellStore
from avikit.eval.controls import apply_control
from avikit.eval.modality import SingleModality
from avikit.eval.report import build_report
from avikit.eval.runner import RunConfig, run_evaluation
from avikit.models.baselines import ChanceModel, OracleModel
from avikit.models.protocol import Model

TASKS = ("avel", "sync", "classification", "avqa", "dense-localization")
CONFIG = RunConfig(tasks=TASKS, models=("oracle", "chance"), num_samples=6, batch_size=2)


class KilledError(BaseException):
    """A kill (like KeyboardInterrupt): not a model failure, so it is not recorded as one."""


class Flaky(OracleModel):
    """The oracle, killed after a number of predict calls."""

    def __init__(self, calls: int) -> None:
        self.left = calls

    def predict(self, task, batch):
        if self.left == 0:
            raise KilledError
        self.left -= 1
        return super().predict(task, batch)


class Counting(OracleModel):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def predict(self, task, batch):
        self.seen += [(task.name, item.key) for item in batch]
        return super().predict(task, batch)


class Looking(OracleModel):
    """The oracle when it can see and hear (non-silent audio, non-black frames), else chance."""

    id = "looking"

    def __init__(self) -> None:
        self.chance = ChanceModel()

    def predict(self, task, batch):
        good = [float(np.abs(i.waveform).max()) > 0 and int(i.frames.max()) > 0 for i in batch]
        oracle, chance = super().predict(task, batch), self.chance.predict(task, batch)
        return [o if g else c for o, c, g in zip(oracle, chance, good, strict=True)]


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> dict:
    return run_evaluation(CONFIG, tmp_path_factory.mktemp("whole"))


def _scores(results: dict) -> dict:
    return {(c["task"], c["model_id"], c["condition"]): (c["scores"], c["ci"]) for c in results["cells"]}


def test_oracle_max_chance_low_and_records_carry_provenance(whole: dict, tmp_path: Path) -> None:
    for cell in whole["cells"]:
        primary = whole["tasks"][cell["task"]]["primary_metric"]
        best = 100.0 if whole["tasks"][cell["task"]]["unit"] == "percent" else 1.0
        assert cell["complete"]
        if cell["model_id"] == "oracle":
            assert cell["scores"][primary] == pytest.approx(best)
        else:
            assert cell["scores"][primary] < 0.5 * best
    assert whole["run"]["datasets"][0]["name"] == "avsynth" and whole["run"]["git_revision"]
    out = tmp_path / "one"
    run_evaluation(RunConfig(tasks=("avel",), models=("oracle",), num_samples=2), out)
    record = json.loads((out / "cells/avel/oracle/clean.jsonl").read_text().splitlines()[0])
    for key in (
        "task_version",
        "protocol_hash",
        "model_id",
        "weights_hash",
        "package_version",
        "git_revision",
        "seed",
    ):
        assert key in record
    assert record["scores"] == {"accuracy": 1.0}


def test_resume_after_a_kill_recomputes_nothing_and_matches(whole: dict, tmp_path: Path) -> None:
    config = RunConfig(tasks=TASKS, models=("oracle",), num_samples=6, batch_size=2)
    with pytest.raises(KilledError):
        run_evaluation(config, tmp_path, models={"oracle": Flaky(calls=4)})
    store = tmp_path / "cells/avel/oracle/clean.jsonl"
    with store.open("a") as f:
        f.write('{"id": "torn')  # a kill in the middle of a write
    done = sum(len(CellStore(p).read()) for p in (tmp_path / "cells").rglob("*.jsonl"))
    counting = Counting()
    resumed = run_evaluation(config, tmp_path, models={"oracle": counting})
    assert len(counting.seen) == len(set(counting.seen))
    total = sum(len(CellStore(p).read()) for p in (tmp_path / "cells").rglob("*.jsonl"))
    assert done == 8 and len(counting.seen) == total - done
    expected = {k: v for k, v in _scores(whole).items() if k[1] == "oracle"}
    assert _scores(resumed) == expected


def test_sharded_equals_whole(whole: dict, tmp_path: Path) -> None:
    for index in range(3):
        results = run_evaluation(RunConfig(**{**CONFIG.__dict__, "shard": (index, 3)}), tmp_path)
    assert _scores(results) == _scores(whole)


def test_stale_records_are_refused(tmp_path: Path) -> None:
    run_evaluation(RunConfig(tasks=("avel",), models=("chance",), num_samples=2), tmp_path)
    with pytest.raises(ValueError, match="seed"):
        run_evaluation(RunConfig(tasks=("avel",), models=("chance",), num_samples=2, seed=1), tmp_path)


def test_controls_show_a_model_that_uses_both_modalities(tmp_path: Path) -> None:
    config = RunConfig(tasks=("avel",), models=("looking", "oracle"), num_samples=4,
                       conditions=("clean", "audio_muted", "video_blanked", "audio_swapped", "noise_snr=10"))  # fmt: skip
    results = run_evaluation(config, tmp_path / "run", models={"looking": Looking()})
    scores = {(c["model_id"], c["condition"]): c["scores"]["accuracy"] for c in results["cells"]}
    assert scores["looking", "clean"] == 1.0 and scores["looking", "audio_swapped"] == 1.0
    assert scores["looking", "audio_muted"] < 0.5 and scores["looking", "video_blanked"] < 0.5
    assert scores["oracle", "audio_muted"] == 1.0
    markdown, html = build_report([tmp_path / "run", tmp_path / "run"], tmp_path / "report", viewer=False)
    text = markdown.read_text()
    assert "AV gain" in text and "| avel | run | looking | accuracy | 0.9" in text
    page = html.read_text()
    assert "<svg" in page and "noise_snr" in page and "src=" not in page and "<script" not in page


def test_audio_swap_takes_the_next_samples_audio() -> None:
    frames, mine, other = (
        np.ones((1, 2, 2, 3), np.uint8),
        np.ones((1, 4), np.float32),
        np.full((1, 3), 2, np.float32),
    )
    assert apply_control("audio_swapped", frames, mine, other)[1].tolist() == [[2, 2, 2, 0]]
    with pytest.raises(ValueError, match="valid controls"):
        apply_control("fog", frames, mine)


def test_single_modality_wrapper_is_a_model() -> None:
    wrapped = SingleModality(OracleModel(), keep="audio")
    assert isinstance(wrapped, Model) and wrapped.id == "oracle+audio-only"


def test_declared_use_is_checked_against_the_licence(tmp_path: Path) -> None:
    governance = pytest.importorskip("avikit.data.governance")
    results = run_evaluation(
        RunConfig(tasks=("sync",), models=("oracle",), num_samples=2, use="commercial"), tmp_path
    )
    assert results["run"]["use"] == "commercial"
    card = {**results["run"]["datasets"][0], "licence": "CC-BY-NC-4.0"}
    with pytest.raises(governance.LicenceError, match="CC-BY-NC-4.0"):
        governance.check_allowed_use(card, "commercial")


def test_each_target_is_built_once_per_condition_for_the_items_and_the_scores(tmp_path, monkeypatch) -> None:
    from avikit.tasks.sync import SyncTask

    built: list[str] = []
    real = SyncTask.build_target
    monkeypatch.setattr(
        SyncTask, "build_target", lambda self, s, root=None: built.append(s.id) or real(self, s, root)
    )
    config = RunConfig(tasks=("sync",), models=("oracle", "chance"), conditions=("clean", "audio_muted"),
                       num_samples=3, batch_size=2)  # fmt: skip
    results = run_evaluation(config, tmp_path)
    assert all(cell["complete"] for cell in results["cells"]) and len(results["cells"]) == 4
    assert sorted(built) == sorted([f"test_{i:06d}" for i in range(3)] * 2)  # 3 samples x 2 conditions
