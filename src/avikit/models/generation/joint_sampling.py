"""The joint audio+video sampling loop: guided flow integration of both streams from a caption.

The network (:mod:`~avikit.models.generation.joint_network`) predicts the velocity of the mel and frame
streams; :class:`~avikit.nn.schedulers.FlowMatchingScheduler` says how to step; this function is the loop.

Example:
    >>> from avikit.models.generation.joint_network import JointConfig, build_joint, build_vocabulary
    >>> vocabulary = build_vocabulary(["a bell rings"])
    >>> model = build_joint(JointConfig(dim=32, depth=1, heads=2), len(vocabulary))
    >>> mel, frames = generate_joint(model, vocabulary.encode(["a bell rings"]), num_frames=2, num_steps=2)
    >>> tuple(mel.shape), tuple(frames.shape)
    ((1, 16, 32), (1, 2, 3, 16, 16))
"""

from __future__ import annotations

import torch

from avikit.models.generation.joint_network import JointFlow
from avikit.nn.schedulers import FlowMatchingScheduler, classifier_free_guidance

__all__ = ["generate_joint"]


# ------------------------------------------------------------------------------------------ sampling


@torch.no_grad()
def generate_joint(
    model: JointFlow,
    ids: torch.Tensor,
    num_frames: int = 16,
    num_steps: int = 16,
    guidance: float = 2.0,
    scheduler: FlowMatchingScheduler | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``(mel [B, 8 T, M], frames [B, T, 3, H, W])`` for caption ``ids [B, L]`` along the flow.

    Both streams start as noise and move together, each step one guided velocity of the joint network.
    """
    model.eval()
    scheduler = scheduler or FlowMatchingScheduler()
    context = model.encode_caption(ids)  # [B, L, D]
    null = model.null_context(context)
    batch, steps = ids.shape[0], 8 // model.mels_per_token
    audio = torch.randn(batch, num_frames, steps, model.mels_per_token * model.n_mels, generator=generator)
    video = torch.randn(
        batch, num_frames, model.patches_per_frame, 3 * model.patch_size**2, generator=generator
    )
    for t, t_next in scheduler.pairs(num_steps):
        at = torch.full((batch,), t)
        conditional = model.velocity(audio, video, at, context)
        unconditional = model.velocity(audio, video, at, null)
        v_audio, v_video = (
            classifier_free_guidance(c, u, guidance) for c, u in zip(conditional, unconditional, strict=True)
        )
        audio = scheduler.step(v_audio, t, t_next, audio)  # Euler, both streams
        video = scheduler.step(v_video, t, t_next, video)
    return model.untokenize(audio, video)
