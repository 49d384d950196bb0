"""Metrics of language outputs against references: pycocoevalcap, NExT-GQA's rules, POPE's definitions."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.metrics.captioning import compute_bleu, compute_cider_d, compute_event_rates, tokenize_caption
from avikit.metrics.faithfulness import (
    compute_counterfactual_statistics,
    compute_modality_match,
    parse_cited_modality,
)
from avikit.metrics.grounding import compute_span_iou_iop, evaluate_grounding
from avikit.metrics.hallucination import evaluate_probes
from avikit.metrics.text_answers import extract_choice, is_refusal, normalize_answer, parse_span, parse_yes_no

CANDIDATES = [
    "a bee buzzes on the left while a horse calls off screen",
    "an engine buzzes in the middle",
    "a dog",
    "the bird warbles on the right then a drum ticks",
    "I hear a snake hisses, then a snake hisses, then a snake hisses.",
]
REFERENCES = [
    ["a bee buzzes on the left while a horse calls ee off screen"],
    ["an engine buzzes in the middle while a whistle hums in the middle", "an engine hums"],
    ["a cat calls ee on the right"],
    ["a bird warbles on the right, then a drum ticks in the middle"],
    ["I hear a snake hisses."],
]


def _coco(candidates, references):
    gts = {i: [" ".join(tokenize_caption(r)) for r in rs] for i, rs in enumerate(references)}
    res = {i: [" ".join(tokenize_caption(c))] for i, c in enumerate(candidates)}
    return gts, res


def test_cider_d_equals_pycocoevalcap():
    cider = pytest.importorskip("pycocoevalcap.cider.cider")
    gts, res = _coco(CANDIDATES, REFERENCES)
    score, per = cider.Cider().compute_score(gts, res)
    ours, ours_per = compute_cider_d(CANDIDATES, REFERENCES)
    # the same float64 arithmetic in another order: agreement to 1e-9
    assert ours == pytest.approx(float(score), abs=1e-9)
    np.testing.assert_allclose(ours_per, per, atol=1e-9)


def test_bleu_equals_pycocoevalcap():
    bleu = pytest.importorskip("pycocoevalcap.bleu.bleu")
    gts, res = _coco(CANDIDATES, REFERENCES)
    score, _ = bleu.Bleu(4).compute_score(gts, res, verbose=0)
    np.testing.assert_allclose(
        compute_bleu(CANDIDATES, REFERENCES), score, atol=1e-12
    )  # same formula, float64


def test_event_rates_are_exact_counts():
    rates = compute_event_rates(
        ["a dog and a cow", "nothing here", "a cat"],
        [{"dog", "cat"}, {"bee"}, {"cat"}],
        ["dog", "cat", "cow", "bee"],
    )
    assert rates["missed"].tolist() == [1, 1, 0] and rates["invented"].tolist() == [1, 0, 0]
    assert rates["missing"].tolist() == [0.5, 1.0, 0.0] and rates["hallucination"].tolist() == [0.5, 0.0, 0.0]


def test_next_gqa_rules():
    assert compute_span_iou_iop((2.0, 6.0), (3.0, 3.0)) == (0.0, 1.0)  # zero-length inside: IoP 1
    assert compute_span_iou_iop((2.0, 6.0), (7.0, 7.0)) == (0.0, 0.0)
    assert compute_span_iou_iop((0.0, 4.0), (2.0, 6.0)) == (pytest.approx(2 / 6), pytest.approx(2 / 4))
    iou, iop = compute_span_iou_iop((0.0, 1.0), (5.0, 6.0))
    assert iou < 0 and iop < 0  # the official function goes negative when disjoint ...
    scores = evaluate_grounding([(5.0, 6.0)], [[(0.0, 1.0)]], [True])
    assert scores["miou"] == 0.0 and scores["miop"] == 0.0  # ... and the best-of starts at 0
    # several true spans: best IoU and best IoP are taken separately (here from different spans)
    scores = evaluate_grounding([(1.0, 3.0)], [[(0.0, 10.0), (1.0, 2.0)]], [True])
    assert scores["miou"] == pytest.approx(50.0) and scores["miop"] == pytest.approx(100.0)
    assert scores["acc@gqa"] == 100.0
    assert (
        evaluate_grounding([(1.0, 3.0), None], [[(1.0, 3.0)], [(0.0, 1.0)]], [False, True])["acc@gqa"] == 0.0
    )


def test_probe_scores_of_an_always_yes_model():
    labels = ["yes", "no"] * 10
    scores = evaluate_probes(["yes"] * 20, labels)
    assert scores["accuracy"] == 50.0 and scores["yes_ratio"] == 100.0
    assert scores["precision"] == 50.0 and scores["recall"] == 100.0
    assert scores["f1"] == pytest.approx(100 * 2 * 0.5 / 1.5)
    unparsed = evaluate_probes([None, "no"], ["yes", "no"])
    assert unparsed["accuracy"] == 50.0 and unparsed["unparsed"] == 50.0 and unparsed["recall"] == 0.0


def test_answer_rules():
    assert normalize_answer("The answer: 3 dogs!") == "answer three dogs"
    assert extract_choice("(B) two", 4) == 1 and extract_choice("C. yes", 4) == 2
    assert extract_choice("The answer is D", 4) == 3 and extract_choice("A", 4) == 0
    assert extract_choice("two", 4, ["one", "two", "three", "four"]) == 1
    assert extract_choice("I think it is one or two", 4, ["one", "two", "three", "four"]) is None
    assert extract_choice("(E)", 4) is None  # a letter outside the options is not an answer
    assert parse_span("It sounds from 2 to 4.5 s.") == (2.0, 4.5) and parse_span("never") is None
    assert parse_span("4.0 - 1.0") == (1.0, 4.0)
    assert parse_yes_no("Yes, it is.") == "yes" and parse_yes_no("Maybe") is None
    assert is_refusal("There is no cow in this clip.") and not is_refusal("From 1 to 2 seconds.")


def test_faithfulness_statistics():
    assert parse_cited_modality("two. Evidence: heard and seen from 0 to 4 seconds.") == "audio_visual"
    assert parse_cited_modality("two. Evidence: seen from 0 to 4 seconds.") == "visual"
    assert parse_cited_modality("two, I heard it") is None  # modality words count only after "evidence"
    assert compute_modality_match(["audio", None, "visual"], ["audio", "audio", "audio"]).tolist() == [
        1,
        0,
        0,
    ]
    stats = compute_counterfactual_statistics(
        ["Two.", "yes", "one"], ["one", "yes", "two"], ["two", "no", "one"]
    )
    assert stats["sensitive"].tolist() == [1, 0, 1] and stats["invariant"].tolist() == [1, 0, 1]
    assert stats["consistent"].tolist() == [1, 0, 1]
