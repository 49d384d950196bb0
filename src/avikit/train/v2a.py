"""The video-to-audio recipe: train, score and export the three paradigms.

The video-to-audio recipe: train the three paradigms of :mod:`avikit.models.generation.v2a_network` on the
same AVSynth clips (the token paradigms first train their codec), score them on held-out clips against the
reference audio and a retrieval baseline (:func:`evaluate_v2a`), and export the packages
(:func:`export_v2a`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avikit.errors import UsageError
from avikit.metrics.generation import evaluate_alignment, evaluate_desync
from avikit.metrics.reconstruction import compute_mel_distance
from avikit.models.generation.clips import load_pairs
from avikit.models.generation.judges import SYNC_OFFSETS, PairEmbedder, sync_logits, visual_feature
from avikit.models.generation.retrieval_baselines import RetrievalConfig, build_v2a_retrieval
from avikit.models.generation.v2a_network import (
    V2AConfig,
    build_flow_v2a,
    build_token_v2a,
    build_v2a_codec,
    griffin_lim,
)
from avikit.models.generation.v2a_pipeline import (
    PARADIGMS,
    V2AModelConfig,
    build_v2a_generator,
    save_v2a,
)
from avikit.models.generation.v2a_sampling import generate_autoregressive, generate_flow, generate_maskgit
from avikit.models.tokenizers.mel_codec import build_mel_codec
from avikit.models.tokenizers.vocoder import MelVocoder, VocoderConfig
from avikit.nn.codec import AudioCodec
from avikit.nn.objectives import MultiScaleMelLoss
from avikit.nn.schedulers import FlowMatchingScheduler
from avikit.train.generators import GenTrainConfig, fit
from avikit.train.loops import StepLog
from avikit.train.mel_codec import train_mel_codec

__all__ = ["EXPORT_NAMES", "evaluate_v2a", "export_v2a", "train_v2a"]


def _train_codec(
    audio: torch.Tensor,
    config: GenTrainConfig,
    v2a: V2AConfig,
    out: Path | None,
    vocoder: tuple[MelVocoder, VocoderConfig] | None,
) -> tuple[AudioCodec, dict[str, Any], torch.Tensor]:
    """Train the codec of the token paradigms; returns it, its training record and the clips' codes.

    The waveform codec trains on whole clips with the multi-scale mel loss; the mel codec on 1 s crops with
    the mel L1, decoding through ``vocoder`` (frozen).
    """
    if v2a.tokenizer == "mel":
        if vocoder is None:
            raise UsageError(
                "the mel tokenizer decodes through a trained vocoder: pass vocoder=load_vocoder('v2a-flow')"
            )
        mel_codec = build_mel_codec(v2a, vocoder[1], vocoder_weights=vocoder[0])
        report = StepLog("codec", out, "codec training loss", config.progress)
        record = train_mel_codec(mel_codec, audio, config.codec_steps, seed=config.seed, report=report)
        codec: AudioCodec = mel_codec
    else:
        codec = build_v2a_codec(v2a)
        codec_loss = MultiScaleMelLoss(v2a.sample_rate)

        def codec_step(rows: torch.Tensor) -> torch.Tensor:
            target = audio[rows]
            reconstruction, _, losses = codec(target)
            return codec_loss(reconstruction, target) + sum(losses.values())

        record = fit(codec, codec_step, config.codec_steps, config, out, "codec")
    with torch.no_grad():
        codes = torch.cat([codec.encode(audio[i : i + 32]) for i in range(0, len(audio), 32)])
    return codec, record, codes


def train_v2a(
    config: GenTrainConfig,
    v2a: V2AConfig | None = None,
    out_dir: str | Path | None = None,
    paradigms: tuple[str, ...] = PARADIGMS,
    render_size: int | None = 128,
    vocoder: tuple[MelVocoder, VocoderConfig] | None = None,
) -> dict[str, Any]:
    """Train the codec and the flow, autoregressive and MaskGIT video-to-audio models on the same clips.

    ``paradigms`` picks a subset (the codec is trained only for a token paradigm). Training frames are
    drawn at ``render_size`` px (the benchmark's 128 by default) and area-resized to ``v2a.image_size``.
    ``vocoder`` (a trained vocoder and its config,
    :func:`~avikit.models.generation.v2a_pipeline.load_vocoder`) decodes
    the mel tokenizer (``v2a.tokenizer == "mel"``, where it is required) and the flow model's mel.

    Returns:
        ``{"models": {paradigm: network}, "codec" (or None), "vocoder" (or None), "training": {name:
        {seconds, loss_curve}}, "data": {"train", "test"}, "render_size"}``.
    """
    v2a = v2a or V2AConfig()
    unknown = set(paradigms) - set(PARADIGMS)
    if unknown:
        raise UsageError(f"unknown paradigms {sorted(unknown)}; choose from {PARADIGMS}")
    out = Path(out_dir) if out_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    try:
        torch.manual_seed(config.seed)
        train = load_pairs("train", config.num_train, config, v2a.image_size, render_size)
        audio, frames = train["audio"], train["frames"]
        training: dict[str, Any] = {}
        codec, codes = None, torch.empty(0)
        if set(paradigms) - {"flow"}:
            codec, training["codec"], codes = _train_codec(audio, config, v2a, out, vocoder)
        generator = torch.Generator().manual_seed(config.seed + 1)
        scheduler, models = FlowMatchingScheduler(), dict[str, nn.Module]()
        for name in paradigms:
            if name == "flow":
                net: nn.Module = build_flow_v2a(v2a)

                def step(rows: torch.Tensor, net: Any = net) -> torch.Tensor:
                    return net.loss(audio[rows], frames[rows], scheduler, v2a.condition_dropout, generator)
            else:
                net = build_token_v2a(v2a, name == "autoregressive")

                def step(rows: torch.Tensor, net: Any = net) -> torch.Tensor:
                    dropout, noise = v2a.condition_dropout, config.token_noise
                    return net.loss(codes[rows], frames[rows], dropout, generator, noise)

            training[name] = fit(net, step, config.steps, config, out, name)
            models[name] = net
    finally:
        torch.set_num_threads(threads)
    test = load_pairs("test", config.num_test, config, v2a.image_size, render_size)
    data = {"train": train, "test": test}
    return {
        "models": models,
        "codec": codec,
        "vocoder": vocoder,
        "training": training,
        "data": data,
        "render_size": render_size,
    }


def _scores(audio: torch.Tensor, test: dict[str, Any], embedder: PairEmbedder) -> dict[str, float]:
    reference = test["audio"]
    mel = compute_mel_distance(reference[:, 0].double().numpy(), audio[:, 0].double().numpy(), 16000)
    with torch.no_grad():
        video_emb = embedder.embed_video(test["frames"]).numpy()
        audio_emb = embedder.embed_audio(audio).numpy()
    logits = sync_logits(audio, test["frames"])
    grid = SYNC_OFFSETS / test["frames"].shape[1] * 2.0  # frames to seconds at 8 fps over 2 s clips
    return {
        "mel_distance": float(np.mean(mel)),
        "alignment": evaluate_alignment(video_emb, audio_emb)["alignment"],
        "desync": evaluate_desync(logits, grid)["desync"],
        "offset_accuracy": float(np.mean(SYNC_OFFSETS[logits[:, 0].argmax(1)] == 0)),
    }


def evaluate_v2a(
    trained: dict[str, Any], guidance: float = 2.0, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Score each paradigm, the retrieval baseline and the reference audio on the test clips.

    Returns:
        ``{name: {"mel_distance", "alignment", "desync", "offset_accuracy", "rtf", "parameters"}}``.
    """
    train, test = trained["data"]["train"], trained["data"]["test"]
    seconds = test["audio"].shape[-1] // 16000
    frames, models, codec = test["frames"], trained["models"], trained["codec"]
    size, render = frames.shape[-1], trained.get("render_size")
    held_out = load_pairs("val", len(train["audio"]), GenTrainConfig(duration=seconds), size, render)
    embedder = PairEmbedder().fit(held_out["audio"], held_out["frames"], seed=seed)  # clips no model saw
    seconds_of_audio = test["audio"].shape[0] * test["audio"].shape[-1] / 16000
    vocoder = trained.get("vocoder")

    def to_audio(mel: torch.Tensor) -> torch.Tensor:
        return vocoder[0](mel).clamp(-1, 1) if vocoder else griffin_lim(models["flow"].features, mel)

    samplers: dict[str, Callable[[torch.Generator], torch.Tensor]] = {
        "flow": lambda g: to_audio(generate_flow(models["flow"], frames, 16, guidance, None, g)),
        "autoregressive": lambda g: codec.decode(
            generate_autoregressive(models["autoregressive"], frames, guidance, generator=g)
        ),
        "maskgit": lambda g: codec.decode(
            generate_maskgit(models["maskgit"], frames, 12, guidance, generator=g)
        ),
    }
    results: dict[str, dict[str, float]] = {}
    for name, sample in samplers.items():
        if name not in models:
            continue
        start = time.perf_counter()
        with torch.no_grad():
            audio = sample(torch.Generator().manual_seed(seed))[..., : test["audio"].shape[-1]]
        rtf = (time.perf_counter() - start) / seconds_of_audio
        parameters = sum(p.numel() for p in models[name].parameters())
        results[name] = {**_scores(audio, test, embedder), "rtf": rtf, "parameters": float(parameters)}
    nearest = np.argmin(
        ((visual_feature(frames)[:, None] - visual_feature(train["frames"])[None]) ** 2).sum(-1), axis=1
    )
    results["retrieval"] = {**_scores(train["audio"][nearest], test, embedder), "rtf": 0.0, "parameters": 0.0}
    results["reference"] = {**_scores(test["audio"], test, embedder), "rtf": 0.0, "parameters": 0.0}
    return results


# ---------------------------------------------------------------------------------------------- export

EXPORT_NAMES = {"maskgit": "v2a", "autoregressive": "v2a-ar", "flow": "v2a-flow"}
"""Weights folder of each paradigm when exported (the registry names of :mod:`avikit.models.registry`)."""


def export_v2a(
    trained: dict[str, Any],
    weights_dir: str | Path,
    v2a: V2AConfig | None = None,
    window_frames: int | None = None,
    retrieval_bank: int = 512,
    names: dict[str, str] | None = None,
    guidance: float = 2.0,
) -> dict[str, Path]:
    """Save the trained generators (and a retrieval bank of ``retrieval_bank`` train clips) as packages.

    Each paradigm goes to ``weights_dir / names[paradigm]`` (default :data:`EXPORT_NAMES`), the bank to
    ``weights_dir / "v2a-retrieval"``, loadable by
    :func:`avikit.models.generation.v2a_pipeline.from_pretrained` and
    :func:`~avikit.models.generation.retrieval_baselines.retrieval_from_pretrained`. Float tensors are stored
    in float16; the packages sample with classifier-free guidance ``guidance``.
    """
    v2a = v2a or V2AConfig()
    window = window_frames or trained["data"]["train"]["frames"].shape[1]
    root, out = Path(weights_dir), {}
    vocoder = trained.get("vocoder")
    for paradigm, name in (names or EXPORT_NAMES).items():
        if paradigm not in trained["models"]:
            continue
        decodes_mel = paradigm == "flow" or v2a.tokenizer == "mel"
        config = V2AModelConfig(
            paradigm,
            v2a,
            window,
            16 if paradigm == "flow" else 12,
            guidance,
            vocoder=vocoder[1] if vocoder is not None and decodes_mel else None,
        )
        model = build_v2a_generator(config)
        model.network.load_state_dict(trained["models"][paradigm].state_dict())
        if model.codec is not None:
            model.codec.load_state_dict(trained["codec"].state_dict())
        if model.vocoder is not None and vocoder is not None:
            model.vocoder.load_state_dict(vocoder[0].state_dict())
        out[name] = save_v2a(model, config, root / name)
    if retrieval_bank:
        bank = RetrievalConfig(bank_size=retrieval_bank)
        out["v2a-retrieval"] = save_v2a(build_v2a_retrieval(bank).fill(), bank, root / "v2a-retrieval")
    return out
