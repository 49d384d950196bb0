"""Speed of LLP segment- and event-level F1: avikit against the official AVVP-ECCV20 evaluation.

Usage::

    python benchmarks/metrics_speed.py --official /path/to/AVVP-ECCV20 [--sizes 1200 12000] [--repeats 3]

The official ``utils/eval_metrics.py`` is imported from the given checkout and driven per video as
``main_avvp.py::eval`` does; avikit scores the same arrays. The scores must be identical.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

from avikit.metrics import evaluate_avvp


def make_inputs(num_videos: int, seed: int = 0) -> dict[str, np.ndarray]:
    """LLP-shaped binary arrays [V, 25, 10]: sparse event runs, noisy predictions."""
    rng = np.random.default_rng(seed)
    shape = (num_videos, 25, 10)
    present = rng.random((*shape[:2], 1)) < 0.08
    start = rng.integers(0, 10, (*shape[:2], 1))
    length = rng.integers(1, 11, (*shape[:2], 1))
    segment = np.arange(10)
    gt_a = (present & (segment >= start) & (segment < start + length)).astype(np.int64)
    gt_v = (gt_a.astype(bool) & (rng.random((*shape[:2], 1)) < 0.7)).astype(np.int64)
    pred_a = np.logical_xor(gt_a, rng.random(shape) < 0.02).astype(np.int64)
    pred_v = np.logical_xor(gt_v, rng.random(shape) < 0.03).astype(np.int64)
    return {"pred_audio": pred_a, "pred_visual": pred_v, "gt_audio": gt_a, "gt_visual": gt_v}


def official_scores(official, data: dict[str, np.ndarray]) -> dict[str, float]:
    """The official per-video loop and aggregation of main_avvp.py::eval."""
    lists: dict[str, list[float]] = {key: [] for key in ("sa", "sv", "s", "sav", "ea", "ev", "e", "eav")}
    for video in range(len(data["gt_audio"])):
        so_a, so_v = data["pred_audio"][video], data["pred_visual"][video]
        gt_a, gt_v = data["gt_audio"][video].astype(float), data["gt_visual"][video].astype(float)
        for prefix, function in (("s", official.segment_level), ("e", official.event_level)):
            f_a, f_v, f, f_av = function(so_a, so_v, so_a * so_v, gt_a, gt_v, gt_a * gt_v)
            for suffix, value in (("a", f_a), ("v", f_v), ("", f), ("av", f_av)):
                lists[prefix + suffix].append(value)
    scores = {}
    for level, prefix in (("segment", "s"), ("event", "e")):
        mean = {key: 100 * np.mean(np.array(lists[prefix + key])) for key in ("a", "v", "", "av")}
        scores[f"{level}_audio"], scores[f"{level}_visual"] = float(mean["a"]), float(mean["v"])
        scores[f"{level}_audio_visual"], scores[f"{level}_event"] = float(mean["av"]), float(mean[""])
        scores[f"{level}_type"] = float((mean["av"] + mean["a"] + mean["v"]) / 3.0)
    return scores


def best_time(function, repeats: int) -> tuple[float, dict[str, float]]:
    best, result = float("inf"), {}
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True, help="checkout of YapengTian/AVVP-ECCV20")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1200, 12000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(args.official / "utils"))
    import eval_metrics as official

    print(
        f"machine: {platform.processor() or platform.machine()}, {platform.system()}, "
        f"Python {platform.python_version()}, "
        f"NumPy {np.__version__}"
    )
    print("| videos | official (s) | avikit (s) | speed-up | identical |")
    print("|---:|---:|---:|---:|:---:|")
    for size in args.sizes:
        data = make_inputs(size)
        official_time, expected = best_time(lambda data=data: official_scores(official, data), 1)
        avikit_time, got = best_time(lambda data=data: evaluate_avvp(**data), args.repeats)
        identical = got == expected
        print(
            f"| {size} | {official_time:.2f} | {avikit_time:.4f} | "
            f"{official_time / avikit_time:.0f}x | {identical} |"
        )
        if not identical:
            raise SystemExit(f"scores differ: {got} vs {expected}")


if __name__ == "__main__":
    main()
