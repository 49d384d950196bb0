"""Unit tests: official edge conventions, the official file readers, and errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest

from avikit.metrics import (
    LLP_CATEGORIES,
    UNAV_TIOU_THRESHOLDS,
    build_llp_ground_truth,
    compute_bootstrap_ci,
    evaluate_ave_accuracy,
    evaluate_ave_cross_modal,
    evaluate_avqa,
    evaluate_avs_binary,
    evaluate_avs_semantic,
    evaluate_avvp,
    evaluate_localization,
    evaluate_retrieval,
    evaluate_sync,
    evaluate_unav_detection,
    list_ave_categories,
    load_ave_annotations,
    load_llp_annotations,
    load_llp_video_ids,
    load_music_avqa_questions,
    merge_statistics,
)
from avikit.metrics.localization import CIOU_AUC_THRESHOLDS


def test_llp_video_with_nothing_scores_one():
    empty = np.zeros((1, 25, 10), dtype=int)
    assert evaluate_avvp(empty, empty, empty, empty)["segment_audio_visual"] == 100.0


def test_event_iou_half_is_a_match():
    truth = np.zeros((1, 1, 10), dtype=int)
    truth[0, 0, 0:4] = 1
    pred = np.zeros_like(truth)
    pred[0, 0, 2:4] = 1  # IoU 2/4 = 0.5 exactly: counted as a true positive
    assert evaluate_avvp(pred, pred, truth, truth)["event_audio"] == 100.0


def test_threshold_grids_are_bit_exact():
    assert UNAV_TIOU_THRESHOLDS[2] == 0.30000000000000004 and UNAV_TIOU_THRESHOLDS[6] == 0.7000000000000001
    assert CIOU_AUC_THRESHOLDS[6] == 0.30000000000000004 and CIOU_AUC_THRESHOLDS[3] == 0.15000000000000002


def test_avsbench_thresholds_equal_torch():
    torch = pytest.importorskip("torch")
    from avikit.metrics.segmentation import AVSBENCH_F_THRESHOLDS

    assert np.array_equal(AVSBENCH_F_THRESHOLDS, torch.linspace(0, 1 - 1e-10, 255).numpy())


def test_avsbench_empty_mask_scores_true_negative_fraction_and_batches_matter():
    masks = np.zeros((2, 1, 2, 2), dtype=int)
    masks[1, 0, 0, 0] = 1
    logits = np.full(masks.shape, -5.0)
    logits[0, 0, 0, 0] = 5.0  # one false positive in an empty frame: IoU 3/4
    logits[1, 0, 0, 0] = 5.0
    assert evaluate_avs_binary(logits, masks, batch_size=1)["miou"] == pytest.approx((0.75 + 1.0) / 2)
    # the F-score of a batch without a non-empty mask is 0 and still counts
    assert evaluate_avs_binary(logits, masks, batch_size=1)["f_score"] == pytest.approx(0.5)
    assert evaluate_avs_binary(logits, masks, batch_size=2)["f_score"] == pytest.approx(1.0)


def test_avss_nobg_official_and_corrected():
    labels = np.zeros((1, 1, 4, 4), dtype=int)
    labels[0, 0, :2] = 1
    pred = labels.copy()
    pred[0, 0, 3] = 2
    scores = evaluate_avs_semantic(pred, labels, num_classes=3)
    assert scores["miou_nobg"] != scores["miou_nobg_corrected"]


def test_cross_modal_skips_all_event_videos_and_rejects_no_event():
    distances = np.random.default_rng(0).random((2, 4, 4)).astype(np.float32)
    labels = np.array([[1, 1, 1, 1], [0, 1, 0, 0]])
    scores = evaluate_ave_cross_modal(distances, labels)
    assert set(scores) == {"a2v", "v2a"}
    with pytest.raises(ValueError, match="at least one event"):
        evaluate_ave_cross_modal(distances, np.array([[0, 0, 0, 0], [0, 1, 0, 0]]))


def test_sync_within_one_is_clamped_at_the_edges():
    logits = np.eye(21)[[0, 20, 1]]
    scores = evaluate_sync(logits, [1, 19, 3])
    assert scores["accuracy"] == 0.0
    assert scores["accuracy_within_one"] == pytest.approx(2 / 3)


def test_retrieval_official_tie_rule_adds_ranks():
    scores = evaluate_retrieval([[1.0, 1.0], [0.0, 1.0]])
    assert scores["audio_to_video_r1"] == 2 / 3  # row 0 ties: ranks 0 and 1 both counted


def test_localization_auc_of_perfect_maps():
    truth = np.zeros((2, 8, 8))
    truth[:, :4] = 1
    heat = truth + 0.001 * np.arange(64).reshape(8, 8)
    scores = evaluate_localization(heat, truth, rule="ezvsl")
    assert scores["ciou"] == 1.0 and scores["auc"] == pytest.approx(1.0)
    strict = evaluate_localization(heat, truth, rule="lvs")  # '>' the median value leaves one pixel out
    assert strict["mean_ciou"] == 31 / 32


def test_readers_on_the_real_files(reference_data):
    audio = load_llp_annotations(reference_data / "llp" / "AVVP_eval_audio.csv")
    videos = load_llp_video_ids(reference_data / "llp" / "AVVP_test_pd.csv")
    assert len(videos) == 1200
    truth = build_llp_ground_truth(audio, videos)
    assert truth.shape == (1200, 25, 10) and truth.sum() > 0
    ave = load_ave_annotations(reference_data / "ave" / "Annotations.txt")
    assert len(ave) == 4143 and len(list_ave_categories(ave)) == 28
    questions = load_music_avqa_questions(reference_data / "music-avqa" / "avqa-test.json")
    assert len(questions) == 9185
    updated = load_music_avqa_questions(reference_data / "music-avqa" / "json_update" / "avqa-test.json")
    assert len(updated) == 9129
    counts = {}
    for question in questions:
        counts[question.question_type] = counts.get(question.question_type, 0) + 1
    assert counts[("Audio", "Counting")] == 1022 and counts[("Audio-Visual", "Temporal")] == 824


def test_malformed_files_raise(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,onset\n")
    with pytest.raises(ValueError, match="header"):
        load_llp_annotations(bad)
    bad.write_text("Dog&abc&good&1\n")
    with pytest.raises(ValueError, match="5 '&'-separated"):
        load_ave_annotations(bad)
    bad.write_text('[{"question_id": 1}]')
    with pytest.raises(ValueError, match="malformed"):
        load_music_avqa_questions(bad)
    with pytest.raises(ValueError, match="unknown class"):
        build_llp_ground_truth(load_llp_annotations_row(tmp_path), ["v"])


def load_llp_annotations_row(tmp_path):
    path = tmp_path / "row.csv"
    path.write_text("filename\tonset\toffset\tevent_labels\nv\t0\t3\tNot_a_class\n")
    return load_llp_annotations(path)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: evaluate_avvp(np.zeros((1, 25)), *[np.zeros((1, 25, 10))] * 3), "dimensions"),
        (lambda: evaluate_avvp(*[np.full((1, 25, 10), 0.5)] * 4), "only 0 and 1"),
        (lambda: evaluate_avvp(np.zeros((1, 25, 10)), *[np.zeros((2, 25, 10))] * 3), "must match"),
        (lambda: evaluate_ave_accuracy(np.full((1, 10, 29), np.nan), np.zeros((1, 10), int)), "NaN"),
        (lambda: evaluate_ave_accuracy(np.zeros((1, 10, 29)), np.full((1, 10), 29)), r"\[0, 29\)"),
        (
            lambda: evaluate_unav_detection([0], [[2.0, 1.0]], [0], [0], [[0.0, 1.0]], [0], [1.0]),
            "ends before it starts",
        ),
        (
            lambda: evaluate_avs_binary(np.zeros((1, 5, 4, 4)), np.zeros((1, 5, 4, 4)), batch_size=0),
            "batch_size",
        ),
        (lambda: evaluate_avqa(np.zeros((2, 3)), [0], [("Audio", "Counting")] * 2), "same length"),
        (lambda: evaluate_retrieval(np.zeros((2, 3))), "square"),
        (lambda: evaluate_localization(np.zeros((1, 4, 4)), np.full((1, 4, 4), 2.0)), r"\[0, 1\]"),
        (lambda: compute_bootstrap_ci([]), "empty"),
        (lambda: merge_statistics([{"a": np.zeros(1)}, {"b": np.zeros(1)}]), "different keys"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_categories_constant():
    assert len(LLP_CATEGORIES) == 25 and LLP_CATEGORIES[0] == "Speech"
