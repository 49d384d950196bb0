"""AVSynth: the embedded procedural audio-visual benchmark, with ground truth for every task."""

from avikit.data.synth.classes import (
    CLASS_NAMES,
    CLASSES,
    OPEN_VOCAB_CLASSES,
    SEEN_CLASSES,
    SourceClass,
    get_class,
)
from avikit.data.synth.conditions import CONDITIONS, apply_conditions, check_conditions, parse_conditions
from avikit.data.synth.ground_truth import build_targets, localization_maps, segment_mask_maps
from avikit.data.synth.profile import avsynth_profile
from avikit.data.synth.questions import ANSWER_WORDS, TEMPLATES, answer, build_questions
from avikit.data.synth.recipe import (
    download_avsynth,
    generate,
    iter_samples,
    load_clip,
    load_ids,
    prepare_avsynth,
)
from avikit.data.synth.scene import (
    SPLITS,
    VERSION,
    Scene,
    SceneObject,
    SynthConfig,
    sample_scene,
    split_classes,
)

__all__ = [
    "ANSWER_WORDS",
    "CLASSES",
    "CLASS_NAMES",
    "CONDITIONS",
    "OPEN_VOCAB_CLASSES",
    "SEEN_CLASSES",
    "SPLITS",
    "TEMPLATES",
    "VERSION",
    "Scene",
    "SceneObject",
    "SourceClass",
    "SynthConfig",
    "answer",
    "apply_conditions",
    "avsynth_profile",
    "build_questions",
    "build_targets",
    "check_conditions",
    "download_avsynth",
    "generate",
    "get_class",
    "iter_samples",
    "load_clip",
    "load_ids",
    "localization_maps",
    "parse_conditions",
    "prepare_avsynth",
    "sample_scene",
    "segment_mask_maps",
    "split_classes",
]
