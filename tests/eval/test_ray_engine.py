"""Ray on a local cluster started here (``ray.init(num_cpus=2)``): every pipeline equals the local engine.

One test, so the cluster starts once: ``eval run --engine ray`` (actor pool) against the local engine,
feature extraction (Ray Data) into a run cache that a later run reuses without calling the model, and the
preprocessing pipelines (``data pack``, AVSynth generation) against their local runs, file for file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from avikit.data.download import compute_file_hash
from avikit.data.pack import pack_dataset
from avikit.data.parallel import ray_map
from avikit.data.synth import prepare_avsynth
from avikit.eval.ray_engine import extract_features
from avikit.eval.runner import RunConfig, read_cell_records, run_evaluation
from avikit.media.repack import RepackSpec
from avikit.models.registry import get_model

if os.environ.get("CI"):
    import ray  # the dev extra holds ray: CI runs this test, it never skips it
else:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'avikit[ray]'")

CONFIG = RunConfig(tasks=("sync", "avel"), models=("oracle", "chance"), conditions=("clean", "audio_swapped"),
                   num_samples=5, batch_size=2)  # fmt: skip


class Counting:
    """Another model's outputs, counting the items it is asked to predict."""

    def __init__(self, model) -> None:
        self.model, self.id, self.weights_hash, self.tasks = model, model.id, model.weights_hash, model.tasks
        self.seen = 0

    def predict(self, task, batch):
        self.seen += len(batch)
        return self.model.predict(task, batch)


def _records(out: Path, cells) -> dict:
    drop = ("predict_seconds", "cached")
    return {cell: {k: {f: v for f, v in r.items() if f not in drop} for k, r in read_cell_records(out, *cell).items()}
            for cell in cells}  # fmt: skip


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): compute_file_hash(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix in (".mp4", ".wav", ".npz", ".jsonl")}  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_every_ray_pipeline_equals_the_local_engine(cluster, tmp_path: Path) -> None:
    local = run_evaluation(CONFIG, tmp_path / "local")
    remote = run_evaluation(CONFIG, tmp_path / "ray", engine="ray")
    cells = [(t, m, c) for t in CONFIG.tasks for m in ("oracle", "chance-seed0") for c in CONFIG.conditions]
    assert remote == local and _records(tmp_path / "ray", cells) == _records(tmp_path / "local", cells)

    data = tmp_path / "data"
    prepare_avsynth(data, {"test": 3}, seed=0)
    generated = tmp_path / "data-ray"
    prepare_avsynth(generated, {"test": 3}, seed=0, mapper=ray_map)
    assert _files(generated) == _files(data)

    spec = RepackSpec(size=(64, 64), sample_rate=8000)
    pack_dataset(data, tmp_path / "packed", spec, verify=0)
    pack_dataset(data, tmp_path / "packed-ray", spec, mapper=ray_map, verify=0)
    assert _files(tmp_path / "packed-ray") == _files(tmp_path / "packed")

    cache = tmp_path / "cache"
    totals = extract_features(str(tmp_path / "packed"), ["sync"], ["sync"], cache, batch_size=2, engine="ray")
    assert totals == {"computed": 3, "cached": 0}
    config = RunConfig(tasks=("sync",), models=("sync",), dataset=str(tmp_path / "packed"), batch_size=2)
    reused = Counting(get_model("sync"))
    warm = run_evaluation(config, tmp_path / "warm", models={"sync": reused}, cache=cache)
    cold = run_evaluation(config, tmp_path / "cold")
    assert reused.seen == 0 and warm == cold
    cells = [("sync", reused.id, "clean")]
    assert _records(tmp_path / "warm", cells) == _records(tmp_path / "cold", cells)
    again = extract_features(
        str(tmp_path / "packed"), ["sync"], ["sync"], cache, batch_size=2, engine="local"
    )
    assert again == {"computed": 0, "cached": 3}
    assert json.loads((tmp_path / "warm" / "results.json").read_text())["cells"][0]["complete"]
