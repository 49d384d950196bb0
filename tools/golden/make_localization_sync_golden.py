"""Run the official localisation (LVS, EZ-VSL) and sync (Synchformer) scorers; write golden JSON.

The official repositories are checked out outside this project and passed by path; nothing of them is copied
here. Only the scoring code runs: the evaluator classes and helpers are taken from the official files by
name, and the per-image scoring statements of the official test loops are taken from the source and run
with the heatmaps of :func:`golden_inputs.localization_inputs` in place of the model output. Usage::

    python tools/golden/make_localization_sync_golden.py --official-root /tmp/official \
        --out tests/fixtures/golden/metrics

``--official-root`` holds the checkouts ``hche11+Localizing-Visual-Sounds-the-Hard-Way``,
``stoneMo+EZ-VSL`` and ``v-iashin+Synchformer``. Needs scikit-learn and torch.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_inputs as inputs
from make_metrics_golden import commit_of, load_functions

COMMAND = " ".join(["python", "tools/golden/make_localization_sync_golden.py", *sys.argv[1:]])
LVS = "hche11+Localizing-Visual-Sounds-the-Hard-Way"
EZVSL = "stoneMo+EZ-VSL"
SYNCHFORMER = "v-iashin+Synchformer"


def loop_body(path: Path, function: str, loop_source: str) -> str:
    """The source of the body of the first ``for`` loop headed ``loop_source`` inside ``function``."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for inner in ast.walk(node):
                if isinstance(inner, ast.For) and ast.unparse(inner.iter) == loop_source:
                    return "\n".join(ast.get_source_segment(source, stmt) or "" for stmt in inner.body)
    raise RuntimeError(f"{path}: loop over {loop_source} not found in {function}")


def statements_after(path: Path, function: str, first: str) -> str:
    """The source of the statements of ``function`` from the one starting with ``first`` to its end."""
    source = path.read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            segments = [ast.get_source_segment(source, stmt) or "" for stmt in node.body]
            start = next(i for i, text in enumerate(segments) if text.startswith(first))
            return "\n".join(segments[start:])
    raise RuntimeError(f"{path}: {function} not found")


class _Tensor:
    """Stands in for a torch tensor that the loop only reads back with ``.data.cpu().numpy()``."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    @property
    def data(self) -> _Tensor:
        return self

    def cpu(self) -> _Tensor:
        return self

    def numpy(self) -> np.ndarray:
        return self.array


def run_lvs(repo: Path, heatmaps: np.ndarray, gt_maps: np.ndarray) -> dict[str, Any]:
    """LVS test.py: the per-image statements of ``main`` and its cIoU/AUC lines, with utils.py's Evaluator."""
    from sklearn.metrics import auc

    utils = load_functions(repo / "utils.py", ["Evaluator", "normalize_img"], {"np": np})
    body = compile(loop_body(repo / "test.py", "main", "range(spec.shape[0])"), "lvs-test-loop", "exec")
    final = compile(statements_after(repo / "test.py", "main", "results = []"), "lvs-test-final", "exec")
    namespace: dict[str, Any] = {
        **utils,
        "np": np,
        "auc": auc,
        "cv2": _Resize(),
        "iou": [],
        "spec": np.zeros((1,)),
        "i": 0,  # the loop variable: one image per batch
    }
    for image in range(len(heatmaps)):
        namespace["heatmap_arr"] = heatmaps[image][None, None]  # [B=1, 1, 224, 224], the model output
        namespace["name"] = [image]
        namespace["testset_gt"] = lambda args, name: gt_maps[name]
        namespace["args"] = None
        exec(body, namespace)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(final, namespace)
    return {
        "ciou_per_image": [float(v) for v in namespace["iou"]],
        "ciou": float(np.sum(np.array(namespace["iou"]) >= 0.5) / len(namespace["iou"])),
        "auc": float(namespace["auc_"]),
        "printed": printed.getvalue().strip().splitlines(),
    }


class _Resize:
    """``cv2`` stand-in: the heatmaps are already 224 x 224, so ``cv2.resize`` is the identity."""

    INTER_LINEAR = 1

    def resize(self, array: np.ndarray, dsize: tuple[int, int], interpolation: int) -> np.ndarray:
        assert array.shape == dsize[::-1], "the golden heatmaps are given at 224 x 224"
        return array.copy()


def run_ezvsl(repo: Path, heatmaps: np.ndarray, gt_maps: np.ndarray) -> dict[str, Any]:
    """EZ-VSL test.py::validate: the per-image statements and ``compute_stats`` for the AV evaluator."""
    from sklearn import metrics

    utils = load_functions(repo / "utils.py", ["Evaluator", "normalize_img"], {"np": np, "metrics": metrics})
    module = type(sys)("utils")
    module.__dict__.update(utils)
    body = compile(loop_body(repo / "test.py", "validate", "range(spec.shape[0])"), "ezvsl-loop", "exec")
    evaluators = {key: utils["Evaluator"]() for key in ("evaluator_av", "evaluator_obj", "evaluator_av_obj")}
    args = argparse.Namespace(alpha=0.4, save_visualizations=False)
    for image in range(len(heatmaps)):
        namespace: dict[str, Any] = {
            "np": np,
            "utils": module,
            "args": args,
            "spec": np.zeros((1,)),
            "i": 0,  # the loop variable: one image per batch
            "heatmap_av": heatmaps[image][None, None],  # [B=1, 1, 224, 224] after F.interpolate
            "heatmap_obj": heatmaps[(image + 1) % len(heatmaps)][None, None],
            "bboxes": {"gt_map": _Tensor(gt_maps[image][None])},  # collated batch of one
            **evaluators,
        }
        exec(body, namespace)
    av = evaluators["evaluator_av"]
    return {
        "ciou_per_image": [float(v) for v in av.ciou],
        "ciou": float(av.finalize_AP50()),
        "auc": float(av.finalize_AUC()),
        "mean_ciou": float(av.finalize_cIoU()),
    }


def golden_localization(root: Path, out: Path) -> None:
    """LVS and EZ-VSL on the same float32 heatmaps, and on their float64 copies."""
    data = inputs.localization_inputs()
    lvs, ezvsl = root / LVS, root / EZVSL
    results: dict[str, Any] = {}
    for dtype in ("float32", "float64"):
        heatmaps = data["heatmaps"].astype(dtype)
        results[dtype] = {
            "lvs": run_lvs(lvs, heatmaps, data["gt_maps"]),
            "ezvsl": run_ezvsl(ezvsl, heatmaps, data["gt_maps"]),
        }
    record = {
        "command": COMMAND,
        "upstream": {
            "repository": "hche11/Localizing-Visual-Sounds-the-Hard-Way",
            "commit": commit_of(lvs),
            "script": "test.py::main (per-image statements, cIoU/AUC lines) + utils.py::Evaluator.cal_CIOU",
            "also": {
                "repository": "stoneMo/EZ-VSL",
                "commit": commit_of(ezvsl),
                "script": "test.py::validate (per-image statements, evaluator_av) + utils.py::Evaluator",
            },
        },
        "tolerances": {
            "ciou_per_image": {
                "abs": 0.0,
                "reason": "same masks and float64 sums of 0/0.5/1 values: bit-exact",
            },
            "scores": {"abs": 0.0, "reason": "integer counts and the same trapezoid order: bit-exact"},
        },
        "inputs": "golden_inputs.localization_inputs (seeded, 40 maps of 224 x 224, float32; the float64 "
        "results score the same maps cast to float64); EZ-VSL's S_OBJ map is the next image's heatmap "
        "and only the AV evaluator is recorded",
        "input_digest": inputs.digest(data["heatmaps"], data["gt_maps"]),
        "results": results,
    }
    path = out / "localization.json"
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def golden_sync(root: Path, out: Path) -> None:
    """Synchformer calc_cls_metrics on concatenated float32 logits, as the test loop calls it."""
    import scipy
    import torch
    from sklearn.metrics import (
        average_precision_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
        top_k_accuracy_score,
    )

    repo = root / SYNCHFORMER
    namespace = load_functions(repo / "utils" / "utils.py", ["fix_prefix"], {})
    namespace.update(
        {
            "torch": torch,
            "np": np,
            "scipy": scipy,
            "logging": logging,
            "top_k_accuracy_score": top_k_accuracy_score,
            "average_precision_score": average_precision_score,
            "roc_auc_score": roc_auc_score,
            "precision_score": precision_score,
            "recall_score": recall_score,
            "f1_score": f1_score,
        }
    )
    load_functions(repo / "scripts" / "train_utils.py", ["calc_cls_metrics"], namespace)
    import scipy.stats  # calc_cls_metrics uses scipy.stats.norm

    data = inputs.sync_inputs()
    logging.disable(logging.WARNING)
    sets: dict[str, Any] = {}
    for name, logits_key, labels_key in (
        ("distinct", "logits", "labels"),
        ("tied", "tied_logits", "tied_labels"),
        ("binary", "binary_logits", "binary_labels"),
    ):
        logits = torch.from_numpy(data[logits_key]).float()  # as verbose_test_progress: .float()
        targets = torch.from_numpy(data[labels_key]).long()
        metrics = namespace["calc_cls_metrics"](targets, logits)
        top1 = torch.topk(logits, k=min(5, logits.shape[1]), dim=1)[1][:, 0]  # the `preds[:, 0]` it uses
        sets[name] = {
            "accuracy_1": float(metrics["accuracy_1"]),
            "accuracy_1_tol1": float(metrics["accuracy_1_tol1"]),
        }
        if name == "tied":
            sets[name]["topk_top1"] = [int(v) for v in top1]
    record = {
        "command": COMMAND,
        "upstream": {
            "repository": "v-iashin/Synchformer",
            "commit": commit_of(repo),
            "script": "scripts/train_utils.py::calc_cls_metrics (accuracy_1, accuracy_1_tol1)",
        },
        "tolerances": {
            "accuracy_1": {"abs": 0.0, "reason": "integer hit counts over the same float32 softmax ties"},
            "accuracy_1_tol1": {
                "abs": 0.0,
                "reason": "hit counts; rows with tied maxima skipped: torch.topk tie order unspecified",
            },
        },
        "inputs": "golden_inputs.sync_inputs (seeded float32 logits: 3000 x 21 distinct, 600 x 21 with exact "
        "ties, 400 x 2 with ties); tied.topk_top1 is torch.topk's first index, as accuracy_1_tol1 uses it",
        "input_digest": inputs.digest(data["logits"], data["tied_logits"], data["binary_logits"]),
        "torch_version": torch.__version__,
        "sets": sets,
    }
    path = out / "sync.json"
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    """Parse the arguments and write both golden files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official-root", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/golden/metrics"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    golden_localization(args.official_root, args.out)
    golden_sync(args.official_root, args.out)


if __name__ == "__main__":
    main()
