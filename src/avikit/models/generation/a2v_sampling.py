"""The audio-to-video sampling loop: one readable function from a reference frame and audio to frames.

The network (:mod:`~avikit.models.generation.a2v_network`) predicts each frame's change from the
reference in one pass; the loop feeds it and composes the frames.

Example:
    >>> import torch
    >>> from avikit.models.generation.a2v_network import A2VConfig, build_a2v
    >>> model = build_a2v(A2VConfig(image_size=32, width=8, dim=16))
    >>> frames = generate_a2v(model, torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 16000))
    >>> tuple(frames.shape)
    (1, 8, 3, 32, 32)
"""

from __future__ import annotations

import torch

from avikit.models.generation.a2v_network import A2VGenerator

__all__ = ["generate_a2v"]


# ------------------------------------------------------------------------------------------ sampling


@torch.no_grad()
def generate_a2v(model: A2VGenerator, reference: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Frames ``[B, T, 3, H, W]`` in [0, 1] for ``reference [B, 3, H, W]`` and ``audio [B, 1, S]``.

    One pass: the audio of each frame steers one decoding of the reference; there is no noise and no
    iterative sampler, so the output is deterministic.
    """
    model.eval()
    return model(reference, audio).clamp(0, 1)
