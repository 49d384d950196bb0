"""The joint audio+video recipe: train, sample, score and save the flow network.

The joint audio+video recipe: train the flow network of :mod:`avikit.models.generation.joint_network` on
single-source AVSynth clips with their captions, sample, score and save it (:func:`train_joint`,
:func:`sample_joint`, :func:`evaluate_joint`, :func:`save_joint`). Seeded, CPU-sized.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avikit.data.synth import SEEN_CLASSES
from avikit.models.generation.clips import load_sources
from avikit.models.generation.joint_network import KIND as JOINT_KIND
from avikit.models.generation.joint_network import (
    CaptionVocabulary,
    JointCheckpoint,
    JointConfig,
    build_joint,
    build_vocabulary,
)
from avikit.models.generation.joint_sampling import generate_joint
from avikit.models.generation.judges import SourceClassifier, sync_scores
from avikit.models.generation.v2a_network import griffin_lim
from avikit.nn import save_pretrained
from avikit.nn.schedulers import FlowMatchingScheduler
from avikit.train.generators import GenTrainConfig, _folder, _parameters, _threads, fit

__all__ = ["evaluate_joint", "sample_joint", "save_joint", "train_joint"]


# ------------------------------------------------------------------------------------------ joint


def train_joint(
    config: GenTrainConfig, joint: JointConfig | None = None, out_dir: str | Path | None = None
) -> dict[str, Any]:
    """Train the joint flow on the captions of single-source clips.

    Returns:
        ``{"model", "vocabulary", "training": {"joint"}, "data": {"train", "test"}, "config"}``.
    """
    joint, out = joint or JointConfig(), _folder(out_dir)
    previous = _threads(config)
    try:
        train = load_sources("train", config.num_train, config, joint.image_size)
        vocabulary = build_vocabulary(train["captions"])
        ids = vocabulary.encode(train["captions"])  # [N, L]
        model, scheduler = build_joint(joint, len(vocabulary)), FlowMatchingScheduler()
        generator = torch.Generator().manual_seed(config.seed + 1)
        audio, frames = train["audio"], train["frames"]
        training = {
            "joint": fit(
                model,
                lambda rows: model.loss(
                    audio[rows],
                    frames[rows],
                    ids[rows],
                    scheduler,
                    joint.condition_dropout,
                    generator,
                ),
                config.steps,
                config,
                out,
                "joint",
            )
        }
    finally:
        torch.set_num_threads(previous)
    test = load_sources("test", config.num_test, config, joint.image_size)
    return {
        "model": model,
        "vocabulary": vocabulary,
        "training": training,
        "data": {"train": train, "test": test},
        "config": joint,
    }


def _nearest_caption(captions: list[str], pool: list[str]) -> np.ndarray:
    """Index in ``pool`` of the caption sharing most words (Jaccard) with each of ``captions``."""
    words = [set(CaptionVocabulary.split(c)) for c in pool]
    out = []
    for caption in captions:
        query = set(CaptionVocabulary.split(caption))
        out.append(int(np.argmax([len(query & w) / max(len(query | w), 1) for w in words])))
    return np.asarray(out)


def _pair_scores(
    audio: torch.Tensor, frames: torch.Tensor, labels: torch.Tensor, classifier: SourceClassifier
) -> dict[str, float]:
    by_audio, by_video = classifier.predict(audio, frames)
    return {
        **sync_scores(audio, frames),
        "audio_class_accuracy": float((by_audio == labels).float().mean()),
        "video_class_accuracy": float((by_video == labels).float().mean()),
    }


def sample_joint(
    trained: dict[str, Any], captions: list[str], guidance: float = 2.0, num_steps: int = 16, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generate ``(audio [N, 1, S], frames [N, T, 3, H, W])`` for ``captions``, audio by Griffin-Lim."""
    model, test = trained["model"], trained["data"]["test"]
    mel, frames = generate_joint(
        model,
        trained["vocabulary"].encode(captions),
        test["frames"].shape[1],
        num_steps,
        guidance,
        generator=torch.Generator().manual_seed(seed),
    )
    return griffin_lim(model.features, mel)[..., : test["audio"].shape[-1]], frames


def evaluate_joint(
    trained: dict[str, Any], guidance: float = 2.0, num_steps: int = 16, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Generate a pair for each test caption; score sync and class consistency against retrieval and real.

    Returns:
        ``{name: {"offset_accuracy", "desync", "activity_correlation", "audio_class_accuracy",
        "video_class_accuracy", "rtf", "parameters"}}`` for ``joint``, ``retrieval`` and ``reference``.
    """
    train, test, model = trained["data"]["train"], trained["data"]["test"], trained["model"]
    classes = list(SEEN_CLASSES)
    size, seconds = test["frames"].shape[-1], test["audio"].shape[-1] // 16000
    held_out = load_sources("val", len(train["captions"]), GenTrainConfig(duration=seconds), size)
    classifier = SourceClassifier(len(classes))
    classifier.fit(
        held_out["audio"], held_out["frames"], torch.tensor([classes.index(c) for c in held_out["classes"]])
    )
    labels = torch.tensor([classes.index(c) for c in test["classes"]])
    start = time.perf_counter()
    audio, frames = sample_joint(trained, test["captions"], guidance, num_steps, seed)
    rtf = (time.perf_counter() - start) / (test["audio"].shape[0] * seconds)
    nearest = _nearest_caption(test["captions"], train["captions"])
    return {
        "joint": {
            **_pair_scores(audio, frames, labels, classifier),
            "rtf": rtf,
            "parameters": _parameters(model),
        },
        "retrieval": {
            **_pair_scores(train["audio"][nearest], train["frames"][nearest], labels, classifier),
            "rtf": 0.0,
            "parameters": 0.0,
        },
        "reference": {
            **_pair_scores(test["audio"], test["frames"], labels, classifier),
            "rtf": 0.0,
            "parameters": 0.0,
        },
    }


def save_joint(
    trained: dict[str, Any],
    out_dir: str | Path,
    num_steps: int = 16,
    guidance: float = 2.0,
    vocoder_iterations: int = 32,
) -> Path:
    """Write the trained joint generator, its vocabulary and sampling settings as a weights folder."""
    words = trained["vocabulary"].words
    checkpoint = JointCheckpoint(trained["config"], words, num_steps, guidance, vocoder_iterations)
    return save_pretrained(trained["model"], checkpoint, out_dir, JOINT_KIND)
