"""AVSynth generation speed: samples per second in memory and written to mp4, per CPU core.

- In memory: ``avikit.data.synth.generate`` for the default test set (200 clips of 10 s, 128x128 at
  8 fps, 16 kHz stereo); the wall time of the whole set and the CPU time of one sample (median), with
  a breakdown into scene sampling, video, audio and ground truth.
- To disk: ``prepare_avsynth`` (H.264 + AAC mp4, mask id maps, manifest, card); CPU time per clip
  (all threads of the encoder included, so it is per core).

Usage::

    .venv/bin/python benchmarks/synth.py            # 200 clips in memory, 40 to disk
    .venv/bin/python benchmarks/synth.py --quick    # 50 and 10
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import tempfile
import time

import numpy as np

from avikit.data.synth import build_questions, build_targets, generate, prepare_avsynth, sample_scene
from avikit.data.synth.audio import render_audio
from avikit.data.synth.video import render_video


def _cpu(fn, *args):
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def in_memory(count: int) -> dict[str, float]:
    generate("test", 0)  # warm-up: imports and sprite cache
    wall = time.perf_counter()
    per_sample = [_cpu(generate, "test", i) for i in range(count)]
    wall = time.perf_counter() - wall
    parts = {"scene": [], "video": [], "audio": [], "ground truth": []}
    for i in range(min(count, 50)):
        scene = sample_scene("test", i)
        parts["scene"].append(_cpu(sample_scene, "test", i))
        parts["video"].append(_cpu(render_video, scene))
        parts["audio"].append(_cpu(render_audio, scene))
        parts["ground truth"].append(_cpu(lambda s: build_questions(build_targets(s)), scene))
    out = {"set wall s": wall, "sample cpu ms (median)": 1000 * statistics.median(per_sample)}
    out["sample cpu ms (p90)"] = 1000 * float(np.percentile(per_sample, 90))
    out["samples/s per core"] = 1 / statistics.median(per_sample)
    out.update({f"{k} cpu ms": 1000 * statistics.median(v) for k, v in parts.items()})
    return out


def to_disk(count: int) -> dict[str, float]:
    root = tempfile.mkdtemp(prefix="avsynth-bench-")
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        prepare_avsynth(root, {"test": count})
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "clip cpu ms": 1000 * cpu / count,
        "clip wall ms": 1000 * wall / count,
        "clips/s per core": count / cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer clips")
    args = parser.parse_args()
    memory_n, disk_n = (50, 10) if args.quick else (200, 40)
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, Python {platform.python_version()}, NumPy {np.__version__}")
    for title, result in (
        (f"in memory, {memory_n} clips", in_memory(memory_n)),
        (f"to mp4, {disk_n} clips", to_disk(disk_n)),
    ):
        print(f"\n{title}")
        for key, value in result.items():
            print(f"  {key:<26} {value:10.2f}")


if __name__ == "__main__":
    main()
