"""Fixtures of the language-model tests: tiny random LMs, and SmolLM2 loaded once per session."""

from __future__ import annotations

import pytest

from avikit.models.language.text_vocab import build_word_tokenizer, tiny_llama

CORPUS = [
    "How many sound sources are heard? Answer in one word.",
    "one two three yes no left right middle",
    "From 1.5 to 3.0 seconds.",
    "There is no cow in this clip.",
    "A bee buzzes on the left.",
]


def tiny_loader(width: int = 32, seed: int = 0, init_std: float = 0.02):
    def load():
        tokenizer = build_word_tokenizer(CORPUS, 400)
        return tiny_llama(len(tokenizer), width=width, seed=seed, init_std=init_std), tokenizer

    return load


@pytest.fixture
def tiny_lm():
    """``(lm, tokenizer)``: a random 2-layer Llama over a BPE vocabulary learned on a few sentences."""
    return tiny_loader()()


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct (converted once into the user cache; ~3 s per later session)."""
    pytest.importorskip("gguf")
    from avikit.models.language.smollm2 import load_smollm2

    return load_smollm2()
