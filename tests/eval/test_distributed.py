"""``torchrun`` world size 2 (gloo) against one process: identical records and scores; per-rank resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avikit.eval.distributed import rank_slots
from avikit.eval.runner import RunConfig, read_cell_records, run_evaluation

TASKS, MODELS, CONDITIONS = ("sync", "avel"), ("oracle", "chance"), ("clean", "audio_swapped")
COUNT = 5  # odd: rank 1 gets a padding slot
CONFIG = RunConfig(tasks=TASKS, models=MODELS, conditions=CONDITIONS, num_samples=COUNT, batch_size=2)
CELLS = [(t, m, c) for t in TASKS for m in ("oracle", "chance-seed0") for c in CONDITIONS]


@pytest.mark.parametrize(("count", "size"), [(5, 2), (6, 3), (1, 2), (7, 4)])
def test_rank_slots_are_strided_padded_and_cover_every_sample_once(count: int, size: int) -> None:
    slots = [rank_slots(count, rank, size) for rank in range(size)]
    assert len({len(s) for s in slots}) == 1 and len(slots[0]) == -(-count // size)
    real = sorted(i for s in slots for i, pad in s if not pad)
    assert real == list(range(count))
    for rank, mine in enumerate(slots):
        assert [i for i, pad in mine if not pad] == list(range(rank, count, size))
        assert not {i for i, pad in mine if pad} & {i for i, pad in mine if not pad}


def _torchrun(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def _records(out: Path) -> dict:
    return {
        cell: {
            k: {f: v for f, v in r.items() if f != "predict_seconds"}
            for k, r in read_cell_records(out, *cell).items()
        }
        for cell in CELLS
    }


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("single")
    run_evaluation(CONFIG, out)
    return out


def test_torchrun_eval_run_equals_one_process(single: Path, tmp_path: Path) -> None:
    argv = ["-m", "avikit", "eval", "run", "--out", "run", "--tasks", ",".join(TASKS), "--models",
            ",".join(MODELS), "--conditions", ",".join(CONDITIONS), "--num-samples", str(COUNT),
            "--batch-size", "2"]  # fmt: skip
    _torchrun(argv, tmp_path)
    out = tmp_path / "run"
    assert json.loads((out / "results.json").read_text()) == json.loads((single / "results.json").read_text())
    assert _records(out) == _records(single)
    shards = sorted(p.name for p in (out / "cells/sync/oracle").glob("*.jsonl"))
    assert shards == sorted(f"{c}.shard{r}of2.jsonl" for c in CONDITIONS for r in (0, 1))


RANK_SCRIPT = """
import os, sys
from avikit.eval.runner import RunConfig, run_evaluation
config = RunConfig(tasks={tasks!r}, models={models!r}, conditions={conditions!r}, num_samples={count},
                   batch_size=2)
run_evaluation(config, os.path.join(sys.argv[1], "rank" + os.environ["RANK"]))
"""


def test_rank_0_gathers_from_separate_folders_and_each_rank_resumes_its_own(
    single: Path, tmp_path: Path
) -> None:
    script = tmp_path / "ranks.py"
    script.write_text(RANK_SCRIPT.format(tasks=TASKS, models=MODELS, conditions=CONDITIONS, count=COUNT))
    _torchrun([str(script), str(tmp_path)], tmp_path)
    main, other = tmp_path / "rank0", tmp_path / "rank1"
    assert json.loads((main / "results.json").read_text()) == json.loads(
        (single / "results.json").read_text()
    )
    assert _records(main) == _records(single)
    assert (
        not (other / "results.json").exists()
        and not (other / "cells/sync/oracle/clean.shard0of2.jsonl").exists()
    )
    kept = other / "cells/avel/chance-seed0/clean.shard1of2.jsonl"
    lines = kept.read_text().splitlines()
    kept.write_text(lines[0] + "\n")  # rank 1 lost all but one record of a cell
    main_file = main / "cells/avel/chance-seed0/clean.shard0of2.jsonl"
    before = main_file.read_bytes()
    _torchrun([str(script), str(tmp_path)], tmp_path)
    redone = [json.loads(line) for line in kept.read_text().splitlines()]
    assert sorted(r["id"] for r in redone) == sorted(json.loads(line)["id"] for line in lines)
    assert main_file.read_bytes() == before  # rank 0 had nothing to redo
    assert _records(main) == _records(single)
