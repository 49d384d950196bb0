"""The ``metrics`` layer: pure scoring functions, each equal to a benchmark's official scorer.

Every metric comes as three functions: ``compute_<metric>_statistics`` (batch to per-item statistics),
``compute_<metric>_scores`` (statistics to scores) and ``evaluate_<metric>`` (both). Statistics of shards
merge
with :func:`merge_statistics`, and the merged scores equal the one-shot scores. Scores are on the scale the
official scorer computes: percent for LLP, AVE cross-modal and MUSIC-AVQA, fractions in [0, 1] elsewhere; each
docstring states its range.
"""

from avikit.metrics.avel import (
    build_ave_segment_labels,
    compute_ave_accuracy,
    compute_ave_accuracy_statistics,
    compute_ave_cross_modal_scores,
    compute_ave_cross_modal_statistics,
    evaluate_ave_accuracy,
    evaluate_ave_cross_modal,
    list_ave_categories,
    load_ave_annotations,
)
from avikit.metrics.avqa import (
    build_answer_vocabulary,
    compute_avqa_scores,
    compute_avqa_statistics,
    compute_evidence_iou,
    evaluate_avqa,
    load_music_avqa_questions,
)
from avikit.metrics.avvp import (
    LLP_CATEGORIES,
    build_llp_ground_truth,
    compute_avvp_scores,
    compute_avvp_statistics,
    evaluate_avvp,
    load_llp_annotations,
    load_llp_video_ids,
)
from avikit.metrics.bootstrap import (
    Comparison,
    bootstrap_indices,
    compute_av_gain,
    compute_bootstrap_ci,
    compute_mean_replicates,
    compute_paired_difference,
    compute_percentile_interval,
    compute_set_replicates,
)
from avikit.metrics.classification import (
    compute_average_precision,
    compute_classification_statistics,
    compute_topk_accuracy,
    evaluate_classification_accuracy,
    evaluate_multilabel_map,
)
from avikit.metrics.detection import (
    UNAV_TIOU_THRESHOLDS,
    compute_detection_scores,
    compute_detection_statistics,
    evaluate_unav_detection,
)
from avikit.metrics.localization import (
    compute_localization_scores,
    compute_localization_statistics,
    evaluate_localization,
)
from avikit.metrics.ref_avs import (
    compute_ref_avs_null_score,
    compute_ref_avs_scores,
    compute_ref_avs_statistics,
    evaluate_ref_avs,
    evaluate_ref_avs_null,
)
from avikit.metrics.retrieval import (
    compute_retrieval_scores,
    compute_retrieval_statistics,
    evaluate_caption_to_clip_map,
    evaluate_retrieval,
)
from avikit.metrics.segmentation import (
    compute_avs_binary_scores,
    compute_avs_binary_statistics,
    compute_avs_semantic_scores,
    compute_avs_semantic_statistics,
    evaluate_avs_binary,
    evaluate_avs_semantic,
)
from avikit.metrics.sharding import merge_statistics
from avikit.metrics.sync import compute_sync_scores, compute_sync_statistics, evaluate_sync

__all__ = [
    "LLP_CATEGORIES",
    "UNAV_TIOU_THRESHOLDS",
    "Comparison",
    "bootstrap_indices",
    "build_answer_vocabulary",
    "build_ave_segment_labels",
    "build_llp_ground_truth",
    "compute_av_gain",
    "compute_ave_accuracy",
    "compute_ave_accuracy_statistics",
    "compute_ave_cross_modal_scores",
    "compute_ave_cross_modal_statistics",
    "compute_average_precision",
    "compute_avqa_scores",
    "compute_avqa_statistics",
    "compute_avs_binary_scores",
    "compute_avs_binary_statistics",
    "compute_avs_semantic_scores",
    "compute_avs_semantic_statistics",
    "compute_avvp_scores",
    "compute_avvp_statistics",
    "compute_bootstrap_ci",
    "compute_classification_statistics",
    "compute_detection_scores",
    "compute_detection_statistics",
    "compute_evidence_iou",
    "compute_localization_scores",
    "compute_localization_statistics",
    "compute_mean_replicates",
    "compute_paired_difference",
    "compute_percentile_interval",
    "compute_ref_avs_null_score",
    "compute_ref_avs_scores",
    "compute_ref_avs_statistics",
    "compute_retrieval_scores",
    "compute_retrieval_statistics",
    "compute_set_replicates",
    "compute_sync_scores",
    "compute_sync_statistics",
    "compute_topk_accuracy",
    "evaluate_ave_accuracy",
    "evaluate_ave_cross_modal",
    "evaluate_avqa",
    "evaluate_avs_binary",
    "evaluate_avs_semantic",
    "evaluate_avvp",
    "evaluate_caption_to_clip_map",
    "evaluate_classification_accuracy",
    "evaluate_localization",
    "evaluate_multilabel_map",
    "evaluate_ref_avs",
    "evaluate_ref_avs_null",
    "evaluate_retrieval",
    "evaluate_sync",
    "evaluate_unav_detection",
    "list_ave_categories",
    "load_ave_annotations",
    "load_llp_annotations",
    "load_llp_video_ids",
    "load_music_avqa_questions",
    "merge_statistics",
]
