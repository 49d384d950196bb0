"""Run the official benchmark scorers on the shared inputs and write golden JSON for tests/metrics.

The official repositories are checked out outside this project and passed by path; nothing of them is copied
here. Where a scorer sits in a training script with heavy dependencies, only the scoring function (or the
scoring loop) is executed, with a stand-in for the model. Usage::

    python tools/golden/make_metrics_golden.py --official-root /tmp/official \
        --reference-data ../shared/reference-data --out tests/fixtures/golden/metrics

``--official-root`` holds the checkouts ``YapengTian+AVVP-ECCV20``, ``YapengTian+AVE-ECCV18``,
``ttgeng233+UnAV``, ``OpenNLPLab+AVSBench``, ``GeWu-Lab+MUSIC-AVQA`` and ``YuanGongND+cav-mae``. Needs pandas,
joblib, scikit-learn, h5py and torch.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import io
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_inputs as inputs

COMMAND = " ".join(["python", "tools/golden/make_metrics_golden.py", *sys.argv[1:]])


def commit_of(repo: Path) -> str:
    """The checked-out commit of an official repository."""
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def load_functions(path: Path, names: list[str], namespace: dict[str, Any]) -> dict[str, Any]:
    """Execute only the named top-level functions/classes of an official file in ``namespace``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    source = path.read_text(encoding="utf-8")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in names:
            exec(compile(ast.get_source_segment(source, node) or "", str(path), "exec"), namespace)
    missing = [name for name in names if name not in namespace]
    if missing:
        raise RuntimeError(f"{path}: functions not found: {missing}")
    return namespace


def write(out: Path, name: str, repo: Path, script: str, payload: dict[str, Any], tolerances: dict) -> None:
    """Write one golden JSON with its command, upstream commit and tolerances."""
    record = {
        "command": COMMAND,
        "upstream": {"repository": repo.name.replace("+", "/"), "commit": commit_of(repo), "script": script},
        "tolerances": tolerances,
        **payload,
    }
    (out / f"{name}.json").write_text(json.dumps(record, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {out / name}.json")


def golden_llp(root: Path, reference: Path, out: Path) -> None:
    """LLP: official segment_level / event_level per video, aggregated as main_avvp.py::eval."""
    import pandas as pd

    repo = root / "YapengTian+AVVP-ECCV20"
    sys.path.insert(0, str(repo / "utils"))
    import eval_metrics as official  # the official utils/eval_metrics.py

    data = inputs.llp_inputs(reference)
    # ground truth exactly as main_avvp.py::eval builds it, with pandas, per video of the test list
    categories = list(inputs.build_llp_ground_truth.__globals__["LLP_CATEGORIES"])
    id_to_idx = {name: index for index, name in enumerate(categories)}
    df = pd.read_csv(reference / "llp" / "AVVP_test_pd.csv", header=0, sep="\t")
    frames = {
        m: pd.read_csv(reference / "llp" / f"AVVP_eval_{m}.csv", header=0, sep="\t")
        for m in ("audio", "visual")
    }
    gt = {m: np.zeros((len(df), 25, 10)) for m in frames}
    for video in range(len(df)):
        for modality, table in frames.items():
            rows = table.loc[table["filename"] == df.loc[video, :].iloc[0]]
            for i in range(len(rows)):
                index = rows.index[i]
                gt[modality][
                    video,
                    id_to_idx[rows["event_labels"][index]],
                    int(rows["onset"][index]) : int(rows["offset"][index]),
                ] = 1
    lists: dict[str, list[float]] = {key: [] for key in ("sa", "sv", "s", "sav", "ea", "ev", "e", "eav")}
    for video in range(len(df)):
        pa, pv = data["pred_audio"][video], data["pred_visual"][video]
        ga, gv = gt["audio"][video], gt["visual"][video]
        for prefix, function in (("s", official.segment_level), ("e", official.event_level)):
            f_a, f_v, f, f_av = function(pa, pv, pa * pv, ga, gv, ga * gv)
            for suffix, value in (("a", f_a), ("v", f_v), ("", f), ("av", f_av)):
                lists[prefix + suffix].append(value)
    scores = {}
    for level, prefix in (("segment", "s"), ("event", "e")):
        mean = {key: 100 * np.mean(np.array(lists[prefix + key])) for key in ("a", "v", "", "av")}
        scores.update(
            {
                f"{level}_audio": mean["a"],
                f"{level}_visual": mean["v"],
                f"{level}_audio_visual": mean["av"],
                f"{level}_type": (mean["av"] + mean["a"] + mean["v"]) / 3.0,
                f"{level}_event": mean[""],
            }
        )
    payload = {
        "inputs": "golden_inputs.llp_inputs: real AVVP_test_pd.csv / AVVP_eval_{audio,visual}.csv "
        "ground truth, seeded noisy predictions",
        "input_digest": inputs.digest(data["pred_audio"], data["pred_visual"]),
        "official_ground_truth_digest": inputs.digest(
            gt["audio"].astype(np.int64), gt["visual"].astype(np.int64)
        ),
        "scores": {key: float(value) for key, value in scores.items()},
        "per_video_first_20": {key: [float(v) for v in value[:20]] for key, value in lists.items()},
    }
    write(
        out,
        "llp",
        repo,
        "utils/eval_metrics.py::segment_level/event_level + main_avvp.py::eval",
        payload,
        {"scores": {"abs": 0.0, "reason": "same float64 operations in the same order: bit-exact"}},
    )


def golden_ave(root: Path, reference: Path, out: Path) -> None:
    """AVE: compute_acc, and the evaluation loop of cmm_test.py with a distance stand-in for the model."""
    import h5py
    from sklearn.metrics import accuracy_score

    repo = root / "YapengTian+AVE-ECCV18"
    namespace = load_functions(
        repo / "supervised_main.py", ["compute_acc"], {"np": np, "accuracy_score": accuracy_score}
    )
    data = inputs.ave_accuracy_inputs(reference)
    one_hot = np.eye(29)[data["labels"]]
    accuracy = namespace["compute_acc"](one_hot, data["scores"], len(one_hot))
    with h5py.File(repo / "data" / "labels_closs.h5", "r") as handle:
        closs = np.array(handle["avadataset"][:]).astype("float32")
    with h5py.File(repo / "data" / "test_order_match.h5", "r") as handle:
        test_order = np.array(handle["order"][:])
    event_labels = closs[test_order].astype(np.int64)
    distances = inputs.ave_cross_modal_distances(event_labels)
    cross = run_cmm_test(repo / "cmm_test.py", event_labels, distances)
    payload = {
        "inputs": "accuracy: golden_inputs.ave_accuracy_inputs (real Annotations.txt labels, seeded scores); "
        "cross-modal: real labels_closs.h5 rows of test_order_match.h5 (below), "
        "golden_inputs.ave_cross_modal_distances",
        "accuracy_input_digest": inputs.digest(data["scores"], data["labels"]),
        "accuracy": float(accuracy),
        "cross_modal_event_labels": ["".join(str(int(v)) for v in row) for row in event_labels],
        "cross_modal": cross,
    }
    write(
        out,
        "ave",
        repo,
        "supervised_main.py::compute_acc; cmm_test.py (evaluation loop)",
        payload,
        {
            "accuracy": {"abs": 0.0, "reason": "integer counts over the same argmax: bit-exact"},
            "cross_modal": {
                "abs": 0.0,
                "reason": "same float32 sums in the same order, integer counts: bit-exact",
            },
        },
    )


def golden_ave_near_ties(root: Path, out: Path) -> None:
    """AVE cross-modal: the evaluation loop of cmm_test.py on distances whose window sums tie in float32."""
    repo = root / "YapengTian+AVE-ECCV18"
    data = inputs.ave_cross_modal_near_ties()
    cross = run_cmm_test(repo / "cmm_test.py", data["event_labels"], data["distances"])
    payload = {
        "inputs": "golden_inputs.ave_cross_modal_near_ties (below, float32 values written exactly)",
        "event_labels": data["event_labels"].tolist(),
        "distances": [[[float(x) for x in row] for row in video] for video in data["distances"]],
        "cross_modal": cross,
    }
    reason = "model outputs are float32, summed in float32 in the same order, integer counts: bit-exact"
    write(out, "ave_near_ties", repo, "cmm_test.py (evaluation loop)", payload,
          {"cross_modal": {"abs": 0.0, "reason": reason}})  # fmt: skip


class _DistanceModel:
    """Stands in for the Keras model of cmm_test.py; 'features' are (video, segment) indices."""

    def __init__(self, distances: np.ndarray) -> None:
        self.distances = distances

    def predict(self, pair: list[np.ndarray]) -> np.ndarray:
        video, visual = pair[0][0].astype(int)
        _, audio = pair[1][0].astype(int)
        return np.array([[self.distances[video, visual, audio]]], dtype=np.float32)


def run_cmm_test(path: Path, event_labels: np.ndarray, distances: np.ndarray) -> dict[str, float]:
    """Execute the evaluation loop of cmm_test.py; return its V2A and A2V accuracies."""
    source = path.read_text(encoding="utf-8")
    loop = source[source.index("N = y_test.shape[0]") :]
    loop = loop.replace("f = open(\"data/Annotations.txt\", 'r')", "f = io.StringIO('x\\n' * 5000)")
    loop = re.sub(r"\n\s*print\('(num|vid_input|aud_input).*", "", loop)
    count = len(event_labels)
    index = np.stack(np.meshgrid(np.arange(count), np.arange(10), indexing="ij"), -1).reshape(-1, 2)
    namespace = {
        "np": np,
        "io": io,
        "y_test": event_labels.reshape(-1).astype(float),
        "x_video_test": index,
        "x_audio_test": index,
        "model": _DistanceModel(distances),
        "test_l": np.arange(count),
    }
    load_functions(path, ["compute_precision"], namespace)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(loop, str(path), "exec"), namespace)
    return {
        "v2a": namespace["video_count"] * 100 / namespace["count_num"],
        "a2v": namespace["audio_count"] * 100 / namespace["count_num"],
    }


def _official_unav_scores(repo: Path, data: dict[str, np.ndarray]) -> dict[str, float]:
    """Run ANETdetection on a temporary annotation file in the official format; return its mAPs."""
    import pandas as pd

    np.float = float  # type: ignore[attr-defined]  # the official code uses np.float (removed in NumPy 1.24)
    sys.path.insert(0, str(repo / "libs" / "utils"))
    import metrics as official  # libs/utils/metrics.py

    database = {}
    for video in np.unique(data["gt_video_ids"]):
        rows = np.flatnonzero(data["gt_video_ids"] == video)
        database[str(video)] = {
            "subset": "test",
            "annotations": [
                {"segment": data["gt_segments"][r].tolist(), "label_id": int(data["gt_labels"][r])}
                for r in rows
            ],
        }
    with tempfile.TemporaryDirectory() as folder:
        ant_file = Path(folder) / "unav100_annotations.json"
        ant_file.write_text(json.dumps({"database": database}))
        evaluator = official.ANETdetection(
            str(ant_file), split="test", tiou_thresholds=np.linspace(0.1, 0.9, 9), num_workers=1
        )
        preds = pd.DataFrame(
            {
                "video-id": data["pred_video_ids"],
                "t-start": data["pred_segments"][:, 0],
                "t-end": data["pred_segments"][:, 1],
                "label": data["pred_labels"],
                "score": data["pred_scores"],
            }
        )
        with contextlib.redirect_stdout(io.StringIO()), np.errstate(invalid="ignore", divide="ignore"):
            mean_ap, average = evaluator.evaluate(preds, verbose=False)
    scores = {
        f"map@{t:.2f}".rstrip("0"): float(v) for t, v in zip(np.linspace(0.1, 0.9, 9), mean_ap, strict=True)
    }
    scores["average_map"] = float(average)
    return scores


def golden_unav(root: Path, out: Path) -> None:
    """UnAV-100: ANETdetection on a temporary annotation file in the official format."""
    repo = root / "ttgeng233+UnAV"
    data = inputs.unav_inputs()
    payload = {
        "inputs": "golden_inputs.unav_inputs (seeded; labels with gaps, a duplicate GT event per 10 videos, "
        "20% predictions with other labels, tied scores)",
        "input_digest": inputs.digest(data["pred_segments"], data["pred_scores"], data["gt_segments"]),
        "scores": _official_unav_scores(repo, data),
    }
    write(
        out,
        "unav",
        repo,
        "libs/utils/metrics.py::ANETdetection.evaluate",
        payload,
        {"scores": {"abs": 0.0, "reason": "same argsort, matching and float64 AP arithmetic: bit-exact"}},
    )


def golden_unav_reversed(root: Path, out: Path) -> None:
    """UnAV-100: ANETdetection on predictions of which some end before they start."""
    repo = root / "ttgeng233+UnAV"
    data = inputs.unav_reversed_inputs()
    payload = {
        "inputs": "golden_inputs.unav_reversed_inputs (unav_inputs with every 5th prediction reversed, and "
        "constructed reversed cases: tIoU 0/0, 0 and -0.0)",
        "input_digest": inputs.digest(data["pred_segments"], data["pred_scores"], data["gt_segments"]),
        "scores": _official_unav_scores(repo, data),
    }
    reason = "same argsort, NaN/-0.0 tIoU comparisons, matching and float64 AP arithmetic: bit-exact"
    write(out, "unav_reversed", repo, "libs/utils/metrics.py::ANETdetection.evaluate", payload,
          {"scores": {"abs": 0.0, "reason": reason}})  # fmt: skip


def golden_avsbench(root: Path, out: Path) -> None:
    """AVSBench: mask_iou / Eval_Fmeasure per batch and the AVSS accumulation, on CPU."""
    import torch

    repo = root / "OpenNLPLab+AVSBench"
    utility = load_functions(
        repo / "avs_scripts/avs_s4/utils/utility.py",
        ["mask_iou", "_eval_pr", "Eval_Fmeasure"],
        {"torch": torch, "os": __import__("os")},
    )
    utility["_eval_pr"] = functools.partial(utility["_eval_pr"], cuda_flag=False)  # CPU run
    meter = load_functions(repo / "avs_scripts/avs_s4/utils/pyutils.py", ["AverageMeter"], {})["AverageMeter"]
    data = inputs.avs_binary_inputs()
    binary: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(io.StringIO()):
        for batch_size in (1, 2, 4):
            miou_meter, f_meter = meter("miou"), meter("F_score")
            for begin in range(0, len(data["logits"]), batch_size):  # the loop of avs_s4/test.py
                logits = torch.from_numpy(data["logits"][begin : begin + batch_size]).flatten(0, 1)
                mask = torch.from_numpy(data["masks"][begin : begin + batch_size]).float().flatten(0, 1)
                miou_meter.add({"miou": utility["mask_iou"](logits, mask)})
                f_meter.add({"F_score": utility["Eval_Fmeasure"](logits, mask, folder)})
            binary[str(batch_size)] = {
                "miou": float(miou_meter.pop("miou").item()),
                "f_score": float(f_meter.pop("F_score")),
            }
    color = load_functions(
        repo / "avs_scripts/avss/utils/compute_color_metrics.py", ["_batch_miou_fscore"], {"torch": torch}
    )
    semantic_data = inputs.avs_semantic_inputs()
    num_classes = 12
    semantic = {}
    for batch_size in (1, 2):
        miou_pc, fs_pc, cls_pc = torch.zeros(num_classes), torch.zeros(num_classes), torch.zeros(num_classes)
        for begin in range(0, len(semantic_data["labels"]), batch_size):  # the accumulation of avss/test.py
            pred = torch.from_numpy(semantic_data["predictions"][begin : begin + batch_size]).flatten(0, 1)
            logits = torch.nn.functional.one_hot(pred, num_classes).permute(0, 3, 1, 2).float()
            target = torch.from_numpy(semantic_data["labels"][begin : begin + batch_size]).flatten(0, 1)
            ious, fscores, counts, _ = color["_batch_miou_fscore"](
                torch.softmax(logits, 1), target, num_classes, 10
            )
            miou_pc += ious
            cls_pc += counts
            fs_pc += fscores
        miou_pc, f_pc = miou_pc / cls_pc, fs_pc / cls_pc
        miou_pc[torch.isnan(miou_pc)] = 0
        f_pc[torch.isnan(f_pc)] = 0
        semantic[str(batch_size)] = {
            "miou": torch.mean(miou_pc).item(),
            "miou_nobg": torch.mean(miou_pc[:-1]).item(),
            "f_score": torch.mean(f_pc).item(),
            "f_score_nobg": torch.mean(f_pc[:-1]).item(),
        }
    thresholds = torch.linspace(0, 1 - 1e-10, 255).numpy()
    payload = {
        "inputs": "golden_inputs.avs_binary_inputs / avs_semantic_inputs (seeded); "
        "semantic predictions are class maps "
        "fed as one-hot logits",
        "input_digest": inputs.digest(data["logits"], data["masks"], semantic_data["predictions"]),
        "f_thresholds": [float(t) for t in thresholds],
        "binary_by_batch_size": binary,
        "semantic_by_batch_size": semantic,
    }
    write(
        out,
        "avsbench",
        repo,
        "avs_scripts/avs_s4/utils/utility.py::mask_iou/Eval_Fmeasure + test.py loop; "
        "avs_scripts/avss/utils/compute_color_metrics.py::_batch_miou_fscore + avss/test.py accumulation",
        payload,
        {
            "binary": {
                "abs": 4.1e-6,
                "reason": "both sides float32 (values in [0, 1]): worst-case rounding 2 (M + B + 5) 2^-24 = "
                "4.05e-6 for means of M <= 20 per-image scores per batch over B <= 9 batches and the IoU/F "
                "division chain, in any summation order (observed <= 9e-8)",
            },
            "semantic": {
                "abs": 9.1e-6,
                "reason": "both sides float32 (values in [0, 1]): worst-case rounding 2 (F + C + 4) 2^-24 = "
                "9.06e-6 for per-class sums over F = 60 frames and the mean over C = 12 classes, in any "
                "summation order (observed <= 3e-8)",
            },
            "f_thresholds": {"abs": 0.0, "reason": "bit-exact float32 grid"},
        },
    )


def golden_avqa(root: Path, reference: Path, out: Path) -> None:
    """MUSIC-AVQA: the official test() with a stand-in model and loader."""
    import torch

    repo = root / "GeWu-Lab+MUSIC-AVQA"
    data = inputs.avqa_inputs(reference)
    namespace: dict[str, Any] = {"torch": torch, "json": json, "ast": ast}
    load_functions(repo / "net_grd_avst" / "main_avst.py", ["test"], namespace)

    class Stub:
        def __init__(self, value: Any) -> None:
            self.value = value

        def to(self, device: str) -> Any:
            return self.value

    logits, labels = torch.from_numpy(data["logits"]), torch.from_numpy(data["labels"])
    loader = [
        {
            "audio": Stub(i),
            "visual_posi": Stub(i),
            "visual_nega": Stub(i),
            "question": Stub(i),
            "label": Stub(labels[i : i + 1]),
        }
        for i in range(len(labels))
    ]

    class Model:
        def eval(self) -> None:
            pass

        def __call__(self, audio: int, *rest: Any) -> tuple:
            return logits[audio : audio + 1], None, None

    printed = io.StringIO()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "data" / "json").mkdir(parents=True)
        (Path(folder) / "data" / "json" / "avqa-test.json").write_bytes(
            (reference / "music-avqa" / "avqa-test.json").read_bytes()
        )
        cwd = Path.cwd()
        try:
            __import__("os").chdir(folder)
            with contextlib.redirect_stdout(printed):
                overall = namespace["test"](Model(), loader)
        finally:
            __import__("os").chdir(cwd)
    names = [
        "audio_counting",
        "audio_comparative",
        "audio",
        "visual_counting",
        "visual_location",
        "visual",
        "audio_visual_existential",
        "audio_visual_counting",
        "audio_visual_location",
        "audio_visual_comparative",
        "audio_visual_temporal",
        "audio_visual",
        "overall_printed",
    ]
    values = [float(v) for v in re.findall(r": ([0-9.]+) %", printed.getvalue())]
    payload = {
        "inputs": "golden_inputs.avqa_inputs: real avqa-test.json (9185 questions), answers indexed in "
        "first-seen order, seeded float32 logits",
        "input_digest": inputs.digest(data["logits"], data["labels"]),
        "printed": dict(zip(names, values, strict=True)),
        "overall": float(overall),
    }
    write(
        out,
        "music_avqa",
        repo,
        "net_grd_avst/main_avst.py::test",
        payload,
        {
            "printed": {
                "abs": 0.005,
                "reason": "the official script prints the type accuracies with 2 decimals only",
            },
            "overall": {"abs": 0.0, "reason": "returned unrounded: bit-exact"},
        },
    )


def golden_cav_mae(root: Path, out: Path) -> None:
    """cav-mae: retrieval compute_metrics and classification calculate_stats."""
    from sklearn import metrics

    repo = root / "YuanGongND+cav-mae"
    retrieval = load_functions(repo / "src" / "retrieval.py", ["compute_metrics"], {"np": np})[
        "compute_metrics"
    ]
    similarity = inputs.retrieval_inputs()
    directions = {"audio_to_video": retrieval(similarity), "video_to_audio": retrieval(similarity.T)}
    stats_ns = load_functions(
        repo / "src" / "utilities" / "stats.py",
        ["calculate_stats"],
        {"np": np, "metrics": metrics, "stats": __import__("scipy").stats},
    )
    data = inputs.classification_inputs()
    with contextlib.redirect_stdout(io.StringIO()):
        stats = stats_ns["calculate_stats"](data["scores"], data["targets"])
        single = stats_ns["calculate_stats"](data["scores"], np.eye(30)[data["single_labels"]])
    payload = {
        "inputs": "golden_inputs.retrieval_inputs and classification_inputs (seeded, rounded: ties occur)",
        "input_digest": inputs.digest(similarity, data["scores"], data["targets"]),
        "retrieval": {d: {k: float(v) for k, v in m.items()} for d, m in directions.items()},
        "multilabel_ap": [float(s["AP"]) for s in stats],
        "multilabel_map": float(np.mean([s["AP"] for s in stats])),
        "single_label_accuracy": float(single[0]["acc"]),
        "top_k_accuracy_sklearn": {
            str(k): float(
                metrics.top_k_accuracy_score(data["single_labels"], data["scores"], k=k, labels=np.arange(30))
            )
            for k in (1, 5)
        },
    }
    write(
        out,
        "cav_mae",
        repo,
        "src/retrieval.py::compute_metrics; src/utilities/stats.py::calculate_stats",
        payload,
        {
            "retrieval": {"abs": 0.0, "reason": "integer counts and numpy median: bit-exact"},
            "multilabel_ap": {"abs": 1e-12, "reason": "sklearn sums the AP terms in reverse order"},
            "accuracy": {"abs": 0.0, "reason": "integer counts: bit-exact"},
        },
    )


def main() -> None:
    """Parse the arguments and write every golden file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official-root", type=Path, required=True)
    parser.add_argument("--reference-data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/golden/metrics"))
    parser.add_argument("--only", nargs="*", default=None, help="write only these golden files (names)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    jobs: dict[str, Callable[[], None]] = {
        "llp": lambda: golden_llp(args.official_root, args.reference_data, args.out),
        "ave": lambda: golden_ave(args.official_root, args.reference_data, args.out),
        "ave_near_ties": lambda: golden_ave_near_ties(args.official_root, args.out),
        "unav": lambda: golden_unav(args.official_root, args.out),
        "unav_reversed": lambda: golden_unav_reversed(args.official_root, args.out),
        "avsbench": lambda: golden_avsbench(args.official_root, args.out),
        "music_avqa": lambda: golden_avqa(args.official_root, args.reference_data, args.out),
        "cav_mae": lambda: golden_cav_mae(args.official_root, args.out),
    }
    unknown = set(args.only or ()) - set(jobs)
    if unknown:
        parser.error(f"unknown golden file(s) {sorted(unknown)}; known: {', '.join(jobs)}")
    for name, job in jobs.items():
        if args.only is None or name in args.only:
            job()


if __name__ == "__main__":
    main()
