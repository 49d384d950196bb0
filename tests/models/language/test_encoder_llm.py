"""The Encoder+LLM archetype on a tiny trunk and a tiny LM: answers, media use, save and load."""

from __future__ import annotations

import numpy as np
import torch

from avikit.models.encoders.trunk import load_encoder
from avikit.models.language.encoder_llm import (
    EncoderLLMConfig,
    build_encoder_llm,
    from_pretrained,
    save_encoder_llm,
)
from avikit.models.protocol import Model
from avikit.tasks import get_task
from tests.model_fixtures import make_items
from tests.models.language.conftest import tiny_loader


def build(tiny_encoder, use_media=True, rank=4):
    lm, tokenizer = tiny_loader()()
    config = EncoderLLMConfig(encoder=str(tiny_encoder), use_media=use_media, lora_rank=rank)
    return build_encoder_llm(config, load_encoder(tiny_encoder) if use_media else None, lm, tokenizer)


def test_predicts_one_answer_per_question_in_the_schema(tiny_encoder):
    model = build(tiny_encoder)
    assert isinstance(model, Model)
    task = get_task("avqa-words")
    items = make_items("avqa-words", 2)
    predictions = model.predict(task, items)
    for prediction, item in zip(predictions, items, strict=True):
        task.check_prediction(prediction, item.inputs, "test")
    assert model.last_generation is not None and model.last_generation.new_tokens > 0


def test_the_audio_reaches_the_lm(tiny_encoder):
    model = build(tiny_encoder)
    item = make_items("avqa-words", 1)[0]
    frames, wave = item.frames[None], item.waveform[None]
    silent = np.zeros_like(wave)
    a = model.media_embeddings(model.clip_tokens_of(frames, wave), 1)[0]
    b = model.media_embeddings(model.clip_tokens_of(frames, silent), 1)[0]
    assert a.shape == b.shape and not torch.allclose(a, b)


def test_only_projector_and_lora_train(tiny_encoder):
    model = build(tiny_encoder)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all("projector" in n or "lora_" in n for n in names)
    blind = build(tiny_encoder, use_media=False, rank=0)
    assert blind.trainable_parameters() == 0 and blind.projector is None


def test_save_and_load_give_the_same_answers(tiny_encoder, tmp_path):
    model = build(tiny_encoder)
    with torch.no_grad():  # move the LoRA B matrices off zero so the round trip is tested on real adapters
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    save_encoder_llm(model, tmp_path / "m", half=False)
    loaded = from_pretrained(tmp_path / "m", tiny_loader(), load_encoder(tiny_encoder))
    task, items = get_task("avqa-words"), make_items("avqa-words", 1)
    assert model.eval().predict(task, items) == loaded.predict(task, items)
    assert loaded.weights_hash != "untrained"
