"""Training the unified model from scratch: AV -> text, video -> audio and text -> audio in one token stream.

Data: the instruction set of :mod:`avikit.train.instruction_data` (the same clips, records and cached trunk
features as the Encoder+LLM), the clips' mel-codec codes (first codebook, every fourth step: 8 per second,
cached), and a frame VQ codebook fitted by k-means on the thirds of the clips' visual features. Each step
draws a batch of one task mix: instruction records (media = interleaved video and audio tokens), video ->
audio (media = video tokens, answer = the clip's audio tokens) and text -> audio (the caption in the
question, answer = audio tokens). One next-token loss on the answers.

Example:
    >>> UnifiedRecipe().steps, UnifiedRecipe.tiny().steps
    (1500, 3)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avikit.data.synth import generate
from avikit.models.encoders.av_encoder import AVJointEncoder
from avikit.models.encoders.trunk import load_encoder
from avikit.models.generation.v2a_pipeline import from_pretrained as load_v2a
from avikit.models.language.chat_lm import ChatLM
from avikit.models.language.prompt import PRESETS
from avikit.models.language.text_vocab import build_word_tokenizer
from avikit.models.language.unified import (
    V2A_PROMPT,
    UnifiedAVLM,
    UnifiedConfig,
    audio_token_names,
    build_unified_lm,
    save_unified,
    t2a_prompt,
    visual_token_names,
)
from avikit.nn import seed_everything
from avikit.train.feature_sets import default_cache_dir
from avikit.train.instruction_data import InstructionSet, build_instruction_set
from avikit.train.instruction_tuning import peak_memory_mb
from avikit.train.loops import run_budgeted, warmup_cosine

__all__ = ["UnifiedRecipe", "fit_codebook", "train_unified"]


@dataclass(frozen=True)
class UnifiedRecipe:
    """The schedule of the unified model."""

    model: UnifiedConfig = field(default_factory=UnifiedConfig)
    train_clips: int = 400
    sync_clips: int = 120
    steps: int = 1500
    batch_size: int = 16
    lr: float = 1e-3
    warmup: int = 100
    mix: tuple[float, float, float] = (0.6, 0.2, 0.2)
    budget_seconds: float = 1500.0
    seed: int = 0

    @classmethod
    def tiny(cls) -> UnifiedRecipe:
        """A tiny model, a few clips and steps (tests)."""
        small = UnifiedConfig(width=32, depth=1, heads=2, text_vocab=300, visual_codes=4)
        return cls(model=small, train_clips=3, sync_clips=3, steps=3, batch_size=4, warmup=1)


def fit_codebook(vectors: torch.Tensor, count: int, seed: int, iterations: int = 25) -> torch.Tensor:
    """K-means centroids ``[count, D]`` of ``vectors [N, D]`` (seeded initialisation on data points)."""
    generator = torch.Generator().manual_seed(seed)
    centroids = vectors[torch.randperm(len(vectors), generator=generator)[:count]].clone()
    for _ in range(iterations):
        assign = torch.cdist(vectors, centroids).argmin(1)
        for k in range(count):
            members = vectors[assign == k]
            if len(members):
                centroids[k] = members.mean(0)
    return centroids


def _audio_codes(
    codec: Any, split: str, clips: list[str], seed: int, stride: int, cache: Path
) -> torch.Tensor:
    key = hashlib.sha256(json.dumps([split, clips, seed, stride]).encode()).hexdigest()[:16]
    path = cache / f"unified-audio-{key}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    rows = []
    for name in clips:
        index = int(name.split("@")[0].rsplit("_", 1)[1])
        offset = {"av_offset_ms": float(name.split("@")[1][:-2])} if "@" in name else None
        wave = generate(split, index, seed, conditions=offset)[1].require_waveform()
        with torch.no_grad():
            rows.append(codec.encode(torch.from_numpy(wave).mean(0)[None, None], 1)[0, 0, ::stride])
    codes = torch.stack(rows)
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(codes, path)
    return codes


_Row = tuple[list[int] | None, str, str]
"""One training example: media token ids (or none), the question, the answer."""


def _examples(
    model: UnifiedAVLM, data: InstructionSet, video: torch.Tensor, audio: torch.Tensor
) -> dict[str, list[tuple[list[int] | None, str, str]]]:
    audio_text = ["".join(f"<a{int(c)}>" for c in row) for row in audio]
    full = [model.media_ids(video[r], audio[r]) for r in range(len(data.clips))]
    seen = [model.media_ids(video[r], None) for r in range(len(data.clips))]
    text: list[_Row] = [(full[int(data.row[k])], r.question, r.answer) for k, r in enumerate(data.records)]
    v2a: list[_Row] = [
        (seen[r], V2A_PROMPT, audio_text[r]) for r in range(len(data.clips)) if "@" not in data.clips[r]
    ]
    captions = {int(data.row[k]): r.answer for k, r in enumerate(data.records) if r.id.endswith("/caption/0")}
    t2a: list[_Row] = [(None, t2a_prompt(c.rstrip(".").lower()), audio_text[r]) for r, c in captions.items()]
    return {"text": text, "v2a": v2a, "t2a": t2a}


def train_unified(
    out: str | Path,
    recipe: UnifiedRecipe | None = None,
    encoder: AVJointEncoder | None = None,
    codec: Any | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Fit the codebook and the transformer; save the model (weights, tokenizer) and ``metrics.json``."""
    recipe = recipe or UnifiedRecipe()
    folder, cache = Path(out), Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    seed_everything(recipe.seed)
    trunk = encoder if encoder is not None else load_encoder(recipe.model.encoder)
    mel_codec = codec if codec is not None else load_v2a(recipe.model.codec).codec
    data = build_instruction_set(
        trunk, "train", recipe.train_clips, recipe.sync_clips, recipe.seed, cache_dir=cache
    )
    d = data.tokens.video.shape[-1] // 5
    thirds = data.tokens.video[:, :, 2 * d :].reshape(len(data.clips), -1, d)  # [clips, S*3, D]
    codebook = fit_codebook(thirds.flatten(0, 1), recipe.model.visual_codes, recipe.seed)
    video = torch.cdist(thirds, codebook[None].expand(len(thirds), -1, -1)).argmin(-1)
    audio = _audio_codes(mel_codec, "train", data.clips, recipe.seed, recipe.model.audio_stride, cache)
    corpus = [text for r in data.records for text in (r.question, r.answer)]
    specials = (*audio_token_names(recipe.model.audio_codes), *visual_token_names(recipe.model.visual_codes))
    tokenizer = build_word_tokenizer(corpus, recipe.model.text_vocab + len(specials), specials)
    chat = ChatLM(
        build_unified_lm(recipe.model, len(tokenizer)),
        tokenizer,
        replace(PRESETS["qwen3-omni-eval"], max_new_tokens=96),
    )
    model = UnifiedAVLM(chat, codebook, recipe.model, trunk, mel_codec)
    examples = _examples(model, data, video, audio)
    metrics = _loop(model, examples, recipe, folder)
    save_unified(model, folder)
    (folder / "recipe.json").write_text(json.dumps(asdict(recipe), indent=1))
    metrics |= {
        "parameters": sum(p.numel() for p in chat.lm.parameters()),
        "vocabulary": len(tokenizer),
        "examples": {k: len(v) for k, v in examples.items()},
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def _loop(
    model: UnifiedAVLM,
    examples: dict[str, list[tuple[list[int] | None, str, str]]],
    recipe: UnifiedRecipe,
    folder: Path,
) -> dict[str, Any]:
    lm = model.chat.lm
    optimizer = torch.optim.AdamW(lm.parameters(), lr=recipe.lr, weight_decay=0.01)
    schedule = warmup_cosine(optimizer, recipe.warmup, recipe.steps)
    rng, kinds = np.random.default_rng(recipe.seed), list(examples)
    p = np.array(recipe.mix[: len(kinds)]) / sum(recipe.mix[: len(kinds)])

    def step_loss() -> tuple[torch.Tensor, dict[str, float]]:
        picks = [kinds[k] for k in rng.choice(len(kinds), size=recipe.batch_size, p=p)]
        rows = [examples[k][int(rng.integers(len(examples[k])))] for k in picks]
        media = [None if m is None else model.embed_ids(m) for m, _, _ in rows]
        batch = model.chat.build(media, [q for _, q, _ in rows], [a for _, _, a in rows])
        return model.chat.answer_loss(batch), {}

    run = run_budgeted(lm, (optimizer, schedule), step_loss, (recipe.steps, recipe.budget_seconds), folder,
                       "unified-av: next-token loss", clip=list(lm.parameters()))  # fmt: skip
    return {
        "seconds": round(run.seconds, 1),
        "steps_done": run.steps_done,
        "stopped_by_budget": run.stopped_by_budget,
        "final_loss": run.records[-1]["loss"],
    }
