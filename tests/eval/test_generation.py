"""Generation in the runner, the bench and the report: reference scores, per-cell files, resume, set-metric
intervals and contributions, and playable samples that decode back to the generated media."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from avikit import media
from avikit.eval.gallery import SAMPLE_SECONDS
from avikit.eval.generation import run_generation
from avikit.eval.report import build_report
from avikit.eval.runner import RunConfig, cell_media_dir, read_cell_records, run_evaluation
from avikit.metrics.reconstruction import compute_psnr
from avikit.models.baselines import OracleModel, ReferenceBaseline


class CountingOracle(OracleModel):
    """The oracle under another id, counting the items it is asked to predict."""

    id = "counting-oracle"

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, task, batch):
        self.calls += len(batch)
        return super().predict(task, batch)


class NextClip(ReferenceBaseline):
    """A retrieval-style stand-in: the real media of the next clip (a reference: it reads targets)."""

    weights_hash = "none"

    def __init__(self, model_id: str, tasks: tuple[str, ...]) -> None:
        self.id, self.tasks = model_id, tasks

    def predict(self, task, batch):
        out = []
        for k, item in enumerate(batch):
            target = batch[(k + 1) % len(batch)].target
            prediction = {"id": item.id}
            for kind in task.outputs:
                path = item.output_dir / f"{item.id}_{kind}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, np.asarray(target[kind], np.float32 if kind == "audio" else np.uint8))
                prediction[kind] = str(path)
            out.append(prediction)
        return out


def test_oracle_cells_are_perfect_files_stay_in_their_cell_and_resume_reuses_them(tmp_path: Path) -> None:
    model = CountingOracle()
    config = RunConfig(tasks=("v2a", "a2v"), models=("counting",), num_samples=3, batch_size=2)
    first = run_evaluation(config, tmp_path, models={"counting": model})
    scores = {cell["task"]: cell["scores"] for cell in first["cells"]}
    assert scores["v2a"]["mel_distance"] == 0.0
    assert scores["a2v"]["ssim"] == pytest.approx(1.0) and float(scores["a2v"]["psnr"]) == np.inf
    for task in ("v2a", "a2v"):
        folder = cell_media_dir(tmp_path, task, model.id, "clean")
        records = read_cell_records(tmp_path, task, model.id, "clean")
        assert len(records) == 3
        for record in records.values():
            for kind in ("audio", "video"):
                if kind in record["prediction"]:
                    assert Path(record["prediction"][kind]).parent.is_relative_to(folder)
                    assert Path(record["prediction"][kind]).is_file()
    assert model.calls == 6
    again = run_evaluation(config, tmp_path, models={"counting": model})
    assert model.calls == 6 and again["cells"] == first["cells"]


def _data_uris(html: str, mime: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(rf'src="data:{mime};base64,([A-Za-z0-9+/=]+)"', html)]


class SlowNextClip(NextClip):
    """:class:`NextClip` taking a known time per item and holding a small network."""

    def __init__(self, model_id: str, tasks: tuple[str, ...]) -> None:
        super().__init__(model_id, tasks)
        self.network = torch.nn.Linear(4, 3)  # 15 parameters

    def predict(self, task, batch):
        time.sleep(0.05 * len(batch))
        return super().predict(task, batch)


def test_generation_bench_and_report_play_the_generated_media(tmp_path: Path) -> None:
    models = {
        "v2a-retrieval": NextClip("next-audio", ("v2a",)),
        "a2v-retrieval": SlowNextClip("next-video", ("a2v",)),
    }
    section = run_generation(tmp_path / "generation", 3, ("v2a", "a2v"), models)
    assert {(r["task"], r["role"]) for r in section["rows"]} == {
        ("v2a", "retrieval baseline"), ("v2a", "real media"), ("a2v", "retrieval baseline"), ("a2v", "real media")
    }  # fmt: skip
    for row in section["rows"]:
        for metric, values in row["items"].items():
            assert len(values) == 3, metric
        for metric, info in section["metrics"].items():
            if metric in row["scores"]:
                assert info["unit"] and isinstance(info["higher_is_better"], bool)
        if row["role"] == "real media" and row["task"] == "v2a":
            assert row["scores"]["fd_audio"] == pytest.approx(0.0, abs=1e-9) and row["scores"]["kl"] == 0.0
        if row["role"] != "real media":
            folder = cell_media_dir(tmp_path / "generation", row["task"], row["model"], "clean")
            assert all(
                (tmp_path / "generation" / f).parent == folder
                for m in row["media"].values()
                for f in m.values()
            )
    assert set(section["skipped"]) >= {"v2a", "a2v"}
    slow = next(r for r in section["rows"] if r["model"] == "next-video")
    assert 0.15 <= slow["speed"]["predict_seconds"] < 10 and slow["parameters"] == 15
    assert slow["speed"]["real_time_factor"] == pytest.approx(slow["speed"]["predict_seconds"] / 30.0)
    results = json.loads((tmp_path / "generation" / "results.json").read_text())
    (tmp_path / "results.json").write_text(json.dumps({**results, "generation": section}))
    _, page = build_report([tmp_path], tmp_path)
    html = page.read_text()
    # the first clip's WAV of the retrieval baseline decodes back to the file it wrote
    wavs = _data_uris(html, "audio/wav")
    assert len(wavs) == 2  # 2 clips x 1 v2a model (the real v2a clip is a video with its sound)
    v2a = next(r for r in section["rows"] if r["model"] == "next-audio")
    source = np.load(tmp_path / "generation" / v2a["media"][section["samples"][0]]["audio"])
    (tmp_path / "a.wav").write_bytes(wavs[0])
    decoded = media.load(tmp_path / "a.wav").require_waveform()[0]
    assert len(decoded) == SAMPLE_SECONDS * 16000
    assert np.max(np.abs(decoded - np.clip(source[: len(decoded)], -1, 1))) <= 2**-15
    # the a2v baseline's mp4: its frames, muxed with the real audio
    a2v = next(r for r in section["rows"] if r["model"] == "next-video")
    frames = np.load(tmp_path / "generation" / a2v["media"][section["samples"][0]]["video"])[
        : SAMPLE_SECONDS * 8
    ]
    videos = _data_uris(html, "video/mp4")
    (tmp_path / "v.mp4").write_bytes(videos[3])  # v2a: 2 real clips; a2v: [real, baseline] per clip
    clip = media.load(tmp_path / "v.mp4")
    assert clip.require_frames().shape == frames.shape and clip.has_audio
    assert float(np.mean(compute_psnr(frames, clip.require_frames()))) >= 30.0
