"""Video-to-audio in three paradigms against the retrieval baseline and the real audio, on this CPU.

Every packaged v2a model (``v2a`` = MaskGIT, ``v2a-ar``, ``v2a-flow``, ``v2a-retrieval``) runs its
``predict`` on task ``v2a`` for the first ``--clips`` AVSynth test clips (10 s, 8 fps, 128 px, 16 kHz), as
``avikit bench`` runs it; the written audio is scored with the benchmark's AVSynth reference embedders
(:mod:`avikit.eval.reference_embedders`) and the metrics of :mod:`avikit.metrics.generation`:

- quality: ``mel_distance`` to the real audio (DAC multi-scale, lower is better), ``fd`` (Frechet distance of
  the generated to the real audio embeddings, lower is better), ``kl`` (KL(real || generated) of the audio
  classifier, lower is better);
- alignment: mean cosine of the real video's and the generated audio's embeddings (higher is better);
- sync: ``desync`` (mean |offset| in s the sync model predicts on the first and the last 5 s, lower is
  better) and ``offset_accuracy`` (fraction of those windows judged in sync, offset 0, higher is better);
- speed and size: ``seconds_per_clip`` of ``predict``, ``rtf`` (seconds per second of audio, one thread),
  ``parameters`` (network and codec).

With ``--resynthesis`` it also scores the real audio passed through each generator's decoder (the codec of
a token model, encode then decode; the vocoder of ``v2a-flow``, from the real mel): the ceiling that decoder
puts on the generator.

Usage::

    .venv/bin/python benchmarks/v2a_paradigms.py [--clips 16] [--models v2a,v2a-ar,v2a-flow,v2a-retrieval]
        [--resynthesis] [--split test]

``--models`` takes registry names or package folders.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avikit.data.synth import generate
from avikit.eval.reference_embedders import load_reference_embedders
from avikit.media import AVClip
from avikit.metrics.generation import (
    evaluate_alignment,
    evaluate_desync,
    evaluate_frechet_distance,
    evaluate_kl,
)
from avikit.metrics.reconstruction import compute_mel_distance
from avikit.models.generation.v2a_pipeline import from_pretrained
from avikit.models.protocol import Item
from avikit.models.registry import get_model
from avikit.tasks import SYNC_OFFSETS
from avikit.tasks.generation import V2ATask

GRID = np.array([float(offset) for offset in SYNC_OFFSETS])


def load_items(count: int, seed: int = 0, split: str = "test") -> list[Item]:
    task, items = V2ATask(), []
    for index in range(count):
        sample, clip = generate(split, index, seed)[:2]
        sample = replace(sample, split=task.spec.protocol.split)
        media = (clip.require_frames(), clip.require_waveform())
        items.append(Item(sample, task.build_inputs(sample), lambda m=media: m, dict))
    return items


def run(model: Any, items: list[Item]) -> tuple[np.ndarray, float]:
    """Each item's written audio ``[N, S]`` and the seconds ``predict`` took."""
    task = V2ATask()
    with tempfile.TemporaryDirectory() as folder:
        task.scratch = folder
        start = time.perf_counter()
        records = model.predict(task, items)
        seconds = time.perf_counter() - start
        audio = np.stack([np.load(r["audio"]) for r in records])
    return audio.astype(np.float32), seconds


def score(
    embedders: Mapping[str, Any], audio: np.ndarray, frames: np.ndarray, real: np.ndarray
) -> dict[str, float]:
    def embed(role: str, key: str, waves: np.ndarray) -> np.ndarray:
        clips = [AVClip(f, w[None], fps=8, sample_rate=16000) for f, w in zip(frames, waves, strict=True)]
        return np.stack([embedders[role].embed(clip)[key] for clip in clips])

    generated, reference = embed("audio", "embedding", audio), embed("audio", "embedding", real)
    video = np.stack([embedders["video"].embed(AVClip(f, None, fps=8))["embedding"] for f in frames])
    logits = embed("sync", "logits", audio)  # [N, 2, 21]
    mel = [
        compute_mel_distance(r.astype(np.float64), a.astype(np.float64), 16000)
        for r, a in zip(real, audio, strict=True)
    ]
    kl = evaluate_kl(embed("classifier", "logits", audio), embed("classifier", "logits", real))
    return {
        "mel_distance": float(np.mean(mel)),
        "fd": evaluate_frechet_distance(generated, reference, on_failure="eigh")["frechet_distance"],
        "kl": kl["kl_softmax"],
        "alignment": evaluate_alignment(video, generated)["alignment"],
        "desync": evaluate_desync(logits, GRID)["desync"],
        "offset_accuracy": float(np.mean(logits.argmax(-1) == int(np.argmin(np.abs(GRID))))),
    }


def resynthesize(model: Any, real: np.ndarray) -> np.ndarray | None:
    """The real audio ``[N, S]`` through a generator's decoder: its codec (encode then decode) or vocoder."""
    waveform = torch.from_numpy(real)[:, None]
    with torch.no_grad():
        if getattr(model, "codec", None) is not None:
            audio = model.codec.decode(model.codec.encode(waveform))
        elif getattr(model, "vocoder", None) is not None:
            audio = model.vocoder(model.vocoder.features(waveform)).clamp(-1, 1)
        else:
            return None
    audio = audio[:, 0, : real.shape[-1]].numpy()
    return np.pad(audio, ((0, 0), (0, real.shape[-1] - audio.shape[-1])))


def evaluate(
    models: Mapping[str, Any],
    count: int,
    embedders: Mapping[str, Any],
    resynthesis: bool = False,
    split: str = "test",
) -> dict[str, dict[str, float]]:
    items = load_items(count, split=split)
    frames = np.stack([item.frames for item in items])
    real = np.stack([item.waveform.mean(0) for item in items]).astype(np.float32)
    results = {}
    for name, model in models.items() if resynthesis else ():
        audio = resynthesize(model, real)
        if audio is not None:
            zero = {"seconds_per_clip": 0.0, "rtf": 0.0, "parameters": 0.0}
            results[f"{name} resynthesis"] = {**score(embedders, audio, frames, real), **zero}
    for name, model in models.items():
        audio, seconds = run(model, items)
        results[name] = {
            **score(embedders, audio, frames, real),
            "seconds_per_clip": seconds / count,
            "rtf": seconds / count / (real.shape[-1] / 16000),
            "parameters": float(
                sum(p.numel() for p in model.parameters()) if hasattr(model, "network") else 0
            ),
        }
    results["real audio"] = {
        **score(embedders, real, frames, real),
        "seconds_per_clip": 0.0,
        "rtf": 0.0,
        "parameters": 0.0,
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--models", default="v2a,v2a-ar,v2a-flow,v2a-retrieval")
    parser.add_argument("--out", default=None, help="write the scores as JSON here")
    parser.add_argument(
        "--resynthesis", action="store_true", help="also score the real audio through each model's decoder"
    )
    parser.add_argument(
        "--split", default="test", help="AVSynth split of the clips ('val' to choose settings, not 'test')"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.models.split(",")
    models = {name: from_pretrained(name) if Path(name).is_dir() else get_model(name) for name in names}
    results = evaluate(models, args.clips, load_reference_embedders(), args.resynthesis, args.split)
    header = ("model", *next(iter(results.values())))
    print("| " + " | ".join(header) + " |")
    for name, row in results.items():
        print("| " + " | ".join([name, *(f"{v:.4g}" for v in row.values())]) + " |")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
