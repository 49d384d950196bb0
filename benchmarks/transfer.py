"""Linear probe vs frozen trunk + head vs fine-tuned trunk + head, on AVSynth test with modality controls.

Train the probes and the fine-tuned models first (one command each, see docs/models.md), e.g.::

    OMP_NUM_THREADS=1 avikit train avel-linear-probe --out runs/train/avel-linear-probe
    OMP_NUM_THREADS=1 avikit train avel-finetune --out runs/train/avel-finetune

then score them next to the shipped frozen-trunk models::

    .venv/bin/python benchmarks/transfer.py --runs runs/train --out runs/transfer

Every cell goes through ``avikit.eval.runner.run_evaluation`` (AVSynth test, seed 0, 95% bootstrap CIs)
under ``clean``, ``audio_muted`` (video-only) and ``video_blanked`` (audio-only). Prints a markdown table
with each variant's training time and clips (from its ``metrics.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from avikit.eval.runner import RunConfig, run_evaluation
from avikit.models.perception.linear_probe import PROBE_TASKS, load_linear_probe
from avikit.models.registry import get_model
from avikit.train.finetune import load_finetuned

CONDITIONS = ("clean", "audio_muted", "video_blanked")


def _cell(results: dict, model_id: str, condition: str) -> str:
    cell = next(c for c in results["cells"] if c["model_id"] == model_id and c["condition"] == condition)
    primary = results["tasks"][cell["task"]]["primary_metric"]
    value, (low, high) = cell["scores"][primary], cell["ci"][primary]
    return f"{value:.3f} [{low:.3f}, {high:.3f}]" if condition == "clean" else f"{value:.3f}"


def _training(folder: Path) -> str:
    metrics = json.loads((folder / "metrics.json").read_text())
    return f"{metrics['seconds']:.0f} s, {metrics['train_clips']} clips"


def main() -> None:
    """Evaluate the three variants of every probed task and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/train"), help="folder of the training runs")
    parser.add_argument("--out", type=Path, default=Path("runs/transfer"), help="evaluation run folder")
    parser.add_argument("--num-samples", type=int, default=96)
    parser.add_argument(
        "--task", action="append", choices=PROBE_TASKS, help="a task (repeatable; default all)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| task (metric) | variant | clean [95% CI] | video-only | audio-only | training |")
    print("|---|---|---|---|---|---|")
    for task in args.task or PROBE_TASKS:
        probe, tuned = args.runs / f"{task}-linear-probe", args.runs / f"{task}-finetune"
        variants = {
            "linear probe": (load_linear_probe(probe), _training(probe)),
            "frozen + head (shipped)": (get_model(task), "see Training"),
            "fine-tuned trunk + head": (load_finetuned(tuned), _training(tuned)),
        }
        models = {model.id: model for model, _ in variants.values()}
        config = RunConfig(
            tasks=(task,), models=tuple(models), conditions=CONDITIONS, num_samples=args.num_samples
        )
        results = run_evaluation(config, args.out / task, models=models)
        metric = results["tasks"][task]["primary_metric"]
        for name, (model, training) in variants.items():
            cells = " | ".join(_cell(results, model.id, c) for c in CONDITIONS)
            print(f"| {task} ({metric}) | {name} | {cells} | {training} |")


if __name__ == "__main__":
    main()
