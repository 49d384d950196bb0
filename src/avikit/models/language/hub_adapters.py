"""Hub AV-LLMs behind the ``Model`` protocol: Qwen2.5-Omni's Thinker, Qwen2-Audio and LLaVA-OneVision.

Each adapter takes a transformers model, its tokenizer and (for audio) a ``WhisperFeatureExtractor``, and
builds the model's inputs from the task's cut media with the published formulas, so it needs no
torchvision (the hub processors' video paths do):

- video (Qwen2-VL patching): frames at the preset's 2 fps, resized to multiples of ``patch * merge``,
  CLIP-normalized, padded to a multiple of ``temporal_patch_size`` by repeating the last frame, cut into
  ``[grid_t * grid_h * grid_w, 3 * t * p * p]`` patches; ``video_second_per_grid = t / fps``;
- audio: the whole window, mono at 16 kHz, through the Whisper front end; Qwen's audio tower gives
  ``((L - 1) // 2 + 1 - 2) // 2 + 1`` tokens for ``L`` mel frames (25 per second);
- **Qwen2.5-Omni** with ``use_audio_in_video=True`` (the default here, unlike the hub processor's): the
  placeholders are ``<|vision_bos|><|audio_bos|>`` + the chunked interleave of
  :func:`avikit.models.language.interleave.interleave` (2 s chunks, video before audio) +
  ``<|audio_eos|><|vision_eos|>``, and the model is told ``use_audio_in_video=True`` (TMRoPE);
  ``use_audio_in_video=False`` gives the video and then a separate audio segment — never a dropped sound;
- **Qwen2-Audio** hears only; **LLaVA-OneVision** sees only: each declares its ``inputs``, and the bench
  reports them as audio-only and video-only models.

Greedy decoding, media before the question, no system prompt (``qwen3-omni-eval``), unless the preset says
otherwise. ``from_pretrained(folder)`` loads a real checkpoint; tests use tiny random models built from
each model's config class (:func:`tiny_qwen2_5_omni`).

Example:
    >>> thinker = tiny_qwen2_5_omni()
    >>> thinker.inputs, thinker.use_audio_in_video
    (('audio', 'video', 'text'), True)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.errors import UsageError
from avikit.models.encoders.trunk_encoding import MediaItem
from avikit.models.language.interleave import QWEN2_5_OMNI, audio_time_ids, interleave, video_time_ids
from avikit.models.language.prompt import PRESETS, PromptPreset, chat_parts
from avikit.models.language.text_vocab import build_word_tokenizer
from avikit.tasks import Task
from avikit.tasks.language import LANGUAGE_TASKS

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "HubAVLM",
    "audio_token_count",
    "patchify_video",
    "tiny_qwen2_5_omni",
    "whisper_features",
]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_QWEN_SPECIALS = (
    "<|AUDIO|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
    "<|IMAGE|>",
    "<|VIDEO|>",
    "<|vision_bos|>",
    "<|vision_eos|>",
)


def audio_token_count(mel_frames: int) -> int:
    """Tokens of Qwen2-Audio's / Qwen2.5-Omni's audio tower for ``mel_frames`` frames (two stride-2 steps)."""
    return ((mel_frames - 1) // 2 + 1 - 2) // 2 + 1


def whisper_features(
    extractor: Any, waveform: np.ndarray, sample_rate: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_features [1, M, 3000], feature_attention_mask [1, 3000])`` of the mono mix of ``[C, N]``."""
    if sample_rate != extractor.sampling_rate:
        raise UsageError(
            f"audio at {sample_rate} Hz; the model's front end needs {extractor.sampling_rate} Hz"
        )
    mono = np.asarray(waveform, dtype=np.float32).mean(0)
    out = extractor(
        mono, sampling_rate=sample_rate, return_attention_mask=True, padding="max_length", return_tensors="pt"
    )
    return out["input_features"], out["attention_mask"]


def patchify_video(
    frames: np.ndarray, patch: int, merge: int, temporal: int, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Qwen2-VL patches ``[t * h * w, 3 * temporal * patch^2]`` and ``grid_thw [1, 3]`` of ``[T, H, W, 3]``.

    Frames are resized (bilinear) to ``size x size`` (a multiple of ``patch * merge``) and CLIP-normalized.
    """
    if size % (patch * merge):
        raise UsageError(f"frame size {size} must be a multiple of patch * merge = {patch * merge}")
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255  # [T, 3, H, W]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x - torch.tensor(CLIP_MEAN)[:, None, None]) / torch.tensor(CLIP_STD)[:, None, None]
    if len(x) % temporal:
        x = torch.cat([x, x[-1:].expand(temporal - len(x) % temporal, -1, -1, -1)])
    t, g = len(x) // temporal, size // patch
    x = x.reshape(t, temporal, 3, g // merge, merge, patch, g // merge, merge, patch)
    x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8).reshape(t * g * g, 3 * temporal * patch * patch)
    return x, torch.tensor([[t, g, g]])


class HubAVLM:
    """A hub AV-LLM (Qwen2.5-Omni Thinker, Qwen2-Audio or LLaVA-OneVision) answering language tasks."""

    tasks: tuple[str, ...] = LANGUAGE_TASKS

    def __init__(
        self,
        family: str,
        model: Any,
        tokenizer: Any,
        feature_extractor: Any | None = None,
        preset: PromptPreset = PRESETS["qwen3-omni-eval"],
        use_audio_in_video: bool = True,
        frame_size: int = 56,
        model_id: str | None = None,
        weights_hash: str = "untrained",
    ) -> None:
        if family not in ("qwen2.5-omni", "qwen2-audio", "llava-onevision"):
            raise UsageError(
                f"unknown hub family {family!r}; valid: qwen2.5-omni, qwen2-audio, llava-onevision"
            )
        self.family, self.model, self.tokenizer, self.extractor = (
            family,
            model.eval(),
            tokenizer,
            feature_extractor,
        )
        self.preset, self.use_audio_in_video, self.frame_size = preset, use_audio_in_video, frame_size
        self.id = model_id or f"hub/{family}"
        self.weights_hash = weights_hash
        self.inputs = {
            "qwen2.5-omni": ("audio", "video", "text"),
            "qwen2-audio": ("audio", "text"),
            "llava-onevision": ("video", "text"),
        }[family]
        self.last_inputs: dict[str, Any] = {}

    def _token(self, text: str) -> str:
        return text

    def _omni_media(
        self, frames: np.ndarray, waveform: np.ndarray, sample_rate: int
    ) -> tuple[str, dict[str, Any]]:
        vision = self.model.config.vision_config
        patch, merge, temporal = vision.patch_size, vision.spatial_merge_size, vision.temporal_patch_size
        pixels, grid = patchify_video(frames, patch, merge, temporal, self.frame_size)
        features, mask = whisper_features(self.extractor, waveform, sample_rate)
        per_step = int(grid[0, 1] * grid[0, 2]) // merge**2
        seconds_per_grid = temporal / self.preset.fps
        inputs = {
            "pixel_values_videos": pixels,
            "video_grid_thw": grid,
            "input_features": features,
            "feature_attention_mask": mask,
            "video_second_per_grid": torch.tensor([seconds_per_grid]),
        }
        audio_tokens = audio_token_count(int(mask.sum()))
        if not self.use_audio_in_video:
            video = "<|vision_bos|>" + "<|VIDEO|>" * (int(grid[0, 0]) * per_step) + "<|vision_eos|>"
            return video + "<|audio_bos|>" + "<|AUDIO|>" * audio_tokens + "<|audio_eos|>", inputs
        video_ids = video_time_ids(
            int(grid[0, 0]) * temporal, self.preset.fps, temporal, per_step, QWEN2_5_OMNI
        )
        order = interleave(video_ids, audio_time_ids(audio_tokens, 25, QWEN2_5_OMNI), "chunked", QWEN2_5_OMNI)
        body = "".join("<|VIDEO|>" if m == "video" else "<|AUDIO|>" for m in order.modality)
        return "<|vision_bos|><|audio_bos|>" + body + "<|audio_eos|><|vision_eos|>", inputs

    def _media(
        self, frames: np.ndarray, waveform: np.ndarray, sample_rate: int
    ) -> tuple[str, dict[str, Any]]:
        if self.family == "qwen2.5-omni":
            return self._omni_media(frames, waveform, sample_rate)
        if self.family == "qwen2-audio":
            features, mask = whisper_features(self.extractor, waveform, sample_rate)
            count = audio_token_count(int(mask.sum()))
            return "<|audio_bos|>" + "<|AUDIO|>" * count + "<|audio_eos|>", {
                "input_features": features,
                "feature_attention_mask": mask,
            }
        return self._llava_media(frames)

    def _llava_media(self, frames: np.ndarray) -> tuple[str, dict[str, Any]]:
        size = self.model.config.vision_config.image_size
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        x = (x - 0.5) / 0.5  # SigLIP normalization
        grid = size // self.model.config.vision_config.patch_size
        pooled = -(-grid // 2)  # 2 x 2 bilinear pooling, rounded up
        count = len(frames) * pooled * pooled + 1  # one newline token after the video
        return "<video>" * count, {"pixel_values_videos": x[None]}

    @torch.no_grad()
    def answer(self, frames: np.ndarray, waveform: np.ndarray, sample_rate: int, question: str) -> str:
        """Greedy answer to one question about one clip (frames at the preset's fps, the whole audio)."""
        media, inputs = self._media(frames, waveform, sample_rate)
        prefix, suffix = chat_parts(self.preset, question)
        ids = self.tokenizer(prefix + media + suffix, add_special_tokens=False, return_tensors="pt")
        extra = {"use_audio_in_video": self.use_audio_in_video} if self.family == "qwen2.5-omni" else {}
        self.last_inputs = {**inputs, "input_ids": ids["input_ids"]}
        out = self.model.generate(
            input_ids=ids["input_ids"],
            attention_mask=ids["attention_mask"],
            **inputs,
            **extra,
            max_new_tokens=self.preset.max_new_tokens,
            do_sample=False,
        )
        return str(
            self.tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        ).strip()

    def predict(self, task: Task, batch: Sequence[MediaItem]) -> list[dict[str, Any]]:
        """Answer every question of every item (one generation per question)."""
        if task.name not in self.tasks:
            raise ValueError(f"{self.id} answers {', '.join(self.tasks)}, not {task.name!r}")
        rate = task.spec.protocol.sample_rate
        return [
            {
                "id": item.id,
                "answers": [self.answer(item.frames, item.waveform, rate, q) for q in item.inputs.text],
            }
            for item in batch
        ]


def _qwen_tokenizer() -> Any:
    return build_word_tokenizer(["What is heard? yes no one two"], 400, _QWEN_SPECIALS)


def _tiny_text_config(vocab_size: int, **extra: Any) -> dict[str, Any]:
    """The text decoder of every tiny random adapter: 2 layers of width 32, grouped-query attention."""
    return {
        "vocab_size": vocab_size,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        **extra,
    }


def tiny_qwen2_5_omni(use_audio_in_video: bool = True, seed: int = 0) -> HubAVLM:
    """A randomly initialised Qwen2.5-Omni Thinker from its config classes (no download), as an adapter."""
    from transformers import (
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
        WhisperFeatureExtractor,
    )

    tokenizer = _qwen_tokenizer()
    tid = tokenizer.convert_tokens_to_ids
    # the vision start/end ids are read by the model from its config (not declared by the config class)
    config = Qwen2_5OmniThinkerConfig(  # type: ignore[call-arg]
        audio_config={
            "num_mel_bins": 128,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 32,
            "d_model": 16,
            "output_dim": 32,
            "n_window": 50,
            "max_source_positions": 1500,
        },
        vision_config={
            "depth": 1,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_heads": 2,
            "out_hidden_size": 32,
            "fullatt_block_indexes": [0],
            "window_size": 28,
        },
        text_config=_tiny_text_config(
            len(tokenizer),
            rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0},
        ),
        audio_token_index=tid("<|AUDIO|>"),
        image_token_index=tid("<|IMAGE|>"),
        video_token_index=tid("<|VIDEO|>"),
        audio_start_token_id=tid("<|audio_bos|>"),
        audio_end_token_id=tid("<|audio_eos|>"),
        vision_start_token_id=tid("<|vision_bos|>"),
        vision_end_token_id=tid("<|vision_eos|>"),
    )
    torch.manual_seed(seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(config)
    model.generation_config.eos_token_id = tid("<|im_end|>")
    model.generation_config.pad_token_id = tid("<|endoftext|>")
    extractor = WhisperFeatureExtractor(feature_size=128, sampling_rate=16000)
    return HubAVLM(
        "qwen2.5-omni",
        model,
        tokenizer,
        extractor,
        use_audio_in_video=use_audio_in_video,
        model_id="hub/qwen2.5-omni-tiny-random",
    )


def from_pretrained(folder: str | os.PathLike[str], family: str = "qwen2.5-omni", **kwargs: Any) -> HubAVLM:
    """A real checkpoint folder (weights, tokenizer, preprocessor config) behind the adapter."""
    import transformers

    classes = {
        "qwen2.5-omni": "Qwen2_5OmniThinkerForConditionalGeneration",
        "qwen2-audio": "Qwen2AudioForConditionalGeneration",
        "llava-onevision": "LlavaOnevisionForConditionalGeneration",
    }
    if family not in classes:
        raise UsageError(f"unknown hub family {family!r}; valid: {', '.join(classes)}")
    model = getattr(transformers, classes[family]).from_pretrained(folder)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    extractor = (
        None if family == "llava-onevision" else transformers.WhisperFeatureExtractor.from_pretrained(folder)
    )
    return HubAVLM(family, model, tokenizer, extractor, model_id=f"hub/{family}", **kwargs)


def tiny_qwen2_audio(seed: int = 0) -> HubAVLM:
    """A random Qwen2-Audio from its config classes (no download), as an adapter (hears only)."""
    from transformers import Qwen2AudioConfig, Qwen2AudioForConditionalGeneration, WhisperFeatureExtractor

    tokenizer = _qwen_tokenizer()
    tid = tokenizer.convert_tokens_to_ids
    config = Qwen2AudioConfig(
        audio_config={
            "num_mel_bins": 128,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 32,
            "d_model": 16,
        },
        text_config=_tiny_text_config(len(tokenizer), model_type="qwen2"),
        audio_token_index=tid("<|AUDIO|>"),
    )
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config)
    model.generation_config.eos_token_id = tid("<|im_end|>")
    model.generation_config.pad_token_id = tid("<|endoftext|>")
    extractor = WhisperFeatureExtractor(feature_size=128, sampling_rate=16000)
    return HubAVLM("qwen2-audio", model, tokenizer, extractor, model_id="hub/qwen2-audio-tiny-random")


def tiny_llava_onevision(seed: int = 0) -> HubAVLM:
    """A random LLaVA-OneVision from its config classes (no download), as an adapter (sees only)."""
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

    tokenizer = build_word_tokenizer(["What is seen? yes no one two"], 400, ("<image>", "<video>"))
    tid = tokenizer.convert_tokens_to_ids
    config = LlavaOnevisionConfig(
        vision_config={
            "model_type": "siglip_vision_model",
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        text_config=_tiny_text_config(len(tokenizer), model_type="qwen2"),
        image_token_index=tid("<image>"),
        video_token_index=tid("<video>"),
        vision_feature_layer=-1,
        image_grid_pinpoints=[[32, 32]],
    )
    torch.manual_seed(seed)
    model = LlavaOnevisionForConditionalGeneration(config)
    model.generation_config.eos_token_id = tid("<|im_end|>")
    model.generation_config.pad_token_id = tid("<|endoftext|>")
    return HubAVLM("llava-onevision", model, tokenizer, None, model_id="hub/llava-onevision-tiny-random")
