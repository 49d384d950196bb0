"""Run av-benchmark's metric functions on seeded embeddings and write the generation golden JSON.

The official repository is checked out outside this project and passed by path; nothing of it is copied here.
Only ``av_bench/metrics/{fad,kl,isc}.py`` (imported as files, they need numpy, scipy and torch) and
``make_class_grid`` of ``av_bench/synchformer/synchformer.py`` (executed alone) run. Usage::

    git clone https://github.com/hkchengrex/av-benchmark /tmp/avb && git -C /tmp/avb checkout 050a5cdb9b
    python tools/golden/make_generation_golden.py --official /tmp/avb \
        --out tests/fixtures/golden/generation/av_benchmark.json

The seeded inputs are written into the JSON (as float32), so the tests read exactly what upstream read.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import json
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

COMMAND = " ".join(["python", "tools/golden/make_generation_golden.py", *sys.argv[1:]])


def load_module(path: Path) -> ModuleType:
    """Import one upstream file by path (no package ``__init__`` runs)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_function(path: Path, name: str) -> Any:
    """Execute one top-level function of an upstream file, with numpy and torch in scope."""
    source = path.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"np": np, "torch": torch}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            exec(compile(ast.get_source_segment(source, node) or "", str(path), "exec"), namespace)
    return namespace[name]


def inputs() -> dict[str, np.ndarray]:
    """Seeded embeddings and logits: correlated features, a shifted set, a rank-deficient set, logits."""
    rng = np.random.default_rng(20240607)
    mixing = rng.normal(size=(8, 8)) / 3
    return {
        "fd_prediction": (rng.normal(size=(64, 8)) @ mixing + 0.3).astype(np.float32),
        "fd_target": (rng.normal(size=(80, 8)) @ mixing).astype(np.float32),
        "fd_small_prediction": rng.normal(size=(5, 8)).astype(np.float32),
        "fd_small_target": rng.normal(size=(6, 8)).astype(np.float32),
        "kl_prediction": (rng.normal(size=(40, 12)) * 2).astype(np.float32),
        "kl_target": (rng.normal(size=(40, 12)) * 2).astype(np.float32),
        "is_logits": (rng.normal(size=(57, 10)) * 3).astype(np.float32),
        "is_logits_few": rng.normal(size=(7, 10)).astype(np.float32),
        "ib_video": rng.normal(size=(30, 16)).astype(np.float32),
        "ib_audio": rng.normal(size=(30, 16)).astype(np.float32),
        "sync_logits": rng.normal(size=(12, 2, 21)).astype(np.float32),
    }


def run_official(repo: Path, data: dict[str, np.ndarray]) -> dict[str, Any]:
    """Every number, from upstream code only."""
    fad = load_module(repo / "av_bench/metrics/fad.py")
    kl = load_module(repo / "av_bench/metrics/kl.py")
    isc = load_module(repo / "av_bench/metrics/isc.py")
    grid = load_function(repo / "av_bench/synchformer/synchformer.py", "make_class_grid")(-2, 2, 21)
    t = {key: torch.from_numpy(value) for key, value in data.items()}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as printed:
        warnings.simplefilter("ignore")
        out: dict[str, Any] = {
            "fd": float(fad.compute_fd(data["fd_prediction"], data["fd_target"])),
            "fd_swapped": float(fad.compute_fd(data["fd_target"], data["fd_prediction"])),
            "fd_small": float(fad.compute_fd(data["fd_small_prediction"], data["fd_small_target"])),
            "kl": kl.compute_kl([t["kl_prediction"]], t["kl_target"]),
            "is": isc.compute_isc(t["is_logits"], None, 2020, True, 10),
            "is_few": isc.compute_isc(t["is_logits_few"], None, 2020, True, 10),
            "ib_score": torch.cosine_similarity(t["ib_video"], t["ib_audio"], dim=-1).mean().item(),
        }
    out["fd_printed"] = printed.getvalue().strip()
    # evaluate.py's DeSync loop: |grid[argmax]| per window, mean over all windows
    top = torch.argmax(t["sync_logits"], dim=-1).numpy()
    out["desync"] = float(np.mean([abs(grid[k].item()) for k in top.reshape(-1)]))
    out["sync_grid"] = [float(value) for value in grid.numpy()]
    return out


def main() -> None:
    """Parse arguments, run upstream, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True, help="av-benchmark checkout")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(args.official), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    data = inputs()
    record = {
        "command": COMMAND,
        "upstream": {
            "repository": "hkchengrex/av-benchmark",
            "commit": commit,
            "script": "av_bench/metrics/{fad,kl,isc}.py; make_class_grid; evaluate.py (IB, DeSync)",
        },
        "versions": {"numpy": np.__version__, "torch": torch.__version__, "scipy": _scipy_version()},
        "tolerances": {
            "fd": {
                "bound": "conditioning",
                "reason": "float64 rounding of np.cov, the product and scipy sqrtm differs across CPUs "
                "and BLAS builds; tr sqrtm(S1 S2) amplifies it by the conditioning of S1 S2 (sqrt(delta) "
                "per zero eigenvalue: fd_small is rank-deficient), so the test derives the bound from the "
                "inputs (tests/metrics/test_generation.py::frechet_rounding_bound)",
            },
            "kl": {
                "rel": 1e-5,
                "reason": "upstream: float32 torch log-softmax and sums over 12 classes (relative rounding "
                "< 1e-6 in any order); avikit: float64",
            },
            "is": {
                "rel": 1e-12,
                "reason": "both float64; 57 x 10 positive terms summed in any order differ by < 1e-14 "
                "relative",
            },
            "ib_score": {
                "abs": 2.1e-6,
                "reason": "upstream cosine is float32: worst-case rounding (2D + 2) * 2^-24 = 2.03e-6 for "
                "D = 16 in any summation order; avikit float64",
            },
            "desync": {
                "abs": 0.0,
                "reason": "argmax over the same float32 logits (no ties) indexes the same float32 grid: no "
                "arithmetic",
            },
        },
        "inputs": {key: value.tolist() for key, value in data.items()},
        "official": run_official(args.official, data),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(_nan_to_null(record), indent=1, allow_nan=False) + "\n", encoding="utf-8")


def _nan_to_null(value: Any) -> Any:
    """Strict JSON: NaN (IS with fewer rows than splits) is written as null."""
    if isinstance(value, dict):
        return {key: _nan_to_null(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nan_to_null(item) for item in value]
    return None if isinstance(value, float) and np.isnan(value) else value


def _scipy_version() -> str:
    import scipy

    return str(scipy.__version__)


if __name__ == "__main__":
    main()
