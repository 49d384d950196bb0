"""A causal LM in a chat: media embeddings in ChatML prompts, answer log-probabilities, greedy decoding.

:class:`ChatLM` wraps a transformers causal LM (SmolLM2, or a tiny random ``LlamaForCausalLM`` in tests)
and its tokenizer. Every row of a batch is ``prefix | media | suffix | answer`` (see
:func:`avikit.models.language.prompt.chat_parts`), left-padded, with explicit position ids (so padding
never shifts a position). :meth:`ChatLM.answer_logprobs` gives the summed log-probability of each answer
(the loss of instruction tuning and the policy term of DPO); :meth:`ChatLM.generate` decodes greedily with
the KV cache, in a loop written out here, until ``<|im_end|>`` or the token budget.

Example:
    >>> from avikit.models.language.text_vocab import build_word_tokenizer, tiny_llama
    >>> tokenizer = build_word_tokenizer(["how many sounds", "two"])
    >>> chat = ChatLM(tiny_llama(len(tokenizer)), tokenizer)
    >>> batch = chat.build([None], ["how many sounds"], ["two"])
    >>> batch.embeds.shape[0], int(batch.labels.ne(-100).sum())
    (1, 2)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from avikit.models.language.prompt import END_OF_TURN, PRESETS, PromptPreset, chat_parts

__all__ = ["ChatBatch", "ChatLM", "Generation"]

IGNORE = -100


@dataclass
class ChatBatch:
    """Left-padded LM inputs.

    Attributes:
        embeds: ``[B, L, W]`` input embeddings.
        mask: ``[B, L]`` 1 on real positions.
        positions: ``[B, L]`` position ids (0 at each row's first real position).
        labels: ``[B, L]`` next-token targets aligned with ``embeds`` (``-100`` outside the answers).
    """

    embeds: torch.Tensor
    mask: torch.Tensor
    positions: torch.Tensor
    labels: torch.Tensor


@dataclass
class Generation:
    """Decoded answers and what they cost.

    Attributes:
        texts: one answer per row (without the end-of-turn token).
        new_tokens: tokens generated, summed over rows.
        seconds: wall time of the decoding loop (prefill included).
    """

    texts: list[str]
    new_tokens: int
    seconds: float


class ChatLM(nn.Module):
    """A causal LM and its tokenizer, speaking ChatML, with media embeddings in the user turn."""

    def __init__(self, lm: Any, tokenizer: Any, preset: PromptPreset = PRESETS["qwen3-omni-eval"]) -> None:
        super().__init__()
        self.lm, self.tokenizer, self.preset = lm, tokenizer, preset
        ids = tokenizer.convert_tokens_to_ids([END_OF_TURN])
        if not ids or ids[0] is None or ids[0] == tokenizer.unk_token_id:
            raise ValueError(f"the tokenizer has no {END_OF_TURN} token; use a ChatML tokenizer")
        self.end_id = int(ids[0])

    @property
    def width(self) -> int:
        """The LM's hidden size."""
        return int(self.lm.get_input_embeddings().weight.shape[1])

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _embed(self, ids: list[int]) -> torch.Tensor:
        table = self.lm.get_input_embeddings()
        return table(torch.tensor(ids, dtype=torch.long))

    def build(
        self,
        media: Sequence[torch.Tensor | None],
        prompts: Sequence[str],
        answers: Sequence[str] | None = None,
    ) -> ChatBatch:
        """Left-padded inputs of ``prefix | media | suffix [| answer <|im_end|>]`` per row.

        Args:
            media: per row ``[N, W]`` media embeddings, or ``None`` (a question without media).
            prompts: per row the question.
            answers: per row the answer (labels cover it and its end-of-turn token), or ``None``.
        """
        rows, labels = [], []
        for k, prompt in enumerate(prompts):
            prefix, suffix = chat_parts(self.preset, prompt)
            head = self._ids(prefix)
            tail = self._ids(suffix)
            answer = [] if answers is None else [*self._ids(answers[k]), self.end_id]
            parts = [self._embed(head)]
            row_media = media[k]
            if row_media is not None:
                parts.append(row_media)
            parts += [self._embed(tail + answer)] if tail + answer else []
            rows.append(torch.cat(parts))
            length = rows[-1].shape[0]
            label = torch.full((length,), IGNORE, dtype=torch.long)
            if answer:  # position t predicts token t + 1: the answer's tokens are predicted from one before
                label[length - len(answer) - 1 : length - 1] = torch.tensor(answer)
            labels.append(label)
        return _left_pad(rows, labels)

    def answer_logprobs(self, batch: ChatBatch) -> torch.Tensor:
        """Summed log-probability of each row's answer tokens ``[B]`` (gradients flow)."""
        logits = self.lm(
            inputs_embeds=batch.embeds, attention_mask=batch.mask, position_ids=batch.positions
        ).logits
        logp = torch.log_softmax(logits.float(), -1)
        valid = batch.labels.ne(IGNORE)
        picked = logp.gather(-1, batch.labels.clamp(min=0)[..., None])[..., 0]
        return (picked * valid).sum(-1)

    def answer_loss(self, batch: ChatBatch) -> torch.Tensor:
        """Mean token cross-entropy over the answers of the batch."""
        tokens = batch.labels.ne(IGNORE).sum()
        return -self.answer_logprobs(batch).sum() / tokens.clamp(min=1)

    @torch.no_grad()
    def generate(self, batch: ChatBatch, max_new_tokens: int | None = None) -> Generation:
        """Greedy decoding with the KV cache until every row wrote ``<|im_end|>`` or the budget is spent."""
        budget = max_new_tokens or self.preset.max_new_tokens
        start = time.perf_counter()
        mask, positions = batch.mask, batch.positions
        out = self.lm(inputs_embeds=batch.embeds, attention_mask=mask, position_ids=positions, use_cache=True)
        done = torch.zeros(len(mask), dtype=torch.bool)
        tokens: list[torch.Tensor] = []
        for _ in range(budget):
            step = out.logits[:, -1].argmax(-1)  # [B]
            step = torch.where(done, torch.full_like(step, self.end_id), step)
            tokens.append(step)
            done |= step.eq(self.end_id)
            if bool(done.all()):
                break
            mask = torch.cat([mask, torch.ones(len(mask), 1, dtype=mask.dtype)], 1)
            positions = positions[:, -1:] + 1
            out = self.lm(
                inputs_embeds=self.lm.get_input_embeddings()(step[:, None]),
                attention_mask=mask,
                position_ids=positions,
                use_cache=True,
                **_cache_argument(out),
            )
        seconds = time.perf_counter() - start
        ids = torch.stack(tokens, 1) if tokens else torch.zeros(len(mask), 0, dtype=torch.long)
        texts, count = [], 0
        for row in ids.tolist():
            cut = row.index(self.end_id) if self.end_id in row else len(row)
            count += min(cut + 1, len(row))
            texts.append(self.tokenizer.decode(row[:cut], skip_special_tokens=True).strip())
        return Generation(texts, count, seconds)


def _cache_argument(out: Any) -> dict[str, Any]:
    """The KV cache of a forward's output under the name this transformers takes (``cache`` in 5.x)."""
    cache = getattr(out, "cache", None)
    if cache is not None:
        return {"cache": cache}
    return {"past_key_values": out.past_key_values}


def _left_pad(rows: list[torch.Tensor], labels: list[torch.Tensor]) -> ChatBatch:
    longest = max(r.shape[0] for r in rows)
    width = rows[0].shape[1]
    embeds = torch.zeros(len(rows), longest, width, dtype=rows[0].dtype)
    mask = torch.zeros(len(rows), longest, dtype=torch.long)
    padded = torch.full((len(rows), longest), IGNORE, dtype=torch.long)
    for k, (row, label) in enumerate(zip(rows, labels, strict=True)):
        n = row.shape[0]
        embeds[k, longest - n :] = row
        mask[k, longest - n :] = 1
        padded[k, longest - n :] = label
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    return ChatBatch(embeds, mask, positions, padded)
