"""Cross-modal alignment of a tokenizer's codes: A→V retrieval from tokens and V2A over tokens, on AVSynth.

Does a finer token rate help alignment, or only fidelity? Each tokenizer replaces the current one in two
audio-visual models:

- retrieval: the linear contrastive probe of :mod:`avikit.studies.token_probe` maps the tokenizer's summed
  codebook embeddings, pooled per second, to the packaged audio-visual encoder's frozen visual segment
  features (fit on AVSynth ``train`` clips); audio-to-video R@1, R@5 and mean rank among the ``test`` clips,
  with 95% bootstrap intervals, chance, and the same probe on the log-mel spectrogram as a continuous
  reference;
- V2A: the MaskGIT video-to-audio network of :mod:`avikit.models.generation.v2a_network` trained over the
  tokenizer's first ``v2a_codebooks`` codes of AVSynth ``train`` clips (2 s at 8 fps: 8 or 2 code steps per
  video frame), sampled on ``test`` clips and decoded by the tokenizer, scored by
  :func:`avikit.train.v2a.evaluate_v2a` (mel distance, the alignment score of a contrastive judge trained on
  ``val`` clips, DeSync) beside its retrieval baseline and the real audio.

Example:
    >>> AlignmentConfig().v2a_codebooks
    2
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from avikit.models.encoders.trunk import load_encoder
from avikit.models.generation.clips import load_pairs
from avikit.models.generation.v2a_network import V2AConfig, build_token_v2a
from avikit.nn.codec import AudioCodec
from avikit.studies.token_probe import (
    code_vectors,
    evaluate_probe_retrieval,
    fit_retrieval_probe,
    pool_segment_statistics,
)
from avikit.studies.tokenizer_study import StudyConfig, load_study_split
from avikit.train.generators import GenTrainConfig, fit
from avikit.train.v2a import evaluate_v2a

__all__ = ["AlignmentConfig", "AlignmentData", "load_alignment_data", "score_alignment"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlignmentConfig:
    """Sizes of the alignment measurements.

    Attributes:
        num_train: AVSynth ``train`` clips for the retrieval probe (and the V2A model).
        num_test: AVSynth ``test`` clips: the retrieval gallery.
        duration: clip length of the retrieval clips in seconds (one segment per second).
        probe_steps: optimisation steps of each retrieval probe.
        v2a_steps: optimisation steps of each V2A model.
        v2a_test: AVSynth ``test`` clips the V2A models generate for.
        v2a_codebooks: codebooks the V2A models predict (the first ones of the tokenizer).
        encoder: the packaged audio-visual encoder (visual features of the probe).
        seed: seed of data and training.
    """

    num_train: int = 96
    num_test: int = 48
    duration: int = 4
    probe_steps: int = 200
    v2a_steps: int = 200
    v2a_test: int = 16
    v2a_codebooks: int = 2
    encoder: str = "av-encoder"
    seed: int = 0


AlignmentData = dict[str, Any]


def load_alignment_data(config: AlignmentConfig) -> AlignmentData:
    """The AVSynth clips and encoder features both measurements read, plus the log-mel reference retrieval."""
    encoder = load_encoder(config.encoder)
    study = StudyConfig(
        num_train=config.num_train, num_test=config.num_test, duration=config.duration, seed=config.seed
    )
    retrieval = {
        split: load_study_split(split, count, study, encoder)
        for split, count in (("train", config.num_train), ("test", config.num_test))
    }
    generation = GenTrainConfig(
        num_train=config.num_train,
        num_test=config.v2a_test,
        duration=2,
        steps=config.v2a_steps,
        seed=config.seed,
        progress=False,
    )
    pairs = {
        "train": load_pairs("train", config.num_train, generation, 32, 128),
        "test": load_pairs("test", config.v2a_test, generation, 32, 128),
    }
    with torch.no_grad():
        pooled = {
            s: pool_segment_statistics(
                encoder.frontend(retrieval[s]["audio"]).transpose(1, 2), config.duration
            )
            for s in retrieval
        }
    reference = _probe(pooled, retrieval, config)
    return {"retrieval": retrieval, "pairs": pairs, "generation": generation, "log_mel_retrieval": reference}


def _probe(
    pooled: dict[str, torch.Tensor], data: dict[str, Any], config: AlignmentConfig
) -> dict[str, float]:
    probe = fit_retrieval_probe(
        pooled["train"], data["train"]["visual"], steps=config.probe_steps, seed=config.seed
    )
    return evaluate_probe_retrieval(probe, pooled["test"], data["test"]["visual"], seed=config.seed)


def _encode(codec: AudioCodec, audio: torch.Tensor, num_codebooks: int | None = None) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([codec.encode(audio[i : i + 16], num_codebooks) for i in range(0, len(audio), 16)])


def score_alignment(codec: AudioCodec, data: AlignmentData, config: AlignmentConfig) -> dict[str, Any]:
    """Retrieval from ``codec``'s tokens (all codebooks) and V2A over its first ``v2a_codebooks`` codes."""
    retrieval = data["retrieval"]
    pooled = {
        s: pool_segment_statistics(
            code_vectors(codec.quantizer, _encode(codec, retrieval[s]["audio"])), config.duration
        )
        for s in retrieval
    }
    out: dict[str, Any] = {"retrieval": _probe(pooled, retrieval, config)}
    pairs, generation = data["pairs"], data["generation"]
    steps_per_frame = round(codec.frame_rate / 8)
    v2a = V2AConfig(
        codebook_size=codec.cardinality,
        num_codebooks=config.v2a_codebooks,
        tokenizer="waveform" if steps_per_frame == 8 else "mel",
        token_stride=8 // steps_per_frame,
    )
    # V2AConfig's tokenizer/token_stride only set the code steps per video frame; the codes are ``codec``'s
    codes = _encode(codec, pairs["train"]["audio"], config.v2a_codebooks)
    torch.manual_seed(config.seed)
    network = build_token_v2a(v2a, causal=False)
    noise = torch.Generator().manual_seed(config.seed + 1)

    def step(rows: torch.Tensor) -> torch.Tensor:
        return network.loss(codes[rows], pairs["train"]["frames"][rows], v2a.condition_dropout, noise)

    trained = fit(network, step, config.v2a_steps, generation, None, "maskgit")
    scores = evaluate_v2a(
        {"models": {"maskgit": network}, "codec": codec, "vocoder": None, "data": pairs, "render_size": 128},
        seed=config.seed,
    )
    out["v2a"] = {**scores["maskgit"], "train_seconds": trained["seconds"]}
    out["v2a_baselines"] = {"retrieval": scores["retrieval"], "reference": scores["reference"]}
    return out
