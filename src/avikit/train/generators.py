"""Training and scoring recipes for the generators, seeded and CPU-sized (each default run under 5 minutes).

:func:`train_v2a` trains the three video-to-audio paradigms of :mod:`avikit.models.generation.v2a_network` on
the same AVSynth
clips (the token paradigms first train their codec), writing a loss log and SVG curve per model.
:func:`evaluate_v2a` scores generated audio on held-out clips against the reference audio and a retrieval
baseline (the audio of the nearest training video by a visual feature):

- ``mel_distance`` to the reference audio (``avikit.metrics.reconstruction``, lower is better);
- ``alignment``: the IB-score analogue (``avikit.metrics.generation.evaluate_alignment``) with a tiny
  contrastive audio/video embedder trained on ``val`` pairs, which no generator saw (:class:`PairEmbedder`);
- ``desync`` (s) and ``offset_accuracy`` from a simple sync scorer: the correlation of the video's
  frame-to-frame change with the audio's frame-to-frame loudness change over offsets of +-3 frames;
- ``rtf``: sampling seconds per second of audio on this CPU (below 1 is faster than real time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avikit.models.generation.judges import _uint8
from avikit.train.loops import StepLog, run_steps

__all__ = ["GenTrainConfig", "fit", "save_predictions"]


@dataclass(frozen=True)
class GenTrainConfig:
    """Knobs of the generator recipes (defaults: each model under 5 minutes on one busy CPU core).

    ``token_noise`` is the fraction of input codes the autoregressive model sees replaced by random ids in
    training (:meth:`~avikit.models.generation.v2a_network.TokenV2A.loss`).
    """

    num_train: int = 192
    num_test: int = 16
    duration: int = 2
    steps: int = 400
    codec_steps: int = 400
    batch_size: int = 4
    learning_rate: float = 1e-3
    seed: int = 0
    num_threads: int = 1
    progress: bool = True
    token_noise: float = 0.8


def fit(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    steps: int,
    config: GenTrainConfig,
    out_dir: Path | None,
    name: str,
) -> dict[str, Any]:
    """AdamW with a one-cycle schedule over ``steps`` calls of ``loss_fn(batch_rows)``; logs the loss curve.

    Each step draws ``config.batch_size`` random training rows (with replacement, seeded by ``config.seed``)
    and clips the gradient norm to 1. With ``out_dir``, writes ``<name>_loss.jsonl`` and ``<name>_loss.svg``.

    Returns:
        ``{"seconds", "loss_curve"}``.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.learning_rate, total_steps=max(steps, 2))
    generator = torch.Generator().manual_seed(config.seed)

    def step_loss() -> torch.Tensor:
        return loss_fn(torch.randint(0, config.num_train, (config.batch_size,), generator=generator))

    report = StepLog(name, out_dir, f"{name} training loss", config.progress)
    return run_steps(model, (optimizer, schedule), step_loss, steps, report, clip_norm=1.0)


def _threads(config: GenTrainConfig) -> int:
    previous = torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    return previous


def _folder(out_dir: str | Path | None) -> Path | None:
    out = Path(out_dir) if out_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    return out


def _parameters(model: nn.Module) -> float:
    return float(sum(p.numel() for p in model.parameters()))


def save_predictions(
    folder: str | Path,
    sample_ids: list[str],
    frames: torch.Tensor | None = None,
    audio: torch.Tensor | None = None,
) -> list[dict[str, str]]:
    """Write generated media as ``.npy`` files and return prediction records of the generation tasks.

    Args:
        folder: where the arrays go (created).
        sample_ids: one id per clip.
        frames: ``[N, T, 3, H, W]`` in [0, 1], written as ``uint8 [T, H, W, 3]`` (``video``).
        audio: ``[N, 1, S]``, written as ``float32 [1, S]`` (``audio``).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, str]] = [{"id": sample_id} for sample_id in sample_ids]
    for index, record in enumerate(records):
        if frames is not None:
            record["video"] = str(out / f"{record['id']}_video.npy")
            np.save(record["video"], _uint8(frames[index : index + 1])[0])
        if audio is not None:
            record["audio"] = str(out / f"{record['id']}_audio.npy")
            np.save(record["audio"], audio[index].numpy().astype(np.float32))
    return records
