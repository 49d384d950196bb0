"""The cheat table: every cheat model of ``tests/eval/test_cheats.py`` on every task and control.

Each cheat reads one channel a model must not have (ids, records, timestamps, padding and lengths, file
names, call timing; the snooper, in a worker process, searches its environment and the file system near it
for the run's secret). Through a closed channel a cheat learns nothing, so it scores like the constant
model that never looks; this runs all of them through the real runner on every task the AVSynth world
poses (perception, language, generation) under clean input and every modality control, with the trivial
baselines beside them, and writes the summary the doc table is made from::

    python tools/cheat_table.py --out runs/cheats --n 8 --write benchmarks/results/cheats.json
    python tools/doc_tables.py

The doc table (``<!-- table cheats benchmarks/results/cheats.json -->``) gives per task and condition the
strongest trivial baseline, the constant model, the best cheat and its margin over the constant model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.eval import test_cheats as cheats  # noqa: E402

from avikit.data.manifest import atomic_writer  # noqa: E402
from avikit.eval.controls import CONTROLS  # noqa: E402
from avikit.eval.runner import RunConfig, run_evaluation  # noqa: E402
from avikit.models.worker import WorkerModel, worker_command  # noqa: E402
from avikit.tasks import list_tasks  # noqa: E402

CONDITIONS = ("clean", *CONTROLS)
BASELINES = ("chance", "constant", "prior")


def summarize(results: dict[str, Any], cheat_ids: list[str], reference: str) -> dict[str, Any]:
    """Per task and condition: the primary score of the reference, of each cheat and of each baseline."""
    rows = []
    cells = {(c["task"], c["model_id"], c["condition"]): c for c in results["cells"]}
    for task, spec in results["tasks"].items():
        metric = spec["primary_metric"]
        baselines = {c["model_id"]: c["scores"].get(metric) for c in results["cells"]
                     if c["task"] == task and c.get("baseline") and c["complete"]}  # fmt: skip
        for condition in CONDITIONS:
            ref = cells.get((task, reference, condition))
            if ref is None:
                continue
            found = {m: cells[(task, m, condition)] for m in cheat_ids if (task, m, condition) in cells}
            rows.append({
                "task": task, "condition": condition, "metric": metric, "unit": spec["unit"],
                "lower_is_better": metric in spec.get("lower_is_better", ()),
                "reference": ref["scores"].get(metric) if ref["complete"] else None,
                "cheats": {m: (c["scores"].get(metric) if c["complete"] else None) for m, c in found.items()},
                "baselines": baselines,
            })  # fmt: skip
    return {"conditions": list(CONDITIONS), "reference": reference, "cheats": cheat_ids, "rows": rows,
            "num_samples": results["run"]["config"]["num_samples"]}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Run every cheat on every task and control; write the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument("--n", type=int, default=8, help="AVSynth test clips per task")
    parser.add_argument("--tasks", default=",".join(list_tasks()), help="comma-separated task names")
    parser.add_argument("--write", required=True, help="summary JSON for the doc table")
    args = parser.parse_args(argv)
    tasks = tuple(t for t in args.tasks.split(",") if t)
    models: dict[str, Any] = {}
    for cls in (cheats.Constant, *cheats.CHEATS):
        model = cls()
        model.tasks = tasks
        models[model.id] = model
    env = {**cheats._WORKER_PATH, "CHEAT_TASKS": ",".join(tasks)}
    worker = WorkerModel(worker_command("tests.eval.test_cheats:snoops_around_every_task"), env=env)
    models[worker.id] = worker
    try:
        config = RunConfig(tasks=tasks, models=tuple(models), conditions=CONDITIONS, num_samples=args.n,
                           batch_size=4, baselines=BASELINES)  # fmt: skip
        results = run_evaluation(config, args.out, models=models)
    finally:
        worker.close()
    reference = cheats.Constant().id
    summary = summarize(results, [m for m in models if m != reference], reference)
    with atomic_writer(Path(args.write)) as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    print(f"wrote {args.write}: {len(summary['rows'])} task x condition rows")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
