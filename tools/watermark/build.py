"""Package the trained watermark pair, calibrate on val, and write the test attack table.

Usage (after ``avikit train watermark --out runs/watermark``)::

    OMP_NUM_THREADS=1 python tools/watermark/build.py runs/watermark runs/watermark_eval

Steps: copy ``config.json`` and ``model.safetensors`` into ``src/avikit/models/weights/watermark``; measure
the learned pair's SI-SNR on 200 val windows and give the spread-spectrum baseline the strength that costs
the same SI-SNR (a fair comparison); run both on the val table (the choice of the generators' default
watermark: the higher mean TPR at FPR 1e-2 over the attacks); write both watermarkers' thresholds from 1000
clean val windows to ``thresholds.json``; run the test table into ``OUT/watermark_test.json`` and
``OUT/watermark_test.md``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from avikit.eval.tables import markdown_table, watermark_attack_table
from avikit.eval.watermark import THRESHOLDS_FILE, calibrate_thresholds, evaluate_watermarks, load_windows
from avikit.metrics.reconstruction import compute_si_sdr
from avikit.models.packaged import WEIGHTS_DIR
from avikit.models.watermark.learned import from_pretrained
from avikit.models.watermark.spread_spectrum import SpreadSpectrumConfig, SpreadSpectrumWatermarker


def _markdown(table: dict) -> str:
    lines = []
    for name, result in table["watermarkers"].items():
        q = result["quality"]
        lines.append(
            f"### {name}: SI-SNR {q['si_snr']:.1f} dB [{q['si_snr_ci'][0]:.1f}, {q['si_snr_ci'][1]:.1f}], "
            f"PESQ-WB {q['pesq_wb']:.2f} [{q['pesq_wb_ci'][0]:.2f}, {q['pesq_wb_ci'][1]:.2f}] "
            f"({q['pesq_wb_windows']} windows where PESQ finds an utterance)\n"
        )
        lines.append(markdown_table(*watermark_attack_table(table, name)))
        lines.append("")
    chance = table["chance"]
    lines.append(
        "chance (a detector that ignores its input): " + ", ".join(f"{k} {v:g}" for k, v in chance.items())
    )
    return "\n".join(lines) + "\n"


def main(trained: Path, out: Path) -> None:
    """Package, calibrate and evaluate (module docstring)."""
    out.mkdir(parents=True, exist_ok=True)
    target = WEIGHTS_DIR / "watermark"
    target.mkdir(exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(trained / name, target / name)
    learned = from_pretrained("watermark")
    windows, _ = load_windows("val", 200, seed=1)
    rng = np.random.default_rng(1)
    marked = np.stack([learned.embed(w, rng.integers(0, 2, 16)) for w in windows])
    si_snr = float(compute_si_sdr(windows.astype(np.float64), marked.astype(np.float64)).mean())
    strength = round(10 ** (-si_snr / 20), 4)
    print(f"learned SI-SNR on val {si_snr:.2f} dB -> spread-spectrum strength {strength}")
    markers = {
        "learned": learned,
        "spread-spectrum": SpreadSpectrumWatermarker(SpreadSpectrumConfig(strength=strength)),
    }
    start = time.perf_counter()
    val = evaluate_watermarks(markers, "val", num_null=1000, num_marked=100, num_localization=20)
    (out / "watermark_val.json").write_text(json.dumps(val, indent=1))
    (out / "watermark_val.md").write_text(_markdown(val))
    mean_tpr = {
        n: float(np.mean([r["tpr@fpr=0.01"] for r in v["rows"]])) for n, v in val["watermarkers"].items()
    }
    print("val mean TPR@1e-2:", mean_tpr, f"{time.perf_counter() - start:.0f} s")
    thresholds = calibrate_thresholds(markers)
    thresholds["calibration"]["spread_spectrum_strength"] = strength
    thresholds["calibration"]["val_mean_tpr@0.01"] = mean_tpr
    (target / THRESHOLDS_FILE).write_text(json.dumps(thresholds, indent=1) + "\n")
    start = time.perf_counter()
    test = evaluate_watermarks(markers, "test")
    (out / "watermark_test.json").write_text(json.dumps(test, indent=1))
    (out / "watermark_test.md").write_text(_markdown(test))
    print(_markdown(test), f"test table {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
