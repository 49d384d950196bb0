"""The audio-to-video recipe: train, score and save the generator.

The audio-to-video recipe: train the generator of :mod:`avikit.models.generation.a2v_network` on still
AVSynth scenes, with its sync expert, then score and save it (:func:`train_a2v`, :func:`evaluate_a2v`,
:func:`save_a2v`). Seeded, CPU-sized.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avikit.metrics.reconstruction import compute_psnr, compute_ssim
from avikit.models.generation.a2v_network import KIND as A2V_KIND
from avikit.models.generation.a2v_network import (
    A2VConfig,
    build_a2v,
    build_sync_expert,
    select_reference,
    sync_expert_loss,
)
from avikit.models.generation.a2v_sampling import generate_a2v
from avikit.models.generation.clips import load_scenes
from avikit.models.generation.judges import _uint8, audio_feature, sync_scores
from avikit.nn import save_pretrained
from avikit.train.generators import GenTrainConfig, _folder, _parameters, _threads, fit

__all__ = ["evaluate_a2v", "save_a2v", "train_a2v"]


def train_a2v(
    config: GenTrainConfig,
    a2v: A2VConfig | None = None,
    out_dir: str | Path | None = None,
    expert_steps: int | None = None,
) -> dict[str, Any]:
    """Train the sync expert (``expert_steps``, default ``4 * config.steps``), freeze it, then the generator.

    The expert's loss joins the generator's after the first ``a2v.sync_warmup`` of its steps. With
    ``a2v.sync_weight == 0`` the generator does not use the expert, which is then not trained
    (``training["sync_expert"]`` is ``None``).

    Returns:
        ``{"model", "expert", "training": {"sync_expert", "a2v"}, "data": {"train", "test"}, "config"}``.
    """
    a2v, out = a2v or A2VConfig(), _folder(out_dir)
    previous = _threads(config)
    try:
        train = load_scenes("train", config.num_train, config, a2v.image_size)
        audio, frames = train["audio"], train["frames"]
        reference = select_reference(audio, frames)  # [N, 3, H, W]
        model, expert = build_a2v(a2v), build_sync_expert(a2v)
        with torch.no_grad():
            mel = model.features(audio)  # [N, 8 T, M]
        generator = torch.Generator().manual_seed(config.seed + 1)
        training: dict[str, Any] = {"sync_expert": None}
        if a2v.sync_weight:
            training["sync_expert"] = fit(
                expert,
                lambda rows: sync_expert_loss(expert, frames[rows], mel[rows], generator),
                4 * config.steps if expert_steps is None else expert_steps,
                config,
                out,
                "sync_expert",
            )
        expert.requires_grad_(False).eval()
        warmup, calls = int(a2v.sync_warmup * config.steps), [0]

        def a2v_loss(rows: torch.Tensor) -> torch.Tensor:
            calls[0] += 1
            sync_weight = a2v.sync_weight if calls[0] > warmup else 0.0
            return model.loss(
                reference[rows],
                audio[rows],
                frames[rows],
                expert if sync_weight else None,
                sync_weight,
                generator,
                a2v.change_weight,
            )

        training["a2v"] = fit(
            model,
            a2v_loss,
            config.steps,
            config,
            out,
            "a2v",
        )
    finally:
        torch.set_num_threads(previous)
    test = load_scenes("test", config.num_test, config, a2v.image_size)
    return {
        "model": model,
        "expert": expert,
        "training": training,
        "data": {"train": train, "test": test},
        "config": a2v,
    }


def _frame_scores(frames: torch.Tensor, test: dict[str, Any]) -> dict[str, float]:
    real, fake = _uint8(test["frames"]), _uint8(frames)
    clips = (len(real), -1, *real.shape[-2:])  # PSNR per clip: the MSE over all its frames
    psnr = np.minimum(compute_psnr(real.reshape(clips), fake.reshape(clips)), 100.0)  # identical: 100 dB
    return {
        "psnr": float(np.mean(psnr)),
        "ssim": float(np.mean(compute_ssim(real, fake))),
        **sync_scores(test["audio"], frames),
    }


def evaluate_a2v(trained: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Score the generator, the retrieval and static baselines and the real frames on the test clips.

    Returns:
        ``{name: {"psnr", "ssim", "offset_accuracy", "desync", "activity_correlation", "rtf",
        "parameters"}}``.
    """
    train, test, model = trained["data"]["train"], trained["data"]["test"], trained["model"]
    reference = select_reference(test["audio"], test["frames"])
    start = time.perf_counter()
    generated = generate_a2v(model, reference, test["audio"])
    seconds_of_audio = test["audio"].shape[0] * test["audio"].shape[-1] / 16000
    results = {
        "a2v": {
            **_frame_scores(generated, test),
            "rtf": (time.perf_counter() - start) / seconds_of_audio,
            "parameters": _parameters(model),
        }
    }
    distances = (audio_feature(test["audio"])[:, None] - audio_feature(train["audio"])[None]) ** 2
    nearest = distances.sum(-1).argmin(1)
    static = reference[:, None].expand_as(test["frames"])
    for name, frames in (
        ("retrieval", train["frames"][nearest]),
        ("static", static),
        ("reference", test["frames"]),
    ):
        results[name] = {**_frame_scores(frames, test), "rtf": 0.0, "parameters": 0.0}
    return results


def save_a2v(trained: dict[str, Any], out_dir: str | Path) -> Path:
    """Write the trained audio-to-video generator as a weights folder (read by ``a2v.from_pretrained``)."""
    return save_pretrained(trained["model"], trained["config"], out_dir, A2V_KIND)
