"""Small text vocabularies and small causal LMs built from real transformers classes, no download.

:func:`build_word_tokenizer` trains a byte-level BPE tokenizer (the ``tokenizers`` library, as GPT-2's) on a
corpus in milliseconds, with ChatML's special tokens, wrapped as a transformers ``PreTrainedTokenizerFast``;
it round-trips any text exactly. The unified model's text side uses it, and so do the tests, with
:func:`tiny_llama`, a randomly initialised ``LlamaForCausalLM`` of any size (SmolLM2's architecture).

Example:
    >>> tokenizer = build_word_tokenizer(["From 1.5 to 3.0 seconds.", "yes", "no"])
    >>> tokenizer.decode(tokenizer("From 1.5 to 3.0 seconds.")["input_ids"])
    'From 1.5 to 3.0 seconds.'
    >>> tiny_llama(len(tokenizer), width=16).config.hidden_size
    16
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["SPECIAL_TOKENS", "build_word_tokenizer", "tiny_llama"]

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
"""ChatML's special tokens, first in every vocabulary built here (``<|endoftext|>`` pads)."""


def build_word_tokenizer(
    corpus: Iterable[str], vocab_size: int = 600, extra_special: Sequence[str] = ()
) -> Any:
    """A byte-level BPE tokenizer trained on ``corpus`` (plus ChatML's specials and the user/assistant roles).

    Args:
        corpus: texts to learn merges from (seen once, in order; training is deterministic).
        vocab_size: the vocabulary size to aim for (the 256 bytes and the specials always fit).
        extra_special: more special tokens (e.g. a hub model's media placeholders), after ChatML's.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[*SPECIAL_TOKENS, *extra_special],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([*corpus, "user\n", "assistant\n", "system\n"], trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token="<|im_start|>",
        additional_special_tokens=[*SPECIAL_TOKENS[1:], *extra_special],
    )


def tiny_llama(
    vocab_size: int, width: int = 32, depth: int = 2, heads: int = 2, seed: int = 0, init_std: float = 0.02
) -> Any:
    """A randomly initialised ``LlamaForCausalLM`` (SmolLM2's architecture: GQA, RoPE, tied embeddings).

    ``init_std`` is the weights' initial standard deviation; a large one gives peaked next-token logits, as a
    trained LM has (a frozen LM at the default scale can only say "uniform").
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=width,
        intermediate_size=2 * width,
        num_hidden_layers=depth,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        initializer_range=init_std,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).eval()
