"""The LLM+Generator archetype: the LM writes a structured call, avikit's generators carry it out.

As in LLM-driven generation systems (the LM plans, specialised generators render), SmolLM2 reads a request
("Make the sound for this silent clip, quieter at the end.") and writes one JSON call matching
:data:`avikit.data.tool_requests.CALL_SCHEMA`. The call is parsed, validated (an invalid call is reported as
such and nothing is generated) and executed with the packaged generators: ``v2a`` (video-to-audio, then the
``gain_db`` ramp), ``a2v`` (audio-to-video), ``joint`` (sound and frames from ``caption``, then the ramp) and
``codec`` (encode and decode the sound). The LM is SmolLM2 with LoRA adapters trained on request -> call
pairs (:mod:`avikit.train.tool_calls`), or SmolLM2 as released with the schema in its system prompt.

Example:
    >>> [round(float(x), 3) for x in apply_gain_ramp(np.ones(5, np.float32), [0, -20])]
    [1.0, 0.562, 0.316, 0.178, 0.1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from avikit.data.tool_requests import check_call, parse_call
from avikit.errors import UsageError
from avikit.models.generation.windows import input_seed
from avikit.models.language.chat_lm import ChatLM
from avikit.models.language.encoder_llm import EncoderLLMConfig, build_encoder_llm, from_pretrained
from avikit.models.language.smollm2 import GGUF_SHA256, load_smollm2
from avikit.models.protocol import Item
from avikit.tasks import Task
from avikit.tasks.generation import prediction_folder

__all__ = [
    "TASK_REQUESTS",
    "CallResult",
    "LLMGenerator",
    "apply_gain_ramp",
    "load_generators",
    "load_llm_generator",
    "load_llm_generator_zero_shot",
    "predict_generation",
]


def apply_gain_ramp(audio: np.ndarray, gain_db: Sequence[float]) -> np.ndarray:
    """``audio [..., N]`` times a linear-in-dB ramp from ``gain_db[0]`` to ``gain_db[1]``."""
    ramp = np.linspace(float(gain_db[0]), float(gain_db[1]), audio.shape[-1])
    return (audio * 10 ** (ramp / 20)).astype(np.float32)


@dataclass
class CallResult:
    """What one request produced.

    Attributes:
        text: the LM's raw answer.
        call: the parsed call (``None``: no JSON object).
        errors: schema violations (empty: a valid call).
        audio: generated mono sound ``[N]`` (or ``None``).
        video: generated frames ``[T, H, W, 3]`` uint8 (or ``None``).
    """

    text: str
    call: dict[str, Any] | None
    errors: list[str]
    audio: np.ndarray | None = None
    video: np.ndarray | None = None


TASK_REQUESTS = {
    "v2a": "Make the sound for this silent clip.",
    "a2v": "Make the video for this sound.",
    "joint-generation": "Make a clip where {caption}.",
    "codec-reconstruction": "Compress this sound and play it back.",
}
"""The request the LLM+Generator is given for each generation task (``{caption}``: the task's text)."""


class LLMGenerator:
    """An LM that writes calls and the generators that carry them out (a model of the generation tasks)."""

    tasks: tuple[str, ...] = tuple(TASK_REQUESTS)

    def __init__(self, chat: ChatLM, generators: Mapping[str, Any], model_id: str, weights_hash: str) -> None:
        self.chat, self.generators, self.id, self.weights_hash = (
            chat,
            dict(generators),
            model_id,
            weights_hash,
        )
        self.failed_calls: list[tuple[str, str]] = []

    def write_calls(self, requests: Sequence[str], batch_size: int = 8) -> list[str]:
        """The LM's answer to each request (greedy)."""
        texts: list[str] = []
        for begin in range(0, len(requests), batch_size):
            part = list(requests[begin : begin + batch_size])
            texts += self.chat.generate(self.chat.build([None] * len(part), part)).texts
        return texts

    def execute(
        self,
        call: Mapping[str, Any],
        frames: np.ndarray | None,
        waveform: np.ndarray | None,
        seed: int = 0,
        geometry: tuple[int, tuple[int, int], int] | None = None,
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Run a valid call on a clip (``frames [T, H, W, 3]`` uint8, 8 fps; ``waveform [C, N]``, 16 kHz).

        A stream the task does not give is ``None``; ``geometry`` is ``(frames, (height, width), samples)``
        of the output (default: read off the given streams).
        """
        tool, gain = call["tool"], call.get("gain_db", [0, 0])
        if tool not in self.generators:
            raise UsageError(f"{self.id} has no {tool!r} generator; it has {', '.join(self.generators)}")
        count, size, samples = geometry or _geometry(frames, waveform)
        generator = self.generators[tool]
        needs = {"v2a": frames, "codec": waveform, "a2v": waveform}
        if tool in needs and needs[tool] is None:
            raise UsageError(f"a {tool} call needs the clip's {'frames' if tool == 'v2a' else 'audio'}")
        with torch.no_grad():
            if tool == "v2a":
                return apply_gain_ramp(generator.generate(frames, seed)[:samples], gain), None
            if tool == "codec":
                mono = torch.from_numpy(np.asarray(waveform, dtype=np.float32))[None]
                return generator.reconstruct(mono)[0, 0].numpy(), None
            if tool == "a2v":
                reference = (
                    torch.from_numpy(np.ascontiguousarray(frames[0])).permute(2, 0, 1).float() / 255
                    if frames is not None
                    else torch.zeros(3, *size)
                )
                audio = torch.from_numpy(np.asarray(waveform, dtype=np.float32)).mean(0, keepdim=True)
                out = generator.generate(reference, audio, count)
                return None, (out.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
            audio, video, _ = generator.generate(call["caption"], count, size, seed)
        sound = apply_gain_ramp(audio[0].numpy()[:samples], gain)
        return sound, (video.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)

    def predict(self, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
        """The generation task's prediction: the task's request, the LM's call, the generator's output."""
        return predict_generation(self, task, batch)

    def run(
        self,
        request: str,
        frames: np.ndarray | None,
        waveform: np.ndarray | None,
        seed: int = 0,
        execute: bool = True,
        geometry: tuple[int, tuple[int, int], int] | None = None,
    ) -> CallResult:
        """Write, check and (when valid and ``execute``) carry out the call of one request."""
        text = self.write_calls([request])[0]
        call = parse_call(text)
        errors = ["no JSON object in the answer"] if call is None else check_call(call)
        result = CallResult(text, call, errors)
        if call is not None and not errors and execute:
            result.audio, result.video = self.execute(call, frames, waveform, seed, geometry)
        return result


def _geometry(frames: np.ndarray | None, waveform: np.ndarray | None) -> tuple[int, tuple[int, int], int]:
    """``(frames, (height, width), samples)`` read off the streams (8 fps, 16 kHz, 128 px by default)."""
    if frames is not None:
        count, size = len(frames), (int(frames.shape[1]), int(frames.shape[2]))
        return count, size, waveform.shape[-1] if waveform is not None else count * 2000
    samples = int(waveform.shape[-1]) if waveform is not None else 160000
    return samples // 2000, (128, 128), samples


def load_generators() -> dict[str, Any]:
    """The packaged generators a call can name."""
    from avikit.models.generation.a2v_pipeline import load_a2v
    from avikit.models.generation.joint_pipeline import load_joint
    from avikit.models.generation.v2a_pipeline import from_pretrained as load_v2a
    from avikit.models.tokenizers.codec import from_pretrained as load_codec

    return {"v2a": load_v2a("v2a"), "a2v": load_a2v(), "joint": load_joint(), "codec": load_codec()}


def load_llm_generator(name_or_path: str = "llm-generator") -> LLMGenerator:
    """SmolLM2 with the call-writing adapters (registry name ``"llm-generator"``) and the generators."""
    lm = from_pretrained(name_or_path)
    return LLMGenerator(lm.chat, load_generators(), lm.id, lm.weights_hash)


def load_llm_generator_zero_shot() -> LLMGenerator:
    """SmolLM2 as released, told the schema in its system prompt (the call-writing baseline)."""
    lm, tokenizer = load_smollm2()
    config = EncoderLLMConfig(
        use_media=False, lora_rank=0, preset="tool-call-schema", model_id="avikit/llm-generator-zero-shot"
    )
    model = build_encoder_llm(config, None, lm, tokenizer)
    return LLMGenerator(model.chat, load_generators(), model.id, GGUF_SHA256[:16])


def _request(task: Task, item: Item) -> str:
    caption = (item.inputs.text[0] if item.inputs.text else "").rstrip(".")
    return TASK_REQUESTS[task.name].format(caption=caption[:1].lower() + caption[1:])


def predict_generation(model: LLMGenerator, task: Task, batch: Sequence[Item]) -> list[dict[str, Any]]:
    """Write each item's call and carry it out; a failed call yields silence / black frames (logged)."""
    folder = prediction_folder(task, batch, model.id, model.tasks, task.spec.protocol.sample_rate or 16000)
    out = []
    for item in batch:
        frames, waveform = item.media  # the streams the task gives (None for the others)
        geometry = (
            len(item.inputs.frames),
            item.inputs.frame_size,
            item.inputs.audio[1] - item.inputs.audio[0],
        )
        result = model.run(_request(task, item), frames, waveform, input_seed(0, item), geometry=geometry)
        if result.errors:
            model.failed_calls.append((item.id, "; ".join(result.errors)))
        length = item.inputs.audio[1] - item.inputs.audio[0]
        record: dict[str, Any] = {"id": item.id}
        if "audio" in getattr(task, "outputs", ()):
            audio = result.audio if result.audio is not None else np.zeros(length, np.float32)
            record["audio"] = str(folder / f"{item.id}_audio.npy")
            np.save(record["audio"], audio[:length].astype(np.float32))
        if "video" in getattr(task, "outputs", ()):
            shape = (len(item.inputs.frames), *item.inputs.frame_size, 3)
            video = result.video if result.video is not None else np.zeros(shape, np.uint8)
            record["video"] = str(folder / f"{item.id}_video.npy")
            np.save(record["video"], video)
        out.append(record)
    return out
