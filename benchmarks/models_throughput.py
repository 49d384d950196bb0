"""Inference throughput of the packaged reference models on this CPU (clips/s), with their sizes.

Each model predicts its task on the default AVSynth test clips (10 s, 8 fps, 128 px, 16 kHz), in batches
of 16, media decoded once beforehand so only the model is timed. Median of 3 passes after a warm-up.

Usage::

    .venv/bin/python benchmarks/models_throughput.py [--clips 32]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from dataclasses import replace

import torch

from avikit.data.synth import generate
from avikit.eval.bench import BENCH_TASKS
from avikit.models.protocol import Item
from avikit.models.registry import get_model
from avikit.tasks import cut_media, get_task


def items_for(task_name: str, count: int) -> list[Item]:
    task = get_task(task_name)
    out = []
    for index in range(count * 3):
        sample, clip = generate("test", index)
        if not task.includes(replace(sample, split=task.spec.protocol.split)):
            continue
        inputs = task.build_inputs(sample)
        media = cut_media(clip, inputs)
        item = Item(sample, inputs, lambda m=media: m, lambda: {})
        _ = item.media  # decode once: time the model only
        out.append(item)
        if len(out) == count:
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=32)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    print("| task | model | parameters | clips/s |\n|---|---|---:|---:|")
    seen: set[str] = set()
    for task_name, model_name in BENCH_TASKS.items():
        if model_name in seen:
            continue
        seen.add(model_name)
        model = get_model(model_name)
        task = get_task(task_name)
        items = items_for(task_name, args.clips)
        params = sum(p.numel() for p in model.parameters()) if isinstance(model, torch.nn.Module) else 0
        model.predict(task, items[:16])
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            for begin in range(0, len(items), 16):
                model.predict(task, items[begin : begin + 16])
            times.append(time.perf_counter() - t0)
        print(
            f"| {task_name} | {model.id} | {params:,} | {len(items) / statistics.median(times):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
