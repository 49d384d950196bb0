"""What the default watermark costs the generators: the generation bench with it on and off, paired.

One generation bench run on the same clean AVSynth test clips scores each audio generator twice, as
shipped (watermark on) and with the watermark off (model id ``NAME@no-watermark``); the bench's paired
comparisons between generators of a task then include each generator against itself without the
watermark, with set metrics (FD, KL, IS) recomputed per resample::

    OMP_NUM_THREADS=1 python tools/watermark/generation_cost.py runs/watermark_cost \
        --write benchmarks/results/watermark-generation.json
    python tools/doc_tables.py

The doc tables (``watermark-generation`` and ``watermark-cost``) are made from the file it writes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from avikit.data.manifest import atomic_writer
from avikit.eval.generation import run_generation
from avikit.eval.reference_embedders import load_reference_embedders
from avikit.eval.tables import summarize_bench
from avikit.models.registry import get_model
from avikit.models.watermark import DEFAULT_WATERMARKER, set_watermarking

GENERATORS = {"v2a": ("v2a", "v2a-ar", "v2a-flow"), "joint-generation": ("joint-generation",)}
OFF = "@no-watermark"


def main(argv: list[str] | None = None) -> None:
    """Run the bench with each generator's watermark on and off; write the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="run folder of the generation bench")
    parser.add_argument("--n", type=int, default=8, help="clean AVSynth test clips")
    parser.add_argument("--write", required=True, help="results JSON for the doc tables")
    args = parser.parse_args(argv)
    models = {}
    for names in GENERATORS.values():
        for name in names:
            models[name] = get_model(name)
            off = get_model(name)
            set_watermarking(off, False)
            off.id = f"{off.id}{OFF}"
            models[f"{name}{OFF}"] = off
    embedders = load_reference_embedders({n: get_model(n) for n in ("retrieval", "classification", "sync")})
    section = run_generation(args.out, args.n, tuple(GENERATORS), models, embedders)
    section["rows"] = [r for r in section["rows"] if r["role"] == "generator"]
    section["comparisons"] = [c for c in section["comparisons"]
                              if c["kind"] == "paradigms" and c["reference"] == c["model"] + OFF]  # fmt: skip
    summary = summarize_bench({"run": {}, "tasks": {}, "generation": section})
    summary["watermarker"] = DEFAULT_WATERMARKER
    with atomic_writer(Path(args.write)) as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
