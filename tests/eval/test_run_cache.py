"""The run cache: a new run reuses task inputs and model outputs; a changed model or file misses; a model
gets from a warm cache exactly what it gets from a cold one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import avikit.eval.chunked_run as chunked_run
from avikit.data.synth import prepare_avsynth
from avikit.eval.runner import RunConfig, read_cell_records, run_evaluation
from avikit.media import load, save

CONFIG = RunConfig(tasks=("sync", "avel"), models=("probe", "oracle", "chance"), num_samples=4, batch_size=2)


class Probe:
    """A model whose sync logits depend on the media (so a stale cache would show), counting its items."""

    tasks = ("sync",)

    def __init__(self, weights_hash: str = "w1") -> None:
        self.id, self.weights_hash = "probe", weights_hash
        self.seen: list[str] = []

    def predict(self, task, batch):
        self.seen += [item.id for item in batch]
        out = []
        for item in batch:
            level = float(np.abs(item.waveform).mean()) + float(item.frames.mean()) / 255
            out.append({"id": item.id, "logits": [level * (k % 5) for k in range(21)]})
        return out


class Recorder:
    """Records a digest of everything each item holds, then fails (errors are records; nothing is cached)."""

    weights_hash = "none"
    tasks = ("sync", "v2a")

    def __init__(self) -> None:
        self.id, self.seen = "recorder", []

    def predict(self, task, batch):
        for item in batch:
            frames, waveform = item.media
            digest = hashlib.sha256(json.dumps({**item.inputs.to_dict(), "sample_id": None}).encode())
            for array in (frames, waveform):
                digest.update(b"none" if array is None else np.ascontiguousarray(array).tobytes())
            self.seen.append((
                task.name, digest.hexdigest(), None if frames is None else int(frames.max()),
                None if waveform is None else float(np.abs(waveform).max()), sorted(vars(item)),
            ))  # fmt: skip
        raise RuntimeError("recorded")


def _records(out: Path, task: str, model: str, condition: str = "clean") -> dict:
    drop = ("predict_seconds", "cached")
    return {
        k: {f: v for f, v in r.items() if f not in drop}
        for k, r in read_cell_records(out, task, model, condition).items()
    }


def test_a_rerun_reuses_every_output_and_a_changed_model_misses(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = Probe()
    cold = run_evaluation(CONFIG, tmp_path / "a", models={"probe": first}, cache=cache)
    second = Probe()
    warm = run_evaluation(CONFIG, tmp_path / "b", models={"probe": second}, cache=cache)
    assert len(first.seen) == 4 and second.seen == []
    assert warm["cells"] == cold["cells"]
    for task, model in (("sync", "probe"), ("sync", "chance-seed0"), ("avel", "oracle")):
        assert _records(tmp_path / "b", task, model) == _records(tmp_path / "a", task, model)
        assert all(r.get("cached") for r in read_cell_records(tmp_path / "b", task, model, "clean").values())
    retrained = Probe(weights_hash="w2")
    run_evaluation(CONFIG, tmp_path / "c", models={"probe": retrained}, cache=cache)
    assert len(retrained.seen) == 4


def test_a_changed_file_misses_its_samples_only_and_inputs_are_not_decoded_again(
    tmp_path, monkeypatch
) -> None:
    data = tmp_path / "data"
    prepare_avsynth(data, {"test": 3}, seed=0)
    config = RunConfig(tasks=("sync",), models=("probe",), dataset=str(data), batch_size=2)
    decoded: list[str] = []
    real = chunked_run.load_sample_clip
    monkeypatch.setattr(
        chunked_run,
        "load_sample_clip",
        lambda s, root, profile: decoded.append(s.id) or real(s, root, profile),
    )
    cache = tmp_path / "cache"
    run_evaluation(config, tmp_path / "a", models={"probe": Probe()}, cache=cache)
    assert len(decoded) == 3
    other = Probe(weights_hash="w2")  # outputs miss; the cut inputs are read from the cache, not decoded
    run_evaluation(config, tmp_path / "b", models={"probe": other}, cache=cache)
    assert len(other.seen) == 3 and len(decoded) == 3
    clip_file = data / "clips" / "test_000001.mp4"
    clip = load(clip_file)
    save(clip.with_waveform(clip.require_waveform() * 0.5), clip_file)  # the same clip, quieter
    again = Probe()
    run_evaluation(config, tmp_path / "c", models={"probe": again}, cache=cache)
    assert len(again.seen) == 1 and decoded[3:] == ["test_000001"]
    changed = read_cell_records(tmp_path / "c", "sync", "probe", "clean")
    before = read_cell_records(tmp_path / "a", "sync", "probe", "clean")
    assert changed["test_000001"]["prediction"] != before["test_000001"]["prediction"]
    assert changed["test_000000"]["prediction"] == before["test_000000"]["prediction"]


@pytest.mark.parametrize("condition", ["video_blanked", "audio_muted"])
def test_a_warm_cache_hands_a_model_what_a_cold_one_does(tmp_path: Path, condition: str) -> None:
    data = tmp_path / "data"
    prepare_avsynth(data, {"test": 2}, seed=0)
    config = RunConfig(tasks=("sync", "v2a"), models=("recorder",), conditions=("clean", condition),
                       dataset=str(data), batch_size=2)  # fmt: skip
    cold, warm = Recorder(), Recorder()
    run_evaluation(config, tmp_path / "cold", models={"recorder": cold})
    cache = tmp_path / "cache"
    run_evaluation(RunConfig(**{**config.__dict__, "conditions": ("clean",)}), tmp_path / "fill",
                   models={"recorder": Recorder()}, cache=cache)  # fmt: skip
    run_evaluation(config, tmp_path / "warm", models={"recorder": warm}, cache=cache)
    # 2 conditions x 2 tasks x (a batch of 2, then each item again when the batch fails)
    assert warm.seen == cold.seen and len(warm.seen) == 16
    for task, _, _, audio_max, fields in warm.seen:
        assert fields == ["id", "inputs", "media", "output_dir"]
        assert (audio_max is None) == (task == "v2a")  # video-to-audio never gets the audio, cached or not
    column = 2 if condition == "video_blanked" else 3
    zeros = [seen[column] == 0 for seen in warm.seen if seen[0] == "sync"]
    assert zeros == [False] * 4 + [True] * 4  # clean, then the control applied after the cached cut


def test_extract_then_run_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from avikit.cli import main

    cache = str(tmp_path / "cache")
    main(["eval", "extract", "--cache", cache, "--tasks", "sync", "--models", "oracle", "--n", "3",
          "--engine", "local"])  # fmt: skip
    assert "3 outputs computed, 0 already cached" in capsys.readouterr().out
    main(["eval", "run", "--out", str(tmp_path / "run"), "--tasks", "sync", "--models", "oracle", "--n", "3",
          "--cache", cache])  # fmt: skip
    records = read_cell_records(tmp_path / "run", "sync", "oracle", "clean")
    assert len(records) == 3 and all(r["cached"] for r in records.values())
