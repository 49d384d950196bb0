"""Scaling benchmark: ``eval run`` with 1 and 2 processes (torchrun, Ray), the run cache, and per-clip costs.

What it measures, on an AVSynth test set written to disk (``--clips`` clips of 10 s, 128x128 at 8 fps,
16 kHz stereo AAC) and its packed copy (``avikit data pack``, same size):

- wall time of ``avikit eval run`` on the packed set with reference models (``--models``) and the oracle:
  one process (local engine), ``torchrun --nproc-per-node 2`` (gloo), and the Ray engine with 1 and 2 actors
  (local cluster of 2 CPUs; the cluster's start is not counted);
- the run cache: the same run into a fresh folder with ``--cache``, cold and then warm (the second run);
- per-clip costs for the scale plan (docs/scale.md): decoding a clip (original and packed), the models'
  predict time per clip (from the records' ``predict_seconds``), and the harness's own time per clip
  (an oracle-only run: items, checks, records, scores).

Every row carries its wall time, the CPU time of its processes (user + system, children included: what a
loaded machine does not change much) and the load average before and after it; compare rows only within
one run.

Usage::

    .venv/bin/python benchmarks/scaling.py                 # 48 clips, about 10 minutes on 2 cores
    .venv/bin/python benchmarks/scaling.py --clips 16      # shorter
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def _row(
    name: str, timed: tuple[float, float | None], clips: int, before: tuple[float, ...], **extra: object
) -> dict[str, object]:
    after = os.getloadavg()
    seconds, cpu = timed
    row = {"name": name, "seconds": round(seconds, 2), "clips_per_s": round(clips / seconds, 2),
           "cpu_seconds": None if cpu is None else round(cpu, 2),
           "load_before": round(before[0], 1), "load_after": round(after[0], 1), **extra}  # fmt: skip
    rate, cpu_text = clips / seconds, "-" if cpu is None else f"{cpu:.1f}"
    print(f"  {name:<40} {seconds:7.1f} s {rate:6.2f} clips/s  cpu {cpu_text:>6} s  load {before[0]:.1f} -> "
          f"{after[0]:.1f}", flush=True)  # fmt: skip
    return row


def _eval_args(out: Path, dataset: Path, models: str) -> list[str]:
    return ["eval", "run", "--out", str(out), "--tasks", "avel,sync", "--models", models,
            "--dataset", str(dataset), "--batch-size", "8"]  # fmt: skip


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system of the command and of every process it waited for)."""
    usage, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(argv)}\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - start, after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime


def _predict_seconds(out: Path) -> dict[str, float]:
    per_model: dict[str, list[float]] = {}
    for path in (out / "cells").rglob("*.jsonl"):
        if path.parent.name == "energy":
            continue
        for line in path.read_text().splitlines():
            record = json.loads(line)
            per_model.setdefault(record["model_id"], []).append(record.get("predict_seconds", 0.0))
    return {model: sum(v) / len(v) for model, v in per_model.items()}


def _decode_cost(folder: Path, count: int) -> float:
    from avikit.data.manifest import read_manifest
    from avikit.eval.source import load_sample_clip

    samples = read_manifest(folder / "test.jsonl")[:count]
    start = time.process_time()
    for sample in samples:
        load_sample_clip(sample, folder)
    return (time.process_time() - start) / len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=48, help="AVSynth test clips (default 48)")
    parser.add_argument("--models", default="avel,sync,oracle", help="models of the timed runs")
    parser.add_argument("--work", type=Path, default=HERE / "_scaling", help="work folder (git-ignored)")
    parser.add_argument("--json", type=Path, default=HERE / "_scaling" / "scaling_results.json")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    work: Path = args.work
    shutil.rmtree(work / "runs", ignore_errors=True)
    print(f"command: {shlex.join([Path(PY).name, *sys.argv])}\nmachine: {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()}", flush=True)  # fmt: skip

    from avikit.data.pack import pack_dataset
    from avikit.data.synth import prepare_avsynth
    from avikit.media.repack import RepackSpec

    data, packed = work / f"avsynth{args.clips}", work / f"packed{args.clips}"
    prepare_avsynth(data, {"test": args.clips}, seed=0)
    report = pack_dataset(data, packed, RepackSpec(), verify=4)
    sizes = f"{report.bytes_before / 1e6:.1f} MB -> {report.bytes_after / 1e6:.1f} MB"
    print(f"  packed {report.media} clips: {sizes}, {report.fidelity}", flush=True)
    rows: list[dict[str, object]] = []
    runs = work / "runs"
    avikit = [PY, "-m", "avikit"]
    torchrun = [PY, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "avikit"]

    before = os.getloadavg()
    timed = _timed([*avikit, *_eval_args(runs / "one", packed, args.models)], env)
    rows.append(_row("1 process (local engine)", timed, args.clips, before))
    before = os.getloadavg()
    timed = _timed([*torchrun, *_eval_args(runs / "two", packed, args.models)], env)
    same = json.loads((runs / "two/results.json").read_text()) == json.loads(
        (runs / "one/results.json").read_text()
    )
    rows.append(_row("2 processes (torchrun, gloo)", timed, args.clips, before, results_equal=same))
    rows += _ray_rows(runs, packed, args)

    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    for name in ("cold", "warm"):
        before = os.getloadavg()
        argv = [*avikit, *_eval_args(runs / f"cache-{name}", packed, args.models), "--cache", str(cache)]
        rows.append(_row(f"1 process, --cache, {name}", _timed(argv, env), args.clips, before))

    before = os.getloadavg()
    startup = _timed([*avikit, *_eval_args(runs / "startup", packed, args.models), "--num-samples", "1"], env)
    oracle = _timed([*avikit, *_eval_args(runs / "oracle", packed, "oracle")], env)
    costs = {
        "one_clip_run": {"seconds": startup[0], "cpu_seconds": startup[1]},
        "decode_original_cpu_s": _decode_cost(data, 16),
        "decode_packed_cpu_s": _decode_cost(packed, 16),
        "predict_s_per_clip": _predict_seconds(runs / "one"),
        "oracle_run": {"seconds": oracle[0], "cpu_seconds": oracle[1]},
        "load_before": before[0],
        "load_after": os.getloadavg()[0],
    }
    print(f"  per-clip costs: {json.dumps(costs)}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows, "costs": costs, "pack": report.fidelity}, indent=1))
    print(f"results written to {args.json}")


def _ray_rows(runs: Path, packed: Path, args: argparse.Namespace) -> list[dict[str, object]]:
    try:
        import ray
    except ImportError:
        print("  ray not installed: pip install 'avikit[ray]'", flush=True)
        return []
    from avikit.cli.common import split_list
    from avikit.eval.ray_engine import RayEngine
    from avikit.eval.runner import RunConfig, run_evaluation
    from avikit.models.registry import get_model

    os.environ["OMP_NUM_THREADS"] = "1"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    rows = []
    config = RunConfig(("avel", "sync"), split_list([args.models]), dataset=str(packed), batch_size=8)
    models = [get_model(name) for name in config.models]
    for actors in (1, 2):
        before = os.getloadavg()
        start = time.perf_counter()
        engine = RayEngine(models, packed, None, num_actors=actors)
        run_evaluation(config, runs / f"ray{actors}", models=dict(zip(config.models, models, strict=True)),
                       engine=engine)  # fmt: skip
        timed = (time.perf_counter() - start, None)  # CPU of the actors is not the driver's
        same = json.loads((runs / f"ray{actors}/results.json").read_text()) == json.loads(
            (runs / "one/results.json").read_text()
        )
        name = f"ray engine, {actors} actor(s), cluster up"
        rows.append(_row(name, timed, args.clips, before, results_equal=same))
    ray.shutdown()
    return rows


if __name__ == "__main__":
    main()
