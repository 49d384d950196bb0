r"""The prompt protocol of the AV-LLMs: named presets and the chat template around the media.

A :class:`PromptPreset` fixes everything about a prompt that can move a number: the frame rate of the
video given to the model, whether the audio of the video is used, the system prompt, where the media go
(before the question), greedy decoding and the answer length. ``qwen3-omni-eval`` is Qwen3-Omni's
published evaluation setting (fps 2, no system prompt, media before the question, greedy decoding).

The chat template is ChatML (SmolLM2's and Qwen's): ``<|im_start|>user\\n`` + media + question +
``<|im_end|>\\n<|im_start|>assistant\\n``; the answer ends with ``<|im_end|>``. Unlike SmolLM2's bundled
template, no default system prompt is added when the preset has none.

Example:
    >>> prefix, suffix = chat_parts(PRESETS["qwen3-omni-eval"], "How many sounds?")
    >>> prefix
    '<|im_start|>user\n'
    >>> suffix
    'How many sounds?<|im_end|>\n<|im_start|>assistant\n'
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from avikit._registry import lookup
from avikit.data.tool_requests import CALL_SCHEMA, TOOLS

__all__ = ["END_OF_TURN", "PRESETS", "TOOL_SYSTEM_PROMPT", "PromptPreset", "chat_parts", "get_preset"]

END_OF_TURN = "<|im_end|>"
"""The token that ends every turn (and every answer)."""


@dataclass(frozen=True)
class PromptPreset:
    """How a question and its media become a prompt, and how the answer is decoded.

    Attributes:
        name: the preset's name.
        fps: frames per second of the video given to the model.
        use_audio_in_video: whether the video's own sound is given (never silently dropped).
        system_prompt: the system turn, or ``None`` for none.
        media_first: media before the question (``True``) or after it.
        greedy: greedy decoding (``False`` is not offered by the reference models).
        max_new_tokens: the answer's token budget.
    """

    name: str
    fps: int = 2
    use_audio_in_video: bool = True
    system_prompt: str | None = None
    media_first: bool = True
    greedy: bool = True
    max_new_tokens: int = 32


TOOL_SYSTEM_PROMPT = (
    "You control media generators. Answer with one JSON object and nothing else, matching this JSON Schema: "
    + json.dumps(CALL_SCHEMA)
    + ". Tools: "
    + "; ".join(f"{name}: {what}" for name, what in TOOLS.items())
    + '. Example: {"tool": "v2a", "gain_db": [0, -12]} makes the sound of a silent clip, quieter at the end.'
)
"""The system turn of the call-writing LM as released (the trained adapters need none)."""

PRESETS: dict[str, PromptPreset] = {
    "qwen3-omni-eval": PromptPreset("qwen3-omni-eval"),
    "qwen2.5-omni-eval": PromptPreset(
        "qwen2.5-omni-eval",
        system_prompt="You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of "
        "perceiving auditory and visual inputs, as well as generating text and speech.",
    ),
    "tool-call": PromptPreset("tool-call", max_new_tokens=64),
    "tool-call-schema": PromptPreset("tool-call-schema", system_prompt=TOOL_SYSTEM_PROMPT, max_new_tokens=64),
}
"""Named presets: ``qwen3-omni-eval`` (the default of every language task), ``qwen2.5-omni-eval`` (the same
with Qwen2.5-Omni's required system prompt), and the call-writing LM's: ``tool-call`` (trained adapters) and
``tool-call-schema`` (the LM as released, told the schema)."""


def get_preset(name: str) -> PromptPreset:
    """A preset by name; an unknown name raises ``UnknownNameError`` listing the known ones."""
    return lookup(PRESETS, name, "prompt preset")


def chat_parts(preset: PromptPreset, question: str) -> tuple[str, str]:
    """The ChatML text before and after the media slot of one user question (media-first presets).

    With ``media_first=False`` the question goes into the prefix and the suffix only opens the answer.
    """
    system = (
        "" if preset.system_prompt is None else f"<|im_start|>system\n{preset.system_prompt}{END_OF_TURN}\n"
    )
    opening = f"{system}<|im_start|>user\n"
    closing = f"{END_OF_TURN}\n<|im_start|>assistant\n"
    if preset.media_first:
        return opening, question + closing
    return opening + question, closing
