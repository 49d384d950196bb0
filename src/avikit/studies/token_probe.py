"""Audio-visual retrieval from tokens: a linear contrastive probe on pooled codebook embeddings.

How much of the audio-visual correspondence survives tokenization? The probe measures it without training the
tokenizer for it, against visual features that stay frozen:

1. a clip's codes ``[Q, T]`` become the vectors the decoder reads, the sum of their codebook embeddings
   ``[T, D]`` (:func:`code_vectors`);
2. these are pooled per segment (one per second of audio): mean and standard deviation over the segment's
   steps, ``[S, 2D]`` (:func:`pool_segment_statistics`);
3. a linear map, fit on *train* clips only, takes each standardized segment vector into the space of the
   frozen visual segment features ``[S, E]``. The similarity of audio clip ``i`` and video clip ``j`` is the
   mean over segments ``s`` of ``cos(probe(a_is), v_js)``, so both what sounds and when it sounds count;
   training minimises the symmetric InfoNCE of these clip similarities (:func:`fit_retrieval_probe`);
4. on held-out *test* clips each audio queries the ``N`` test videos: R@1 and R@5 of the true pair (chance
   ``1 / N`` and ``5 / N``) and its mean rank (chance ``(N + 1) / 2``), with percentile bootstrap intervals
   over the queries (:func:`evaluate_probe_retrieval`).

The same probe on continuous features (a log-mel spectrogram, an encoder's audio tokens) gives the reference
points that tokens are compared with.

Example:
    >>> generator = torch.Generator().manual_seed(0)
    >>> visual = torch.randn(64, 2, 8, generator=generator)  # [N, S, E]
    >>> audio = torch.cat([visual, torch.randn(64, 2, 4, generator=generator)], dim=-1)  # [N, S, F]
    >>> probe = fit_retrieval_probe(audio[:48], visual[:48], steps=100)
    >>> evaluate_probe_retrieval(probe, audio[48:], visual[48:])["r1"] > 0.5
    True
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.metrics.bootstrap import compute_bootstrap_ci
from avikit.metrics.retrieval import compute_retrieval_statistics
from avikit.nn.quantize import ResidualVectorQuantizer

__all__ = [
    "RetrievalProbe",
    "code_vectors",
    "evaluate_probe_retrieval",
    "fit_retrieval_probe",
    "pool_segment_statistics",
    "segment_similarity",
]


def code_vectors(quantizer: ResidualVectorQuantizer, codes: torch.Tensor) -> torch.Tensor:
    """Codes ``[N, Q, T]`` to the summed codebook embeddings ``[N, T, D]`` (what the decoder reads)."""
    with torch.no_grad():
        return quantizer.decode(codes).transpose(1, 2)


def pool_segment_statistics(vectors: torch.Tensor, num_segments: int) -> torch.Tensor:
    """Mean and standard deviation of ``vectors [N, T, D]`` over ``num_segments`` spans: ``[N, S, 2D]``.

    Segment ``s`` covers steps ``floor(s T / S)`` to ``floor((s + 1) T / S)`` (exact integer bounds, so a
    code rate that does not divide the segment length still splits the clip without overlap).
    """
    steps = vectors.shape[1] if vectors.ndim == 3 else 0
    if steps < 2 * num_segments or num_segments < 1:
        raise UsageError(
            f"cannot pool {list(vectors.shape)} ([N, T, D]) into {num_segments} segments of 2 steps or more"
        )
    bounds = [s * steps // num_segments for s in range(num_segments + 1)]
    parts = [vectors[:, a:b] for a, b in itertools.pairwise(bounds)]
    return torch.stack([torch.cat([p.mean(1), p.std(1)], dim=-1) for p in parts], dim=1)


def segment_similarity(audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
    """Clip similarity ``[N, M]``: segment-mean cosine of audio ``[N, S, E]`` and visual ``[M, S, E]``."""
    if audio.ndim != 3 or visual.ndim != 3 or audio.shape[1:] != visual.shape[1:]:
        raise UsageError(
            f"audio {list(audio.shape)} and visual {list(visual.shape)} must be [N, S, E] and [M, S, E]"
        )
    # the sum over s of <a_is, v_js> is one dot product of the normalised segments laid end to end
    a, v = F.normalize(audio, dim=-1).flatten(1), F.normalize(visual, dim=-1).flatten(1)  # [N, S*E], [M, S*E]
    return a @ v.T / audio.shape[1]


class RetrievalProbe(nn.Module):
    """Standardize (train statistics, fixed) then map linearly: ``[N, S, F]`` to ``[N, S, E]``."""

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, mean: torch.Tensor, scale: torch.Tensor, out_dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", mean)  # [F]
        self.register_buffer("scale", scale)  # [F]
        self.linear = nn.Linear(mean.shape[0], out_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map ``features [N, S, F]`` to ``[N, S, E]``."""
        return self.linear((features - self.mean) / self.scale)


def fit_retrieval_probe(
    audio: torch.Tensor,
    visual: torch.Tensor,
    steps: int = 300,
    learning_rate: float = 3e-3,
    weight_decay: float = 1e-2,
    temperature: float = 0.1,
    seed: int = 0,
) -> RetrievalProbe:
    """Fit the probe on paired train clips: full-batch AdamW on the symmetric InfoNCE of clip similarities.

    Args:
        audio: pooled audio features ``[N, S, F]`` (e.g. from :func:`pool_segment_statistics`).
        visual: frozen visual segment features ``[N, S, E]``; row ``i`` is the pair of ``audio[i]``.
        steps: optimisation steps.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        temperature: InfoNCE temperature.
        seed: seed of the initialisation.

    Returns:
        the fitted probe in eval mode.
    """
    if audio.ndim != 3 or visual.ndim != 3 or audio.shape[:2] != visual.shape[:2] or len(audio) < 2:
        raise UsageError(
            f"need paired features audio [N, S, F] and visual [N, S, E] with N >= 2, "
            f"got {list(audio.shape)} and {list(visual.shape)}"
        )
    flat = audio.detach().flatten(0, 1).float()
    with torch.random.fork_rng(devices=[]):  # seeded initialisation, global random state untouched
        torch.manual_seed(seed)
        probe = RetrievalProbe(flat.mean(0), flat.std(0) + 1e-6, visual.shape[-1])
    optimizer = torch.optim.AdamW(probe.parameters(), lr=learning_rate, weight_decay=weight_decay)
    target, threads = torch.arange(len(audio)), torch.get_num_threads()
    torch.set_num_threads(1)  # tensors this small run fastest on one thread, above all on a busy machine
    try:
        with torch.enable_grad():
            for _ in range(steps):
                logits = segment_similarity(probe(audio.float()), visual.float()) / temperature  # [N, N]
                loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return probe.eval()


def evaluate_probe_retrieval(
    probe: nn.Module | None, audio: torch.Tensor, visual: torch.Tensor, seed: int = 0
) -> dict[str, float]:
    """Audio-to-video retrieval among ``N`` test clips, with chance levels and 95% bootstrap intervals.

    Args:
        probe: a fitted probe, or ``None`` when ``audio`` already lies in the visual space (zero-shot).
        audio: pooled test audio features ``[N, S, F]`` (``[N, S, E]`` without a probe).
        visual: test visual segment features ``[N, S, E]``, pairs on the same row.
        seed: bootstrap seed.

    Returns:
        ``r1``, ``r5`` (fractions of queries whose pair ranks first / in the top 5) with ``r1_low``,
        ``r1_high``, ``r5_low``, ``r5_high``; ``mean_rank`` (1-based) with its interval; ``chance_r1``,
        ``chance_r5``, ``chance_mean_rank`` and ``num_clips``.
    """
    with torch.no_grad():
        mapped = audio.float() if probe is None else probe(audio.float())
        similarity = segment_similarity(mapped, visual.float()).double().numpy()
    ranks = compute_retrieval_statistics(similarity)["audio_to_video_rank"]  # 0-based
    count = len(similarity)
    out: dict[str, float] = {}
    for name, values in (("r1", ranks < 1), ("r5", ranks < 5), ("mean_rank", ranks + 1)):
        values = np.asarray(values, dtype=np.float64)
        out[name] = float(values.mean())
        out[f"{name}_low"], out[f"{name}_high"] = compute_bootstrap_ci(values, seed=seed)
    out.update(
        chance_r1=1 / count,
        chance_r5=min(5, count) / count,
        chance_mean_rank=(count + 1) / 2,
        num_clips=count,
    )
    return out
