"""Training the mel tokenizer with its vocoder frozen.

Training the mel tokenizer of :mod:`avikit.models.tokenizers.mel_codec` on 1 s crops with its vocoder frozen
(the mel L1 through the vocoder's input space).
"""

from __future__ import annotations

from typing import Any

import torch

from avikit.errors import UsageError
from avikit.models.tokenizers.mel_codec import MelCodec
from avikit.train.loops import StepLog, draw_crops, run_steps

__all__ = ["train_mel_codec"]


def train_mel_codec(
    codec: MelCodec,
    audio: torch.Tensor,
    steps: int,
    batch_size: int = 16,
    crop_seconds: float = 1.0,
    learning_rate: float = 2e-3,
    seed: int = 0,
    report: StepLog | None = None,
) -> dict[str, Any]:
    """Fit the encoder, quantizer and mel decoder on random crops of ``audio [N, 1, S]``; vocoder frozen.

    AdamW with a one-cycle schedule, gradient norm clipped to 1.

    Returns:
        ``{"seconds", "loss_curve"}`` of :func:`~avikit.train.loops.run_steps`.
    """
    codec.decoder.vocoder.requires_grad_(False)
    trainable = [p for p in codec.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, learning_rate, total_steps=max(steps, 2))
    generator = torch.Generator().manual_seed(seed)
    length = int(crop_seconds * codec.sample_rate) // codec.hop * codec.hop
    if length == 0 or length > audio.shape[-1]:
        raise UsageError(f"crops of {crop_seconds} s do not fit clips of {audio.shape[-1]} samples")

    def step_loss() -> torch.Tensor:
        return codec.mel_loss(draw_crops(audio, batch_size, length, generator))

    try:
        return run_steps(codec, (optimizer, schedule), step_loss, steps, report, clip_norm=1.0)
    finally:
        codec.decoder.vocoder.requires_grad_(True)
