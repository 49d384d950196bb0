"""The ``nn`` layer: building blocks for models (encoders, temporal models, fusion, objectives, weights I/O).

Blocks take plain scalars and return tensors with documented shapes; models in :mod:`avikit.models`
compose them. Audio is ``[B, C, N]`` (waveform) or ``[B, M, T]`` (log-Mel), video ``[B, T, C, H, W]``.
"""

from avikit.nn.audio_encoder import AudioEncoder, LogMel, normalize_spectrogram
from avikit.nn.config import (
    ConfigError,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    load_config,
    save_config,
)
from avikit.nn.fusion import (
    TPAVI,
    AudioConditionedMaskDecoder,
    AudioGuidedAttention,
    CrossModalAttention,
    HybridAttentionBlock,
    HybridAttentionTransformer,
    JointTransformer,
    MaskDecoder,
)
from avikit.nn.objectives import (
    cosine_similarity_matrix,
    info_nce,
    masked_reconstruction_loss,
    segment_info_nce,
)
from avikit.nn.patches import patchify_frames, patchify_spectrogram, random_masking, unmask
from avikit.nn.protocols import FrameEncoder, SpectrogramEncoder
from avikit.nn.temporal import TemporalConv, TemporalTransformer, pool_segments, segment_frame_indices
from avikit.nn.training import LossLog, make_progress, plot_losses_svg, read_loss_log, seed_everything
from avikit.nn.transformer import MLP, Attention, Block, CrossBlock, sinusoidal_positions
from avikit.nn.visual_encoder import VisualEncoder
from avikit.nn.weights import (
    WeightsError,
    count_parameters,
    from_pretrained,
    load_weights,
    read_pretrained_config,
    resolve_pretrained,
    save_pretrained,
    save_weights,
    weights_sha256,
)

__all__ = [
    "MLP",
    "TPAVI",
    "Attention",
    "AudioConditionedMaskDecoder",
    "AudioEncoder",
    "AudioGuidedAttention",
    "Block",
    "ConfigError",
    "CrossBlock",
    "CrossModalAttention",
    "FrameEncoder",
    "HybridAttentionBlock",
    "HybridAttentionTransformer",
    "JointTransformer",
    "LogMel",
    "LossLog",
    "MaskDecoder",
    "SpectrogramEncoder",
    "TemporalConv",
    "TemporalTransformer",
    "VisualEncoder",
    "WeightsError",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "cosine_similarity_matrix",
    "count_parameters",
    "from_pretrained",
    "info_nce",
    "load_config",
    "load_weights",
    "make_progress",
    "masked_reconstruction_loss",
    "normalize_spectrogram",
    "patchify_frames",
    "patchify_spectrogram",
    "plot_losses_svg",
    "pool_segments",
    "random_masking",
    "read_loss_log",
    "read_pretrained_config",
    "resolve_pretrained",
    "save_config",
    "save_pretrained",
    "save_weights",
    "seed_everything",
    "segment_frame_indices",
    "segment_info_nce",
    "sinusoidal_positions",
    "unmask",
    "weights_sha256",
]
