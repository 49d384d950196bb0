"""The Encoder+LLM archetype: the frozen AV trunk, a projector and SmolLM2 with LoRA, answering in words.

As video-SALMONN, VITA or Qwen2.5-Omni's Thinker: the trunk's audio and video tokens
(:mod:`avikit.models.language.av_tokens`) are projected to the LM's width, read on one clock
(:mod:`avikit.models.language.interleave`, chunked by default) and placed in the user turn before the
question (:mod:`avikit.models.language.prompt`). The projector and rank-8 LoRA adapters on the LM's
``q_proj``/``v_proj`` are trained (:mod:`avikit.train.instruction_tuning`, :mod:`avikit.train.dpo`);
the trunk and the LM stay frozen. With ``use_media=False`` the same class is the *blind LM*, answering
from the question alone: the baseline every AV-LLM must beat.

Every language task's prediction is ``{"id", "answers": [text per question]}``.

File order: config, model, builder, save and ``from_pretrained``.

Example:
    >>> from avikit.models.language.text_vocab import build_word_tokenizer, tiny_llama
    >>> tokenizer = build_word_tokenizer(["yes no"])
    >>> config = EncoderLLMConfig(use_media=False, lora_rank=0)
    >>> model = build_encoder_llm(config, None, tiny_llama(len(tokenizer)), tokenizer)
    >>> model.id, model.trainable_parameters()
    ('avikit/blind-lm', 0)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from avikit.errors import DataError
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.trunk import load_encoder
from avikit.models.encoders.trunk_encoding import MediaItem, encode_media
from avikit.models.language.av_tokens import ClipTokens, Projector, clip_tokens, reading_order
from avikit.models.language.chat_lm import ChatLM, Generation
from avikit.models.language.prompt import get_preset
from avikit.models.language.smollm2 import GGUF_SHA256, load_smollm2
from avikit.models.packaged import WEIGHTS_DIR
from avikit.nn import resolve_pretrained
from avikit.tasks import Task
from avikit.tasks.language import LANGUAGE_TASKS

__all__ = [
    "KIND",
    "EncoderLLM",
    "EncoderLLMConfig",
    "build_encoder_llm",
    "from_pretrained",
    "load_blind_lm",
    "load_blind_lm_sft",
    "load_encoder_llm_dpo",
    "save_encoder_llm",
]

KIND = "avikit.models.encoder_llm"


@dataclass(frozen=True)
class EncoderLLMConfig:
    """What the archetype is made of.

    Attributes:
        encoder: the trunk (packaged name or folder).
        preset: the prompt preset (:data:`avikit.models.language.prompt.PRESETS`).
        use_media: ``False``: the blind LM (no trunk, no projector).
        audio_rate: audio tokens per second.
        interleave_mode: ``"chunked"`` or ``"time_sorted"``.
        lora_rank: rank of the LoRA adapters (0: the LM as released).
        lora_alpha: LoRA scale numerator.
        lora_targets: LM modules that get adapters.
        time_dim: width of the sinusoidal time features.
        model_id: the model's id.
    """

    encoder: str = "av-encoder"
    preset: str = "qwen3-omni-eval"
    use_media: bool = True
    audio_rate: int = 2
    interleave_mode: str = "chunked"
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    time_dim: int = 32
    model_id: str = field(default="")


class EncoderLLM(nn.Module):
    """Trunk (frozen) -> projector -> LM with LoRA; or the blind LM when it has no projector."""

    tasks: tuple[str, ...] = LANGUAGE_TASKS

    def __init__(
        self,
        chat: ChatLM,
        encoder: AVJointEncoder | None,
        projector: Projector | None,
        config: EncoderLLMConfig,
        weights_hash: str = "untrained",
    ) -> None:
        super().__init__()
        self.chat, self.encoder, self.projector, self.config = chat, encoder, projector, config
        default = "avikit/encoder-llm" if config.use_media else "avikit/blind-lm"
        self.id = config.model_id or default
        self.weights_hash = weights_hash
        self.last_generation: Generation | None = None

    def trainable_parameters(self) -> int:
        """Parameters that training updates (projector and LoRA)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def media_embeddings(self, tokens: ClipTokens | None, rows: int) -> list[torch.Tensor | None]:
        """Projected media per row (``None`` for every row of the blind LM)."""
        if self.projector is None or tokens is None:
            return [None] * rows
        order = reading_order(tokens, self.config.interleave_mode)
        embedded = self.projector(tokens, order)  # [B, N, W]
        return list(embedded)

    def clip_tokens_of(self, frames: np.ndarray, waveform: np.ndarray) -> ClipTokens:
        """Stream features of a batch of clips ``[B, T, H, W, 3]`` and ``[B, C, N]`` through the trunk."""
        if self.encoder is None:
            raise ValueError(f"{self.id} has no trunk; it answers from the question alone")
        seconds = max(1, round(waveform.shape[-1] / self.encoder.sample_rate))
        return clip_tokens(encode_media(self.encoder, frames, waveform, seconds), self.config.audio_rate)

    def answer(self, tokens: ClipTokens | None, prompts: Sequence[str], batch_size: int = 16) -> list[str]:
        """Greedy answers to ``prompts`` (row ``k`` about clip ``k`` of ``tokens``)."""
        texts: list[str] = []
        total = Generation([], 0, 0.0)
        for begin in range(0, len(prompts), batch_size):
            rows = list(range(begin, min(begin + batch_size, len(prompts))))
            part = None if tokens is None else tokens.select(rows)
            with torch.no_grad():
                media = self.media_embeddings(part, len(rows))
                generation = self.chat.generate(self.chat.build(media, [prompts[r] for r in rows]))
            texts += generation.texts
            total = Generation(
                total.texts, total.new_tokens + generation.new_tokens, total.seconds + generation.seconds
            )
        self.last_generation = Generation(texts, total.new_tokens, total.seconds)
        return texts

    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Answer every question of every item: ``{"id", "answers": [text, ...]}``."""
        if task.name not in self.tasks:
            raise ValueError(f"{self.id} answers {', '.join(self.tasks)}, not {task.name!r}")
        pairs = [(k, q) for k, item in enumerate(batch) for q in item.inputs.text]
        tokens = None
        if self.projector is not None and pairs:
            frames = np.stack([item.frames for item in batch])
            waves = np.stack([item.waveform for item in batch]).astype(np.float32, copy=False)
            tokens = self.clip_tokens_of(frames, waves).select([k for k, _ in pairs])
        texts = self.answer(tokens, [q for _, q in pairs]) if pairs else []
        out, cursor = [], 0
        for item in batch:
            count = len(item.inputs.text)
            out.append({"id": item.id, "answers": texts[cursor : cursor + count]})
            cursor += count
        return out


def build_encoder_llm(
    config: EncoderLLMConfig,
    encoder: AVJointEncoder | None,
    lm: Any,
    tokenizer: Any,
    feature_dim: int | None = None,
) -> EncoderLLM:
    """Compose the archetype from built parts: LoRA is added to ``lm`` when ``lora_rank > 0``; LM frozen.

    Args:
        config: the archetype's config.
        encoder: the frozen trunk (``None`` for the blind LM).
        lm: a transformers causal LM.
        tokenizer: its tokenizer (ChatML special tokens).
        feature_dim: the trunk's width (default: read from ``encoder``).
    """
    for parameter in lm.parameters():
        parameter.requires_grad_(False)
    if config.lora_rank > 0:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_rank,
            lora_alpha=config.lora_alpha,
            target_modules=list(config.lora_targets),
            lora_dropout=0.0,
        )
        lm = get_peft_model(lm, lora)
    chat = ChatLM(lm, tokenizer, get_preset(config.preset))
    projector = None
    if config.use_media:
        if encoder is None and feature_dim is None:
            raise ValueError("an Encoder+LLM needs its trunk (or feature_dim to train on cached features)")
        d = feature_dim or int(getattr(encoder, "audio_head").in_features)  # noqa: B009 (a Linear)
        projector = Projector(2 * d, 5 * d, chat.width, config.time_dim)
    return EncoderLLM(chat, encoder, projector, config)


def _trained_state(model: EncoderLLM) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    if model.projector is not None:
        state.update({f"projector.{k}": v for k, v in model.projector.state_dict().items()})
    if model.config.lora_rank > 0:
        from peft import get_peft_model_state_dict

        state.update({f"lora.{k}": v for k, v in get_peft_model_state_dict(model.chat.lm).items()})
    return {k: v.detach().contiguous().clone() for k, v in state.items()}


def save_encoder_llm(model: EncoderLLM, out: str | os.PathLike[str], half: bool = True) -> Path:
    """Write the trained parts (projector, LoRA; float16 by default) and ``config.json`` to ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in _trained_state(model).items()}
    save_file(state, str(folder / "model.safetensors"))
    config = {
        "kind": KIND,
        "config": asdict(model.config),
        "lm": {"name": "SmolLM2-135M-Instruct", "gguf_sha256": GGUF_SHA256},
    }
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    return folder


def _weights_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def from_pretrained(
    name_or_path: str | os.PathLike[str] = "encoder-llm",
    lm_loader: Callable[[], tuple[Any, Any]] = load_smollm2,
    encoder: AVJointEncoder | None = None,
) -> EncoderLLM:
    """Load a trained archetype: a packaged name or a folder written by :func:`save_encoder_llm`.

    Args:
        name_or_path: weights folder (or a name under the packaged weights).
        lm_loader: returns ``(lm, tokenizer)``; SmolLM2 by default.
        encoder: the trunk (default: the one the config names).
    """
    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR])
    meta = json.loads((folder / "config.json").read_text())
    if meta.get("kind") != KIND:
        raise DataError(
            f"{folder}/config.json: kind {meta.get('kind')!r} is not {KIND!r}; name an Encoder+LLM folder"
        )
    config = EncoderLLMConfig(**{**meta["config"], "lora_targets": tuple(meta["config"]["lora_targets"])})
    lm, tokenizer = lm_loader()
    trunk = encoder if encoder is not None or not config.use_media else load_encoder(config.encoder)
    model = build_encoder_llm(config, trunk, lm, tokenizer)
    state = load_file(str(folder / "model.safetensors"))
    if model.projector is not None:
        model.projector.load_state_dict(
            {k[10:]: v.float() for k, v in state.items() if k.startswith("projector.")}
        )
    if config.lora_rank > 0:
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(
            model.chat.lm, {k[5:]: v.float() for k, v in state.items() if k.startswith("lora.")}
        )
    model.weights_hash = _weights_hash(folder / "model.safetensors")
    return model.eval()


def load_encoder_llm_dpo() -> EncoderLLM:
    """The Encoder+LLM after DPO (registry name ``"encoder-llm-dpo"``)."""
    return from_pretrained("encoder-llm-dpo")


def load_blind_lm_sft() -> EncoderLLM:
    """SmolLM2 with LoRA trained on the instruction questions without media (``"blind-lm-sft"``)."""
    return from_pretrained("blind-lm-sft")


def load_blind_lm(lm_loader: Callable[[], tuple[Any, Any]] = load_smollm2) -> EncoderLLM:
    """SmolLM2 as released, answering from the question alone (registry name ``"blind-lm"``)."""
    lm, tokenizer = lm_loader()
    model = build_encoder_llm(EncoderLLMConfig(use_media=False, lora_rank=0), None, lm, tokenizer)
    model.weights_hash = GGUF_SHA256[:16]
    return model.eval()
