"""The chat LM: label alignment, log-probabilities and greedy decoding against transformers' own code."""

from __future__ import annotations

import torch

from avikit.models.language.chat_lm import IGNORE, ChatLM
from avikit.models.language.prompt import PRESETS, chat_parts


def test_answer_logprobs_equal_a_plain_forward_over_token_ids(tiny_lm):
    lm, tokenizer = tiny_lm
    chat = ChatLM(lm, tokenizer)
    prefix, suffix = chat_parts(PRESETS["qwen3-omni-eval"], "How many sounds?")
    batch = chat.build([None], ["How many sounds?"], ["two"])
    ids = tokenizer(prefix + suffix + "two<|im_end|>", add_special_tokens=False, return_tensors="pt")[
        "input_ids"
    ]
    answer_len = len(tokenizer("two", add_special_tokens=False)["input_ids"]) + 1
    logp = torch.log_softmax(lm(input_ids=ids).logits, -1)[0]
    targets = ids[0, -answer_len:]
    expected = logp[-answer_len - 1 : -1].gather(-1, targets[:, None]).sum()
    # float32 sums of a few log-probabilities: agreement to 1e-5 holds on any BLAS
    assert torch.allclose(chat.answer_logprobs(batch)[0], expected, atol=1e-5)
    assert int(batch.labels.ne(IGNORE).sum()) == answer_len


def test_left_padding_changes_no_row(tiny_lm):
    lm, tokenizer = tiny_lm
    chat = ChatLM(lm, tokenizer)
    media = torch.randn(3, lm.config.hidden_size)
    one = chat.answer_logprobs(chat.build([media], ["yes?"], ["no"]))
    both = chat.answer_logprobs(
        chat.build([None, media], ["How many sound sources are heard?", "yes?"], ["one", "no"])
    )
    # masked positions contribute exact zeros; softmax reductions over other lengths differ by rounding only
    assert torch.allclose(one[0], both[1], atol=1e-4)


def test_greedy_loop_equals_transformers_generate(tiny_lm):
    lm, tokenizer = tiny_lm
    chat = ChatLM(lm, tokenizer)
    prefix, suffix = chat_parts(PRESETS["qwen3-omni-eval"], "one two three")
    ids = tokenizer(prefix + suffix, add_special_tokens=False, return_tensors="pt")["input_ids"]
    reference = lm.generate(
        ids, max_new_tokens=8, do_sample=False, eos_token_id=chat.end_id, pad_token_id=chat.end_id
    )
    expected = tokenizer.decode(reference[0, ids.shape[1] :], skip_special_tokens=True).strip()
    ours = chat.generate(chat.build([None], ["one two three"]), max_new_tokens=8)
    assert ours.texts == [expected]
    assert 1 <= ours.new_tokens <= 8
