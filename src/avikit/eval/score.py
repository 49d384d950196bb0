r"""Score a prediction file written by any program against a prepared dataset.

Example:
    >>> import tempfile, json
    >>> from avikit.data.synth import prepare_avsynth
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = prepare_avsynth(root, {"test": 2})
    >>> lines = [json.dumps({"id": f"test_00000{i}", "logits": [0.0] * 20 + [1.0]}) for i in range(2)]
    >>> _ = (root / "p.jsonl").write_text("\n".join(lines) + "\n")
    >>> report = score_predictions("sync", root, root / "p.jsonl")
    >>> report.count, sorted(report.scores)
    (2, ['accuracy', 'accuracy_within_one'])
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avikit.errors import InputFileError, UsageError
from avikit.eval.intervals import cell_intervals, sample_units
from avikit.eval.source import load_eval_data
from avikit.tasks import PredictionError, get_task

__all__ = ["ScoreReport", "read_predictions", "score_predictions"]


@dataclass(frozen=True)
class ScoreReport:
    """The scores of one prediction file: task identity, sample count, scores and 95% intervals.

    The intervals resample the task's unit (:func:`avikit.eval.intervals.cell_intervals`).
    """

    task: str
    task_version: int
    protocol_hash: str
    count: int
    scores: dict[str, float]
    ci: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form."""
        return dict(self.__dict__)


def read_predictions(path: str | Path) -> list[tuple[int, Any]]:
    """``(line number, parsed JSON)`` of every non-blank line.

    Raises:
        UsageError: if ``path`` is missing or is a folder.
        PredictionError: for a line that is not JSON or not UTF-8 text, naming the line.
    """
    file = Path(path)
    if not file.exists():
        raise InputFileError(f"{file}: no such prediction file; give the JSONL file your model wrote")
    if not file.is_file():
        raise UsageError(f"{file} is a folder, not a prediction file; give the JSONL file inside it")
    out = []
    with file.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise PredictionError(
                    f"{file}:{number}: not UTF-8 text (binary data?); a prediction file is JSON Lines"
                ) from None
            if not line.strip():
                continue
            try:
                out.append((number, json.loads(line)))
            except json.JSONDecodeError as error:
                raise PredictionError(
                    f"{file}:{number}: not valid JSON ({error.msg}); write one object per line"
                ) from None
    return out


def score_predictions(
    task_name: str,
    dataset: str | Path,
    predictions: str | Path,
    seed: int = 0,
    split: str | None = None,
    missing_media: str = "leave_out",
) -> ScoreReport:
    """Score a JSONL prediction file for ``task_name`` on a split of a prepared dataset.

    The task is bound to the dataset's profile (its geometry and vocabularies). Scoring reads annotations
    only, so with ``missing_media="keep"`` the items whose media was not found are scored too (e.g. the
    official list of a split, predicted by a program with its own copy of the media or features).

    Args:
        task_name: a registered task.
        dataset: a folder from ``avikit data prepare`` (or an AVSynth folder).
        predictions: the JSONL file.
        seed: the bootstrap seed of the intervals.
        split: the split to score (default: the task's, ``test``).
        missing_media: ``"leave_out"`` (default) or ``"keep"`` the items without media.

    Raises:
        PredictionError: on a malformed line, an unknown or repeated sample id, or missing samples; the
            message names the line, the field and what was expected.
        UsageError: if no sample of the split carries the task's targets.
    """
    if not Path(dataset).is_dir():
        raise InputFileError(f"{dataset}: no such dataset folder; give a folder from `avikit data prepare`")
    chosen = split or get_task(task_name).spec.protocol.split
    data = load_eval_data(dataset, chosen, missing_media=missing_media)
    task = get_task(task_name).for_dataset(data.profile, chosen)
    samples = {s.id: s for s in data.samples if task.includes(s)}
    if not samples:
        hint = "" if missing_media == "keep" else "; to score items whose media is missing, keep them"
        raise UsageError(
            f"task {task.name} scores no sample of {dataset} split {chosen!r} ({len(data.samples)} listed "
            f"with media): none carries its targets{hint}"
        )
    checked: dict[str, Any] = {}
    for number, record in read_predictions(predictions):
        where = f"{predictions}:{number}"
        sample_id = record.get("id") if isinstance(record, dict) else None
        if sample_id not in samples:
            raise PredictionError(
                f"{where}: field 'id': expected one of the {len(samples)} sample ids of task "
                f"{task.name} (e.g. {next(iter(samples), '?')!r}), got {sample_id!r}"
            )
        if sample_id in checked:
            raise PredictionError(f"{where}: field 'id': sample {sample_id!r} is predicted twice")
        checked[sample_id] = task.check_prediction(record, task.build_inputs(samples[sample_id]), where)
    missing = [sid for sid in samples if sid not in checked]
    if missing:
        raise PredictionError(
            f"{predictions}: {len(missing)} sample(s) have no prediction, e.g. {missing[:3]}"
        )
    targets = [task.build_target(samples[sid], data.root) for sid in samples]
    ordered = [checked[sid] for sid in samples]
    evaluation = task.evaluate(ordered, targets)
    units = sample_units(task, list(samples.values()))
    ci, _ = cell_intervals(task, evaluation, ordered, targets, units, seed)
    return ScoreReport(
        task.name, task.spec.version, task.spec.protocol_hash, evaluation.count, evaluation.scores, ci
    )
