"""Cheat models: each reads one channel a model must not have, and must score like a model that has none.

Every cheat runs through the real runner. Through a closed channel it learns nothing, so its predictions
are those of a fixed guess; the test compares it with a constant model that never looks (the same fixed
guess, seeded the same way) under clean input and both modality controls. A cheat that got through would
score far above it (through the id or the audio window's start, a sync cheat scores 1.0).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avikit.data.synth import generate
from avikit.eval.runner import RunConfig, run_evaluation
from avikit.models.worker import WorkerModel, worker_command
from avikit.tasks import SYNC_OFFSETS, get_task, sync_offset_class

TASKS = ("sync", "avel", "classification", "avqa")
CONDITIONS = ("clean", "video_blanked", "audio_muted")
COUNT = 8


def _out(item) -> dict[str, Any]:
    """Where a generation task's predictions go (its items name an output folder; others have none)."""
    folder = getattr(item, "output_dir", None)
    return {} if folder is None else {"folder": folder}


def _fixed(task, item):
    """The guess of a model that knows nothing: the task's chance prediction under a fixed seed."""
    prediction = task.chance_prediction(item.inputs, np.random.default_rng(7), **_out(item))
    return {**prediction, "id": item.id}


def _truth_from_sample_id(task, item, sample_id: str | None):
    """The oracle answer for AVSynth sample ``sample_id`` (regenerated), or the fixed guess."""
    match = re.fullmatch(r"(test|val|train)_(\d{6})", sample_id or "")
    if match is None:
        return _fixed(task, item)
    sample = generate(match.group(1), int(match.group(2)))[0]
    return {**task.oracle_prediction(task.build_target(sample), item.inputs, **_out(item)), "id": item.id}


class _Cheat:
    weights_hash = "none"
    tasks = TASKS

    def __init__(self) -> None:
        self.id = f"cheat-{type(self).__name__.lower()}"

    def predict(self, task, batch):
        return [self.guess(task, item) for item in batch]

    def guess(self, task, item) -> dict[str, Any]:
        raise NotImplementedError


class Constant(_Cheat):
    """The reference: never looks at anything."""

    def guess(self, task, item):
        return _fixed(task, item)


class ReadsIds(_Cheat):
    """Reads the item id as a sample id: the sync label hash, or AVSynth's ground truth by regeneration."""

    def guess(self, task, item):
        if task.name == "sync":
            label = sync_offset_class(item.id)
            return {"id": item.id, "logits": np.eye(len(SYNC_OFFSETS))[label].tolist()}
        return _truth_from_sample_id(task, item, item.id)


class ReadsRecords(_Cheat):
    """Looks for a sample record, a target or a stable key on the item (the old ``Item.sample``)."""

    def guess(self, task, item):
        target = getattr(item, "target", None)
        if target is not None:
            return {**task.oracle_prediction(target, item.inputs, **_out(item)), "id": item.id}
        for name in ("sample", "key", "sample_id", "record"):
            value = getattr(item, name, None)
            if value is not None:
                return _truth_from_sample_id(task, item, getattr(value, "id", value))
        return _fixed(task, item)


class ReadsTimestamps(_Cheat):
    """Reads where the windows start: the sync offset is the audio start against the video's 2.5 s."""

    def guess(self, task, item):
        start = item.inputs.audio[0]
        if task.name == "sync" and start:
            offset = start / 16000 - 2.5
            label = int(np.argmin([abs(float(o) - offset) for o in SYNC_OFFSETS]))
            return {"id": item.id, "logits": np.eye(len(SYNC_OFFSETS))[label].tolist()}
        return _fixed(task, item)


class ReadsEdgesAndLengths(_Cheat):
    """Reads padding (silent edges), lengths and shapes and hashes them into the answer."""

    def guess(self, task, item):
        frames, waveform = item.media
        features = []
        if waveform is not None:
            features += [waveform.shape[-1], int(np.count_nonzero(waveform[:, :400] == 0))]
            features += [int(np.count_nonzero(waveform[:, -400:] == 0))]
        if frames is not None:
            features += [*frames.shape]
        features += [len(item.inputs.frames), len(item.inputs.segments), *item.inputs.frame_size]
        seed = int(hashlib.sha256(repr(features).encode()).hexdigest()[:8], 16)
        return {
            **task.chance_prediction(item.inputs, np.random.default_rng(seed), **_out(item)),
            "id": item.id,
        }


class ReadsFileNames(_Cheat):
    """Searches everything reachable from the item for an AVSynth sample id or a media file name."""

    def guess(self, task, item):
        text = repr(vars(item)) + repr(item.inputs) + repr(getattr(item, "output_dir", ""))
        found = re.search(r"(test|val|train)_(\d{6})", text)
        return _truth_from_sample_id(task, item, found.group(0) if found else None)


class TimesItsCalls(_Cheat):
    """Uses how long the media takes to arrive (decode time) as its signal."""

    def guess(self, task, item):
        start = time.perf_counter()
        _ = item.media
        elapsed_us = int((time.perf_counter() - start) * 1e6)
        return {
            **task.chance_prediction(item.inputs, np.random.default_rng(elapsed_us % 3), **_out(item)),
            "id": item.id,
        }


def _proc_text(name: str) -> str:
    """A file of the parent process in /proc (its command line, environment), or ``""`` if unreadable."""
    try:
        raw = (Path("/proc") / str(os.getppid()) / name).read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="ignore")


def _parent_cwd() -> list[Path]:
    try:
        return [Path(os.readlink(f"/proc/{os.getppid()}/cwd"))]
    except OSError:
        return []


def _reachable(limit: int = 50_000) -> tuple[list[bytes], list[str]]:
    """Secrets (bytes named ``secret``) and absolute paths reachable from the calling frames' variables."""
    frame, queue, seen = sys._getframe(1), [], set()
    while frame is not None:
        queue += [(value, 0) for value in frame.f_locals.values()]
        frame = frame.f_back
    secrets, paths = [], []
    while queue and len(seen) < limit:
        thing, depth = queue.pop()
        if id(thing) in seen or depth > 4:
            continue
        seen.add(id(thing))
        if isinstance(thing, str):
            paths += [thing] if thing.startswith("/") and len(thing) < 400 else []
            continue
        try:
            attributes = object.__getattribute__(thing, "__dict__")
        except Exception:  # no attributes, or exotic ones
            attributes = thing if isinstance(thing, dict) else {}
        if isinstance(attributes, dict):
            secrets += [v for k, v in attributes.items() if k == "secret" and isinstance(v, bytes)]
            queue += [(value, depth + 1) for value in list(attributes.values())[:200]]
        if isinstance(thing, list | tuple):
            queue += [(value, depth + 1) for value in thing[:200]]
    return secrets, paths


def _run_secrets(text: str, folders: list[Path]) -> list[bytes]:
    """Secrets of every ``run.json`` in a folder named in ``text`` or in ``folders``, or in their parents."""
    tokens = {t for t in re.split(r"[\s=:]+", text) if t and len(t) < 400}
    named = [Path(t) if Path(t).is_absolute() else Path.cwd() / t for t in tokens]
    secrets = []
    for path in {parent for p in [*named, *folders] for parent in (p, *p.parents)}:
        try:
            secrets.append(bytes.fromhex(json.loads((path / "run.json").read_text())["secret"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return secrets


class SnoopsAround(_Cheat):
    """Hunts for the run's opaque-id secret and maps its item ids back to AVSynth samples with it.

    It looks where a model in a worker process can look: every variable of its callers (the harness's, when
    it runs in the harness's process), its environment variables, its parent's command line, environment
    and working folder (/proc), its own working folder, the paths of the files it is given, and every
    parent folder of those, for a ``run.json``. A search of the whole file system is another channel,
    which only running the worker as another user or in a container closes (docs/models.md).
    """

    def predict(self, task, batch):
        found, paths = _reachable()
        text = " ".join([*os.environ.values(), _proc_text("cmdline"), _proc_text("environ"), *paths])
        found += _run_secrets(text, [Path.cwd(), *_parent_cwd()])
        truth = {}
        for secret in found:
            for k in range(4 * COUNT):
                key = f"test_{k:06d}"
                truth["item-" + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:20]] = key
        if "SNOOP_REPORT" in os.environ:  # where a test asks the snooper to say what it found
            with open(os.environ["SNOOP_REPORT"], "a", encoding="utf-8") as report:
                report.write(f"{len(found)}\n")
        return [_truth_from_sample_id(task, item, truth.get(item.id)) for item in batch]


def snoops_around_every_task() -> SnoopsAround:
    """The snooper for the cheat table of every task (``tools/cheat_table.py``), as a worker factory."""
    cheat = SnoopsAround()
    cheat.tasks = tuple(os.environ.get("CHEAT_TASKS", ",".join(TASKS)).split(","))
    return cheat


CHEATS = (ReadsIds, ReadsRecords, ReadsTimestamps, ReadsEdgesAndLengths, ReadsFileNames, TimesItsCalls)
WORKER_CHEATS = (SnoopsAround,)
"""Cheats run in worker processes (``avikit.models.worker``): the harness's memory is out of their reach."""
_WORKER_PATH = {"PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), *sys.path])}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Any:
    models = {cls().id: cls() for cls in (Constant, *CHEATS)}
    workers = [
        WorkerModel(worker_command(f"tests.eval.test_cheats:{cls.__name__}"), env=_WORKER_PATH)
        for cls in WORKER_CHEATS
    ]
    models.update({worker.id: worker for worker in workers})
    config = RunConfig(
        tasks=TASKS, models=tuple(models), conditions=CONDITIONS, num_samples=COUNT, batch_size=4
    )
    yield run_evaluation(config, tmp_path_factory.mktemp("cheats"), models=models)
    for worker in workers:
        worker.close()


def _score(results, task: str, model: str, condition: str) -> float:
    primary = results["tasks"][task]["primary_metric"]
    (cell,) = [
        c for c in results["cells"] if (c["task"], c["model_id"], c["condition"]) == (task, model, condition)
    ]
    assert cell["complete"], cell.get("error_examples")
    return float(cell["scores"][primary])


@pytest.mark.parametrize("cheat", CHEATS + WORKER_CHEATS, ids=lambda c: c.__name__)
def test_a_cheat_scores_like_a_model_that_never_looks(results, cheat):
    best = {t: 100.0 if results["tasks"][t]["unit"] == "percent" else 1.0 for t in TASKS}
    for task in TASKS:
        for condition in CONDITIONS:
            reference = _score(results, task, "cheat-constant", condition)
            score = _score(results, task, cheat().id, condition)
            # 8 clips: a closed channel leaves chance variation only; an open one reaches the oracle (1.0).
            # The margin is a quarter of the metric's range: far below what any leak gives here.
            assert score <= reference + 0.25 * best[task], (task, condition, score, reference)


def test_the_cheats_would_win_through_an_open_channel():
    """Each channel is real: given sample ids and absolute windows, the cheats find the truth."""
    task, sample = get_task("sync"), generate("test", 1)[0]
    absolute = task.build_inputs(sample)

    class Open:
        id, inputs, output_dir = sample.id, absolute, None
        media = (None, None)

    truth = task.build_target(sample)["label"]
    assert int(np.argmax(ReadsIds().guess(task, Open())["logits"])) == truth
    assert int(np.argmax(ReadsTimestamps().guess(task, Open())["logits"])) == truth


def test_a_snooping_cheat_wins_in_the_harness_process(tmp_path: Path):
    """The worker's channel is real: in the harness's own process, the snooper finds the secret and wins."""
    config = RunConfig(tasks=("sync",), models=("snoop",), num_samples=4)
    results = run_evaluation(config, tmp_path, models={"snoop": SnoopsAround()})
    assert _score(results, "sync", SnoopsAround().id, "clean") == 1.0


def test_a_snooping_worker_told_the_run_folder_finds_the_secret_and_still_loses(tmp_path: Path):
    """The worker's search works (told the run folder, it reads the secret), but its ids are fresh per call."""
    spec = worker_command("tests.eval.test_cheats:SnoopsAround")
    report = tmp_path / "found.txt"
    worker = WorkerModel(spec, env={**_WORKER_PATH, "MY_RUN": str(tmp_path), "SNOOP_REPORT": str(report)})
    models = {"snoop": worker, "cheat-constant": Constant()}
    try:
        results = run_evaluation(
            RunConfig(tasks=("sync",), models=tuple(models), num_samples=8), tmp_path, models
        )
    finally:
        worker.close()
    assert min(int(line) for line in report.read_text().split()) >= 1
    reference = _score(results, "sync", "cheat-constant", "clean")
    # 8 clips: with the secret useless only chance variation is left; a working map scores 1.0.
    assert _score(results, "sync", SnoopsAround().id, "clean") <= reference + 0.25


def test_models_get_opaque_ids_and_relative_windows(tmp_path: Path):
    seen: list[Any] = []

    class Spy(Constant):
        def predict(self, task, batch):
            seen.extend(batch)
            return super().predict(task, batch)

    run_evaluation(
        RunConfig(tasks=("sync",), models=("spy",), num_samples=2), tmp_path, models={"spy": Spy()}
    )
    for item in seen:
        assert item.id.startswith("item-") and "test_" not in item.id
        assert item.inputs.audio[0] == 0 and item.inputs.frames[0] == 0
        assert not any(hasattr(item, name) for name in ("sample", "target", "key"))
