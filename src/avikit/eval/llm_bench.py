"""``avikit bench --suite llm``: the three AV-LLM archetypes side by side against blind baselines.

On the first ``num_samples`` AVSynth test clips, every language task (AVQA in words, captioning, temporal
grounding, hallucination probes, answers with evidence) is run through
:func:`avikit.eval.runner.run_evaluation` for

- the archetypes: ``encoder-llm`` (trunk + projector + SmolLM2 with LoRA), ``encoder-llm-dpo`` (the same
  after DPO) and ``unified-av`` (one transformer over text, audio and visual tokens), each also with the
  modality controls (``video_blanked`` = audio only, ``audio_muted`` = video only);
- the baselines: ``blind-lm-sft`` (SmolLM2 + LoRA trained on the same questions *without media*: the blind
  LM to beat), ``blind-lm`` (SmolLM2 as released, the question alone), ``text-prior`` (the most frequent
  training answer of each question pattern) and ``chance``.

Every primary score has a 95% bootstrap interval over clips, and each model's difference to the blind
baseline a paired one. The bench also measures tokens per second and resident memory per model, the
counterfactual consistency of cited evidence, the LLM+Generator's calls (validity, tool accuracy, loudness
ramp error, mel distance of what it made) and the unified model's video-to-audio. Models whose weights are
missing are listed as skipped, with the reason. Writes ``results.json`` and ``results.md`` into ``out``.

Example:
    >>> LLM_BENCH_MODELS["blind-lm-sft"]
    'blind LM, fine-tuned on the same questions (no media)'
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from avikit.data.manifest import atomic_writer
from avikit.data.synth import generate
from avikit.errors import AvikitError
from avikit.eval.llm_generation import generation_section
from avikit.eval.llm_probes import counterfactual_consistency, measure_speed
from avikit.eval.predict import ItemFactory, OpaqueIds
from avikit.eval.runner import RunConfig, run_evaluation
from avikit.metrics import compute_bootstrap_ci
from avikit.models.protocol import Item, Model
from avikit.models.registry import get_model
from avikit.tasks import Task, get_task

__all__ = [
    "BASELINE",
    "CONTROLLED",
    "LLM_BENCH_MODELS",
    "LLM_BENCH_TASKS",
    "comparison_rows",
    "run_llm_bench",
]

logger = logging.getLogger(__name__)

LLM_BENCH_TASKS = ("avqa-words", "av-caption", "av-grounding", "av-hallucination", "av-faithfulness")
LLM_BENCH_MODELS = {
    "encoder-llm": "Encoder+LLM (trunk -> projector -> SmolLM2 + LoRA)",
    "encoder-llm-dpo": "Encoder+LLM after DPO",
    "unified-av": "Unified (one transformer over text, audio, video tokens)",
    "blind-lm-sft": "blind LM, fine-tuned on the same questions (no media)",
    "blind-lm": "blind LM, SmolLM2 as released (question only)",
    "text-prior": "most frequent training answer per question pattern",
    "chance": "random answer",
}
"""Model name -> role in the comparison."""
CONTROLLED = ("encoder-llm", "encoder-llm-dpo", "unified-av")
"""Models also run with the modality controls."""
BASELINE = "blind-lm-sft"
"""The blind baseline every archetype's paired difference is computed against."""


def _load(names: Sequence[str], given: Mapping[str, Model]) -> tuple[dict[str, Model], dict[str, str]]:
    loaded, skipped = {}, {}
    for name in names:
        if name in given:
            loaded[name] = given[name]
            continue
        try:
            loaded[name] = get_model(name)
        except (AvikitError, OSError, ValueError) as error:
            skipped[name] = f"{type(error).__name__}: {error}"
            logger.warning("llm bench: %s skipped (%s)", name, error)
    return loaded, skipped


def _items(task: Task, count: int, seed: int) -> tuple[list[Item], list[Mapping[str, Any]]]:
    """The task's items among the first ``count`` test clips (as the predict loop makes them), and targets."""
    made = [generate("test", index, seed)[:2] for index in range(count)]
    pairs = [(sample, clip) for sample, clip in made if task.includes(sample)]
    clips = {sample.id: clip for sample, clip in pairs}
    samples = [sample for sample, _ in pairs]
    factory = ItemFactory(task, lambda sample: clips[sample.id], OpaqueIds())
    return [factory.item(samples, i) for i in range(len(samples))], [task.build_target(s) for s in samples]


def _cell(results: Mapping[str, Any], task: str, model_id: str, condition: str) -> dict[str, Any] | None:
    for cell in results["cells"]:
        if (cell["task"], cell["model_id"], cell["condition"]) == (task, model_id, condition) and cell[
            "complete"
        ]:
            return dict(cell)
    return None


def comparison_rows(
    results: Mapping[str, Any],
    models: Mapping[str, Model],
    controls: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Per task and model: primary score [CI], paired difference to :data:`BASELINE` [CI], controls."""
    rows = []
    for task in results["tasks"]:
        metric = results["tasks"][task]["primary_metric"]
        base = _cell(results, task, models[BASELINE].id, "clean") if BASELINE in models else None
        for name, model in models.items():
            cell = _cell(results, task, model.id, "clean")
            if cell is None:
                continue
            row: dict[str, Any] = {
                "task": task,
                "model": name,
                "metric": metric,
                "score": cell["scores"][metric],
                "ci": cell["ci"].get(metric),
            }
            mine, theirs = cell["items"].get(metric), None if base is None else base["items"].get(metric)
            if mine and theirs and len(mine) == len(theirs) and name != BASELINE:
                scale = cell.get("scale", {}).get(metric, 1.0)
                diff = np.subtract(mine, theirs)
                row["vs_blind"] = float(scale * diff.mean())
                row["vs_blind_ci"] = list(compute_bootstrap_ci(diff, seed=seed, scale=scale))
            for condition in ("video_blanked", "audio_muted"):
                other = None if controls is None else _cell(controls, task, model.id, condition)
                if other is not None:
                    row["audio_only" if condition == "video_blanked" else "video_only"] = other["scores"][
                        metric
                    ]
            rows.append(row)
    return rows


def _speed(models: Mapping[str, Model], seed: int) -> dict[str, dict[str, float]]:
    task = get_task("av-caption")
    items = _items(task, 2, seed)[0]
    out = {}
    for name, model in models.items():
        if not hasattr(model, "chat"):
            continue

        def run(m: Any = model) -> int:
            m.predict(task, items)
            generation = getattr(m, "last_generation", None)
            return 0 if generation is None else int(generation.new_tokens)

        out[name] = measure_speed(run)
    return out


def _counterfactual(models: Mapping[str, Model], count: int, seed: int) -> dict[str, Any]:
    task = get_task("av-faithfulness")
    items, targets = _items(task, count, seed)
    protocol = task.spec.protocol
    out = {}
    for name in ("encoder-llm", "encoder-llm-dpo", "unified-av"):
        if name not in models:
            continue
        model = models[name]
        questions = []
        for item, target in zip(items, targets, strict=True):
            for question, record in zip(item.inputs.text, target["records"], strict=True):
                span = (float(record["evidence"]["start"]), float(record["evidence"]["end"]))
                questions.append((item.frames, item.waveform, question, span, record["modality"]))

        def answer(frames: Any, waveform: Any, question: str, m: Any = model, ref: Item = items[0]) -> str:
            probe = replace(ref.inputs, text=(question,))
            return str(m.predict(task, [Item(ref.id, probe, (frames, waveform))])[0]["answers"][0])

        fps = protocol.fps // max(1, protocol.fps // 2)  # the 2 fps the language tasks give the model
        result = counterfactual_consistency(answer, questions, fps, protocol.sample_rate, 10.0)
        if result.get("count"):
            for key in ("sensitive", "invariant", "consistent"):
                low, high = compute_bootstrap_ci(result[key], seed=seed, scale=100.0)
                result[f"{key}_ci"] = [low, high]
        out[name] = result
    return out


def run_llm_bench(
    out: str | Path,
    num_samples: int = 12,
    models: Mapping[str, Model] | None = None,
    seed: int = 0,
    console: Console | None = None,
    tasks: Sequence[str] = LLM_BENCH_TASKS,
    counterfactual_clips: int = 6,
    generation_clips: int = 4,
    model_names: Sequence[str] = tuple(LLM_BENCH_MODELS),
    controlled: Sequence[str] = CONTROLLED,
) -> dict[str, Any]:
    """Run the AV-LLM bench into ``out`` (resumable) and return its results (also ``results.json``).

    Args:
        out: the run folder.
        num_samples: AVSynth test clips.
        models: models by name (the others of ``model_names`` come from the registry).
        seed: AVSynth and bootstrap seed.
        console: where the tables go.
        tasks: the language tasks.
        counterfactual_clips: clips of the counterfactual-consistency probe (0: none).
        generation_clips: clips of the generation section (0: none).
        model_names: which of :data:`LLM_BENCH_MODELS` to run.
        controlled: which models also run with the modality controls.
    """
    start, folder, console = time.perf_counter(), Path(out), console or Console()
    loaded, skipped = _load(list(model_names), dict(models or {}))
    config = RunConfig(
        tasks=tuple(tasks), models=tuple(loaded), num_samples=num_samples, seed=seed, batch_size=4
    )
    clean = run_evaluation(config, folder / "clean", models=loaded)
    with_controls = {n: m for n, m in loaded.items() if n in controlled}
    controls = None
    if with_controls:
        control_config = replace(
            config, models=tuple(with_controls), conditions=("video_blanked", "audio_muted")
        )
        controls = run_evaluation(control_config, folder / "controls", models=with_controls)
    results: dict[str, Any] = {
        "num_samples": num_samples,
        "seed": seed,
        "models": {
            n: {"id": m.id, "weights_hash": m.weights_hash, "role": LLM_BENCH_MODELS[n]}
            for n, m in loaded.items()
        },
        "skipped": skipped,
        "comparison": comparison_rows(clean, loaded, controls, seed),
        "speed": _speed(loaded, seed),
        "counterfactual": _counterfactual(loaded, counterfactual_clips, seed) if counterfactual_clips else {},
    }
    results["generation"] = generation_section(loaded, generation_clips, seed) if generation_clips else {}
    results["seconds"] = round(time.perf_counter() - start, 1)
    with atomic_writer(folder / "results.json") as f:
        json.dump(results, f, indent=1, default=float)
    (folder / "results.md").write_text(results_markdown(results))
    _print(console, results)
    return results


def _fmt(value: Any, ci: Any = None) -> str:
    if value is None:
        return "-"
    text = f"{value:.2f}"
    return text + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def results_markdown(results: Mapping[str, Any]) -> str:
    """The comparison, speed and probe tables as Markdown."""
    lines = [
        f"# avikit bench --suite llm ({results['num_samples']} AVSynth test clips, seed {results['seed']})",
        "",
        "| task | metric | model | score [95% CI] | vs blind-lm-sft [95% CI] | audio only | video only |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in results["comparison"]:
        lines.append(
            f"| {r['task']} | {r['metric']} | {r['model']} | {_fmt(r['score'], r['ci'])} | "
            f"{_fmt(r.get('vs_blind'), r.get('vs_blind_ci'))} | {_fmt(r.get('audio_only'))} | "
            f"{_fmt(r.get('video_only'))} |"
        )
    lines += ["", "| model | tokens/s | peak resident MiB |", "|---|---:|---:|"]
    lines += [
        f"| {n} | {s['tokens_per_second']} | {s['peak_resident_mb']} |" for n, s in results["speed"].items()
    ]
    if results["counterfactual"]:
        lines += [
            "",
            "| model | questions | sensitive % | invariant % | consistent % |",
            "|---|---:|---:|---:|---:|",
        ]
        for n, c in results["counterfactual"].items():
            if c.get("count"):
                lines.append(
                    f"| {n} | {c['count']} | {c['sensitive_rate']:.1f} | {c['invariant_rate']:.1f} | "
                    f"{c['consistent_rate']:.1f} |"
                )
    if results.get("skipped"):
        lines += ["", "Skipped: " + "; ".join(f"{k} ({v})" for k, v in results["skipped"].items())]
    generation = results.get("generation") or {}
    if generation:
        lines += ["", "```json", json.dumps(generation, indent=1, default=float), "```"]
    return "\n".join(lines) + "\n"


def _print(console: Console, results: Mapping[str, Any]) -> None:
    table = Table(title=f"avikit bench --suite llm: {results['num_samples']} AVSynth test clips [95% CI]")
    for column in ("task", "metric", "model", "score", f"vs {BASELINE}", "audio only", "video only"):
        table.add_column(column)
    for r in results["comparison"]:
        table.add_row(
            r["task"],
            r["metric"],
            r["model"],
            _fmt(r["score"], r["ci"]),
            _fmt(r.get("vs_blind"), r.get("vs_blind_ci")),
            _fmt(r.get("audio_only")),
            _fmt(r.get("video_only")),
        )
    console.print(table)
    for name, speed in results["speed"].items():
        console.print(
            f"{name}: {speed['tokens_per_second']} tokens/s, peak {speed['peak_resident_mb']} MiB resident"
        )
    if results["skipped"]:
        console.print("skipped: " + "; ".join(results["skipped"]))
