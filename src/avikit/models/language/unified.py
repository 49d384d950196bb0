"""The unified archetype: one decoder-only transformer over text, audio and visual tokens, any-to-any.

As unified any-to-any models (one token stream, one next-token loss), small and trained from scratch:

- **text**: a byte-level BPE vocabulary learned on the instruction corpus
  (:func:`avikit.models.language.text_vocab.build_word_tokenizer`);
- **audio**: codes of the packaged mel codec (the tokenizer of the ``v2a`` generator: 32 code steps per
  second), first codebook, every ``audio_stride``-th step (8 tokens per second), written ``<a0>`` ..
  ``<a255>``; decoded back by repeating each code ``audio_stride`` times through the same codec's decoder
  (first codebook only: the coarse sound);
- **video**: a frame VQ over the frozen trunk: each second's visual map is cut in thirds (left, middle,
  right) and each third's feature is replaced by its nearest of ``visual_codes`` k-means centroids learned
  on ``train`` clips, written ``<v0>`` ..

The media tokens are interleaved on one clock (:mod:`avikit.models.language.interleave`, chunked) and sit in
the user turn like the Encoder+LLM's media. One model answers the language tasks (AV -> text), makes the
sound of a video (video -> audio tokens) and of a caption (text -> audio tokens). The LM is a
``LlamaForCausalLM`` (SmolLM2's architecture, 4 layers of width 192).

Example:
    >>> audio_token_names(3), visual_token_names(2)
    (['<a0>', '<a1>', '<a2>'], ['<v0>', '<v1>'])
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
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
from avikit.models.language.chat_lm import ChatLM, Generation
from avikit.models.language.interleave import QWEN2_5_OMNI, interleave
from avikit.models.language.prompt import PRESETS
from avikit.models.packaged import WEIGHTS_DIR
from avikit.nn import resolve_pretrained
from avikit.tasks import Task
from avikit.tasks.language import LANGUAGE_TASKS

__all__ = [
    "KIND",
    "V2A_PROMPT",
    "UnifiedAVLM",
    "UnifiedConfig",
    "audio_token_names",
    "build_unified_lm",
    "from_pretrained",
    "save_unified",
    "t2a_prompt",
    "visual_token_names",
]

KIND = "avikit.models.unified"
V2A_PROMPT = "Make the sound of this video."


def t2a_prompt(caption: str) -> str:
    """The request for the sound of a caption."""
    return f"Make the sound of: {caption}"


def audio_token_names(count: int) -> list[str]:
    """The audio token strings ``<a0>`` ..."""
    return [f"<a{k}>" for k in range(count)]


def visual_token_names(count: int) -> list[str]:
    """The visual token strings ``<v0>`` ..."""
    return [f"<v{k}>" for k in range(count)]


@dataclass(frozen=True)
class UnifiedConfig:
    """Sizes and tokenizers of the unified model."""

    width: int = 192
    depth: int = 4
    heads: int = 4
    text_vocab: int = 600  # byte-level BPE tokens (bytes and merges), besides the media tokens
    audio_codes: int = 256
    audio_stride: int = 4
    visual_codes: int = 64
    codec: str = "v2a"
    encoder: str = "av-encoder"
    model_id: str = "avikit/unified-av"


class UnifiedAVLM(nn.Module):
    """Text, audio and visual tokens in one decoder-only transformer."""

    tasks: tuple[str, ...] = LANGUAGE_TASKS

    def __init__(
        self,
        chat: ChatLM,
        codebook: torch.Tensor,
        config: UnifiedConfig,
        encoder: AVJointEncoder | None,
        codec: Any | None,
        weights_hash: str = "untrained",
    ) -> None:
        super().__init__()
        self.chat, self.config, self.encoder, self.codec = chat, config, encoder, codec
        self.register_buffer("codebook", codebook)  # [K, D] visual centroids
        self.id, self.weights_hash = config.model_id, weights_hash
        self.last_generation: Generation | None = None
        ids = chat.tokenizer.convert_tokens_to_ids
        self.audio_ids = torch.tensor(ids(audio_token_names(config.audio_codes)))
        self.visual_ids = torch.tensor(ids(visual_token_names(config.visual_codes)))

    # ------------------------------------------------------------------------------------- media tokens

    def visual_codes(self, visual_maps: torch.Tensor) -> torch.Tensor:
        """``[B, S, D, h, w]`` trunk maps -> ``[B, S * 3]`` codes (per second: left, middle, right thirds)."""
        thirds = torch.stack(
            [p.amax(dim=(3, 4)) for p in visual_maps.tensor_split(3, dim=4)], 2
        )  # [B, S, 3, D]
        flat = thirds.flatten(1, 2)  # [B, S*3, D]
        codebook: torch.Tensor = self.codebook  # type: ignore[assignment]
        return torch.cdist(flat, codebook[None].expand(len(flat), -1, -1)).argmin(-1)

    def audio_codes(self, waveform: torch.Tensor) -> torch.Tensor:
        """Mono ``[B, 1, N]`` -> first-codebook codes every ``audio_stride`` steps ``[B, T / stride]``."""
        if self.codec is None:
            raise ValueError(f"{self.id} has no audio codec loaded")
        return self.codec.encode(waveform, 1)[:, 0, :: self.config.audio_stride]

    def media_ids(self, video: torch.Tensor | None, audio: torch.Tensor | None) -> list[int]:
        """Token ids of one clip's codes in reading order (chunked clock): ``video [S*3]``, ``audio [T]``."""
        v = np.zeros(0, np.int64) if video is None else np.repeat(np.arange(len(video) // 3), 3) * 25
        a = (
            np.zeros(0, np.int64)
            if audio is None
            else (np.arange(len(audio)) * 25 * self.config.audio_stride) // 32
        )
        order = interleave(v.astype(np.int64), a.astype(np.int64), "chunked", QWEN2_5_OMNI)
        ids = []
        for modality, index in zip(order.modality, order.index.tolist(), strict=True):
            table, codes = (self.visual_ids, video) if modality == "video" else (self.audio_ids, audio)
            ids.append(int(table[int(codes[index])]))  # type: ignore[index]
        return ids

    def embed_ids(self, ids: list[int]) -> torch.Tensor:
        """Embeddings ``[N, W]`` of token ids (the media slot of a chat row)."""
        return self.chat.lm.get_input_embeddings()(torch.tensor(ids, dtype=torch.long))

    def clip_codes(self, frames: np.ndarray, waveform: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Visual ``[B, S*3]`` and audio ``[B, T]`` codes of clips ``[B, T, H, W, 3]``, ``[B, C, N]``."""
        if self.encoder is None:
            raise ValueError(f"{self.id} has no trunk loaded")
        seconds = max(1, round(waveform.shape[-1] / self.encoder.sample_rate))
        with torch.no_grad():
            maps = encode_media(self.encoder, frames, waveform, seconds)["visual_maps"]
            mono = torch.from_numpy(np.asarray(waveform, dtype=np.float32)).mean(1, keepdim=True)
            return self.visual_codes(maps), self.audio_codes(mono)

    # --------------------------------------------------------------------------------------- inference

    def answer(
        self,
        media: Sequence[list[int] | None],
        prompts: Sequence[str],
        max_new_tokens: int | None = None,
        batch_size: int = 16,
    ) -> list[str]:
        """Greedy answers (text, or audio tokens as ``<aK>`` strings)."""
        out: list[str] = []
        tokens, seconds = 0, 0.0
        for begin in range(0, len(prompts), batch_size):
            rows = range(begin, min(begin + batch_size, len(prompts)))
            embeds = [None if media[r] is None else self.embed_ids(media[r]) for r in rows]  # type: ignore[arg-type]
            with torch.no_grad():
                generation = self.chat.generate(
                    self.chat.build(embeds, [prompts[r] for r in rows]), max_new_tokens
                )
            out += generation.texts
            tokens, seconds = tokens + generation.new_tokens, seconds + generation.seconds
        self.last_generation = Generation(out, tokens, seconds)
        return out

    def decode_audio(self, text: str, num_samples: int) -> np.ndarray:
        """Mono float32 ``[num_samples]`` from generated ``<aK>`` tokens (silence where none were written)."""
        codes = [int(k) for k in re.findall(r"<a(\d+)>", text)]
        if not codes or self.codec is None:
            return np.zeros(num_samples, np.float32)
        steps = torch.tensor(codes).repeat_interleave(self.config.audio_stride)[None, None]  # [1, 1, T]
        with torch.no_grad():
            audio = self.codec.decode(steps.clamp(max=self.config.audio_codes - 1))[0, 0].numpy()
        return np.pad(audio[:num_samples], (0, max(0, num_samples - len(audio)))).astype(np.float32)

    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Answer every question of every item from the clip's tokens."""
        if task.name not in self.tasks:
            raise ValueError(f"{self.id} answers {', '.join(self.tasks)}, not {task.name!r}")
        frames = np.stack([item.frames for item in batch])
        waves = np.stack([item.waveform for item in batch]).astype(np.float32, copy=False)
        video, audio = self.clip_codes(frames, waves)
        media, prompts, owner = [], [], []
        for k, item in enumerate(batch):
            ids = self.media_ids(video[k], audio[k])
            for question in item.inputs.text:
                media.append(ids)
                prompts.append(question)
                owner.append(k)
        texts = self.answer(media, prompts)
        return [
            {"id": item.id, "answers": [t for t, o in zip(texts, owner, strict=True) if o == k]}
            for k, item in enumerate(batch)
        ]


def save_unified(model: UnifiedAVLM, out: str | os.PathLike[str]) -> Path:
    """Weights (LM and visual codebook, float16), ``config.json`` and the tokenizer to ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    state = {f"lm.{k}": v.detach().contiguous().clone() for k, v in model.chat.lm.state_dict().items()}
    state["codebook"] = torch.as_tensor(model.codebook).detach().clone()
    state.pop("lm.lm_head.weight", None)  # tied to the input embeddings
    state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}  # loads back as float32
    save_file(state, str(folder / "model.safetensors"))
    model.chat.tokenizer.save_pretrained(folder)  # tokenizer.json, tokenizer_config.json beside config.json
    (folder / "config.json").write_text(json.dumps({"kind": KIND, "config": asdict(model.config)}, indent=1))
    return folder


def build_unified_lm(config: UnifiedConfig, vocab_size: int) -> Any:
    """The randomly initialised transformer of the unified model."""
    from avikit.models.language.text_vocab import tiny_llama

    return tiny_llama(vocab_size, width=config.width, depth=config.depth, heads=config.heads)


def from_pretrained(
    name_or_path: str | os.PathLike[str] = "unified-av",
    encoder: AVJointEncoder | None = None,
    codec: Any | None = None,
) -> UnifiedAVLM:
    """Load a saved unified model (its trunk and codec by the names its config gives, unless given)."""
    import hashlib

    from transformers import PreTrainedTokenizerFast

    from avikit.models.generation.v2a_pipeline import from_pretrained as load_v2a

    folder = resolve_pretrained(name_or_path, [WEIGHTS_DIR])
    meta = json.loads((folder / "config.json").read_text())
    if meta.get("kind") != KIND:
        raise DataError(f"{folder}/config.json: kind {meta.get('kind')!r} is not {KIND!r}")
    config = UnifiedConfig(**meta["config"])
    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    lm = build_unified_lm(config, len(tokenizer))
    state = load_file(str(folder / "model.safetensors"))
    lm.load_state_dict({k[3:]: v.float() for k, v in state.items() if k.startswith("lm.")}, strict=False)
    lm.tie_weights()
    chat = ChatLM(lm.eval(), tokenizer, PRESETS["qwen3-omni-eval"])
    trunk = encoder if encoder is not None else load_encoder(config.encoder)
    mel_codec = codec if codec is not None else load_v2a(config.codec).codec
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()[:16]
    return UnifiedAVLM(chat, state["codebook"].float(), config, trunk, mel_codec, digest).eval()
