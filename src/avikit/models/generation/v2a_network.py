"""Video-to-audio in three paradigms on one backbone: flow matching, autoregressive and masked decoding.

Flow matching works over log-Mel; autoregressive and masked (MaskGIT) decoding over codec tokens.

Every paradigm uses the same pieces, so the comparison is fair: a :class:`VideoConditioner` turns frames
into per-frame tokens (the context stream of the joint attention) and frame-aligned *sync* features (from
frame differences, added to the per-token adaLN conditioning of the audio stream, the MMAudio idea), and a
:class:`~avikit.nn.dit.JointDiT` backbone. The networks predict (a velocity, or logits); the schedulers in
:mod:`avikit.nn.schedulers` say how to step; each ``generate_*`` function below is the whole sampling loop,
with classifier-free guidance, in one readable function.

Timeline (defaults): 16 kHz audio, mel hop 250 samples = 64 mel frames/s = 8 mel frames per video frame at
8 fps; the token paradigms use a waveform codec with the same hop (64 code steps/s) or the mel tokenizer of
:mod:`avikit.models.tokenizers.mel_codec` (``token_stride`` mel frames per step), ``Q`` codebooks per step.

Waveforms come from the mel by :func:`griffin_lim` (a documented vocoder baseline: no training, phase
estimated by 32 Griffin-Lim iterations from a pseudo-inverted mel) or a trained vocoder
(:mod:`avikit.models.tokenizers.vocoder`), and from codes by the codec's decoder.

Example:
    >>> from avikit.models.generation.v2a_sampling import generate_flow
    >>> model = build_flow_v2a(V2AConfig(dim=32, depth=1, heads=2))
    >>> mel = generate_flow(model, torch.rand(1, 4, 3, 32, 32), num_steps=2)
    >>> tuple(mel.shape)
    (1, 32, 64)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.media.mel import mel_filterbank
from avikit.nn.codec import AudioCodec, build_audio_codec
from avikit.nn.dit import FinalLayer, JointDiT, TimestepEmbedder
from avikit.nn.schedulers import (
    FlowMatchingScheduler,
    MaskGITSchedule,
    drop_condition,
)

__all__ = [
    "TOKENIZERS",
    "FlowV2A",
    "LogMelFeatures",
    "TokenV2A",
    "V2AConfig",
    "VideoConditioner",
    "build_flow_v2a",
    "build_token_v2a",
    "build_v2a_codec",
    "delay_codes",
    "griffin_lim",
    "undelay_codes",
]


TOKENIZERS = ("waveform", "mel")
"""What the token paradigms' codes quantize: a waveform codec's latents or log-Mel frames
(:mod:`avikit.models.tokenizers.mel_codec`, decoded by a vocoder)."""


@dataclass(frozen=True)
class V2AConfig:
    """Sizes and rates of the video-to-audio models (the defaults total about 1 M parameters each).

    ``tokenizer`` and ``token_stride`` choose the token paradigms' codes (:data:`TOKENIZERS`): the waveform
    codec (:func:`build_v2a_codec`, one step per mel frame) or the mel codec of
    :mod:`avikit.models.tokenizers.mel_codec` (``token_stride`` mel frames per step). ``token_delay`` makes
    the autoregressive model use the delay pattern (:func:`delay_codes`).
    """

    sample_rate: int = 16000
    fps: int = 8
    image_size: int = 32
    n_mels: int = 64
    n_fft: int = 1024
    hop_length: int = 250
    dim: int = 64
    depth: int = 3
    heads: int = 4
    codebook_size: int = 256
    num_codebooks: int = 2
    condition_dropout: float = 0.1
    tokenizer: str = "waveform"
    token_stride: int = 1
    token_delay: bool = False

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise UsageError(f"unknown tokenizer {self.tokenizer!r}; choose one of {TOKENIZERS}")
        if self.tokenizer == "waveform" and self.token_stride != 1:
            raise UsageError("the waveform codec makes one code step per mel frame: token_stride must be 1")
        if self.token_stride < 1 or self.steps_per_frame % self.token_stride:
            raise UsageError(
                f"token_stride {self.token_stride} must divide the {self.steps_per_frame} mel frames per "
                "video frame"
            )

    @property
    def steps_per_frame(self) -> int:
        """Mel frames per video frame."""
        return self.sample_rate // (self.hop_length * self.fps)

    @property
    def token_steps_per_frame(self) -> int:
        """Code steps per video frame of the token paradigms (``token_stride`` mel frames per step)."""
        return self.steps_per_frame // self.token_stride


# ----------------------------------------------------------------------------------------------- blocks


class LogMelFeatures(nn.Module):
    """Waveform ``[B, 1, S]`` to a normalised log-Mel ``[B, S / hop, M]`` (float32 STFT, Slaney mels)."""

    filterbank: torch.Tensor

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        bank = torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels).copy()).float()
        self.register_buffer("filterbank", bank, persistent=False)  # [M, F]
        self.offset, self.scale = -5.0, 2.5  # log(mel) of AVSynth lies in about [-11, 1]

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Normalised log-Mel ``[B, N, M]`` with ``N = S // hop``."""
        window = torch.hann_window(self.n_fft, device=waveform.device)
        spec = torch.stft(waveform[:, 0], self.n_fft, self.hop_length, window=window, return_complex=True)
        mel = torch.log(self.filterbank @ spec.abs() + 1e-5)  # [B, M, 1 + S // hop]
        steps = waveform.shape[-1] // self.hop_length
        return ((mel[..., :steps] - self.offset) / self.scale).transpose(1, 2)

    def denormalize(self, mel: torch.Tensor) -> torch.Tensor:
        """``[B, N, M]`` normalised to natural-log mel magnitudes ``[B, M, N]``."""
        return (mel * self.scale + self.offset).transpose(1, 2)


def griffin_lim(features: LogMelFeatures, mel: torch.Tensor, iterations: int = 32) -> torch.Tensor:
    """Vocoder baseline: normalised log-Mel ``[B, N, M]`` to waveform ``[B, 1, N * hop]``.

    The mel magnitude is mapped back to a linear spectrum by the filterbank's pseudo-inverse (clamped at
    zero), and the phase is estimated by Griffin-Lim (Griffin & Lim, 1984) with random initial phase.
    """
    magnitude = features.denormalize(mel).exp()  # [B, M, N]
    linear = (torch.linalg.pinv(features.filterbank) @ magnitude).clamp_min(0)  # [B, F, N]
    window = torch.hann_window(features.n_fft, device=mel.device)
    length = mel.shape[1] * features.hop_length
    generator = torch.Generator().manual_seed(0)
    phase = torch.exp(2j * torch.pi * torch.rand(linear.shape, generator=generator)).to(mel.device)
    for _ in range(iterations):
        waveform = torch.istft(
            linear * phase, features.n_fft, features.hop_length, window=window, length=length
        )
        spec = torch.stft(waveform, features.n_fft, features.hop_length, window=window, return_complex=True)
        phase = torch.exp(1j * torch.angle(spec[..., : linear.shape[-1]]))
    waveform = torch.istft(linear * phase, features.n_fft, features.hop_length, window=window, length=length)
    return waveform[:, None].clamp(-1, 1)


class VideoConditioner(nn.Module):
    """Frames ``[B, T, 3, H, W]`` in [0, 1] to per-frame tokens and frame-aligned sync features ``[B, T, D]``.

    Tokens come from a small CNN on each frame (what is visible); sync features from a CNN on the
    difference to the previous frame (what changes when, e.g. a source pulsing while it sounds).
    """

    def __init__(self, dim: int, width: int = 16) -> None:
        super().__init__()

        def cnn(channels: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(channels, width, 4, 2, 1),
                nn.GELU(),
                nn.Conv2d(width, 2 * width, 4, 2, 1),
                nn.GELU(),
                nn.Conv2d(2 * width, dim, 4, 2, 1),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )

        self.frame_net, self.sync_net = cnn(3), cnn(3)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(tokens [B, T, D], sync [B, T, D])``."""
        batch, count = frames.shape[:2]
        flat = frames.flatten(0, 1) * 2 - 1  # [B*T, 3, H, W]
        previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1).flatten(0, 1) * 2 - 1
        tokens = self.frame_net(flat).view(batch, count, -1)
        sync = self.sync_net(4 * (flat - previous)).view(batch, count, -1)
        return tokens, sync


class _Conditioned(nn.Module):
    """What the flow and token networks share: conditioner, backbone and learned null conditions for CFG."""

    def __init__(self, conditioner: VideoConditioner, backbone: JointDiT, steps_per_frame: int) -> None:
        super().__init__()
        self.conditioner, self.backbone, self.steps_per_frame = conditioner, backbone, steps_per_frame
        self.null_tokens = nn.Parameter(torch.zeros(1, 1, backbone.dim))
        self.null_sync = nn.Parameter(torch.zeros(1, 1, backbone.dim))

    def condition(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-frame tokens and sync features of ``frames``, each ``[B, T, D]``."""
        return self.conditioner(frames)

    def null_condition(self, tokens: torch.Tensor, sync: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The "no video" condition of the same shapes (the unconditional branch of CFG)."""
        return self.null_tokens.expand_as(tokens), self.null_sync.expand_as(sync)

    def drop(
        self, tokens: torch.Tensor, sync: torch.Tensor, probability: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Training side of CFG: the same rows lose both conditions with ``probability``."""
        both = torch.cat([tokens, sync], dim=-1)  # [B, T, 2D]
        null = torch.cat([self.null_tokens, self.null_sync], dim=-1)  # [1, 1, 2D]
        tokens, sync = drop_condition(both, null, probability, generator).chunk(2, dim=-1)
        return tokens, sync

    def _run(
        self, x: torch.Tensor, tokens: torch.Tensor, sync: torch.Tensor, condition: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        aligned = sync.repeat_interleave(self.steps_per_frame, dim=1)  # [B, T * steps, D]
        if aligned.shape[1] < x.shape[1]:  # a delayed code sequence runs past the last frame: hold it
            aligned = torch.cat([aligned, aligned[:, -1:].expand(-1, x.shape[1] - aligned.shape[1], -1)], 1)
        aligned = aligned[:, : x.shape[1]]  # [B, N, D]
        condition = condition + tokens.mean(1)  # [B, D]: global video content
        return self.backbone(x, tokens, condition, aligned), condition[:, None] + aligned


# --------------------------------------------------------------------------------------------- networks


class FlowV2A(_Conditioned):
    """Velocity network of flow matching over normalised log-Mel ``[B, N, M]``, conditioned on video."""

    def __init__(
        self,
        conditioner: VideoConditioner,
        backbone: JointDiT,
        features: LogMelFeatures,
        steps_per_frame: int,
    ) -> None:
        super().__init__(conditioner, backbone, steps_per_frame)
        self.features = features
        n_mels, dim = features.filterbank.shape[0], backbone.dim
        self.n_mels = n_mels
        self.in_proj = nn.Linear(n_mels, dim)
        self.time = TimestepEmbedder(dim)
        self.out = FinalLayer(dim, n_mels)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor, sync: torch.Tensor
    ) -> torch.Tensor:
        """Velocity ``[B, N, M]`` at ``x [B, N, M]``, times ``t [B]``, video ``tokens``/``sync [B, T, D]``."""
        hidden, condition = self._run(self.in_proj(x), tokens, sync, self.time(t))
        return self.out(hidden, condition)

    def loss(
        self,
        waveform: torch.Tensor,
        frames: torch.Tensor,
        scheduler: FlowMatchingScheduler,
        dropout: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Flow-matching loss: MSE between predicted and path velocity, video dropped with ``dropout``."""
        data = self.features(waveform)  # [B, N, M]
        noise = torch.randn(data.shape, generator=generator)
        t = scheduler.sample_time(data.shape[0], generator)
        tokens, sync = self.drop(*self.condition(frames), dropout, generator)
        velocity = self(scheduler.interpolate(data, noise, t), t, tokens, sync)
        return F.mse_loss(velocity, scheduler.velocity_target(data, noise))


class TokenV2A(_Conditioned):
    """Logits over codec tokens ``[B, Q, N]`` given video.

    Autoregressive when the backbone is causal, masked (MaskGIT) otherwise. Id ``K`` (the codebook size)
    is the start token (AR) or the mask token (MaskGIT).

    With ``delay`` (AR only) the model reads and predicts the codes in MusicGen's delay pattern
    (:func:`delay_codes`): codebook ``q`` runs ``q`` steps late, so the residual codebooks of a step are
    predicted after the coarser codebooks of that step are known, not independently of them.
    """

    def __init__(
        self,
        conditioner: VideoConditioner,
        backbone: JointDiT,
        codebook_size: int,
        num_codebooks: int,
        steps_per_frame: int,
        delay: bool = False,
    ) -> None:
        super().__init__(conditioner, backbone, steps_per_frame)
        if delay and not backbone.causal:
            raise UsageError("the delay pattern is for the autoregressive (causal) model")
        self.codebook_size, self.num_codebooks, self.delay = codebook_size, num_codebooks, delay
        self.special = codebook_size
        self.embed = nn.ModuleList(
            [nn.Embedding(codebook_size + 1, backbone.dim) for _ in range(num_codebooks)]
        )
        self.out = FinalLayer(backbone.dim, num_codebooks * codebook_size)

    @property
    def causal(self) -> bool:
        """Whether this is the autoregressive variant."""
        return self.backbone.causal

    def forward(self, codes: torch.Tensor, tokens: torch.Tensor, sync: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, Q, N, K]`` from input codes ``[B, Q, N]`` (ids in ``0..K``)."""
        x = torch.stack([embed(codes[:, q]) for q, embed in enumerate(self.embed)]).sum(0)  # [B, N, D]
        zero = x.new_zeros(x.shape[0], x.shape[-1])
        hidden, condition = self._run(x, tokens, sync, zero)
        logits = self.out(hidden, condition)  # [B, N, Q*K]
        return logits.unflatten(-1, (self.num_codebooks, self.codebook_size)).permute(0, 2, 1, 3)

    def shift_right(self, codes: torch.Tensor) -> torch.Tensor:
        """AR inputs: the start id then ``codes[..., :-1]``."""
        return F.pad(codes[..., :-1], (1, 0), value=self.special)

    def loss(
        self,
        codes: torch.Tensor,
        frames: torch.Tensor,
        dropout: float = 0.1,
        generator: torch.Generator | None = None,
        token_noise: float = 0.0,
    ) -> torch.Tensor:
        """Cross-entropy of the next step (AR) or of the masked tokens (MaskGIT); ``codes [B, Q, N]``.

        ``token_noise`` (AR only) replaces that fraction of the input codes by random ids, so the model
        cannot just continue its past and must read the video (it meets its own errors when sampling).
        """
        tokens, sync = self.drop(*self.condition(frames), dropout, generator)
        if self.causal:
            inputs = codes
            if token_noise > 0:
                replace = torch.rand(codes.shape, generator=generator) < token_noise
                noise = torch.randint(0, self.codebook_size, codes.shape, generator=generator)
                inputs = torch.where(replace, noise, codes)
            if self.delay:  # padding positions of the pattern are not predicted
                codes, inputs = delay_codes(codes, self.special), delay_codes(inputs, self.special)
            logits = self(self.shift_right(inputs), tokens, sync)  # [B, Q, N, K]
            return F.cross_entropy(logits.flatten(0, 2), codes.flatten(), ignore_index=self.special)
        schedule = MaskGITSchedule(self.special)
        mask = schedule.training_mask((codes.shape[0], codes[0].numel()), generator).view_as(codes)
        logits = self(codes.masked_fill(mask, self.special), tokens, sync)
        return F.cross_entropy(logits[mask], codes[mask])


def delay_codes(codes: torch.Tensor, pad: int) -> torch.Tensor:
    """MusicGen's delay pattern: ``[B, Q, N]`` to ``[B, Q, N + Q - 1]`` with codebook ``q`` shifted by ``q``.

    ``out[:, q, q + t] = codes[:, q, t]``; every other position is ``pad``.

    Example:
        >>> delay_codes(torch.tensor([[[1, 2, 3], [4, 5, 6]]]), pad=0).tolist()
        [[[1, 2, 3, 0], [0, 4, 5, 6]]]
    """
    batch, books, length = codes.shape
    out = codes.new_full((batch, books, length + books - 1), pad)
    for q in range(books):
        out[:, q, q : q + length] = codes[:, q]
    return out


def undelay_codes(delayed: torch.Tensor, length: int) -> torch.Tensor:
    """The inverse of :func:`delay_codes`: ``[B, Q, N + Q - 1]`` back to ``[B, Q, N]`` (``N = length``)."""
    return torch.stack([delayed[:, q, q : q + length] for q in range(delayed.shape[1])], dim=1)


# ---------------------------------------------------------------------------------------------- build


def build_flow_v2a(config: V2AConfig) -> FlowV2A:
    """Build the flow-matching video-to-audio network."""
    return FlowV2A(
        VideoConditioner(config.dim),
        JointDiT(config.dim, config.depth, config.heads),
        LogMelFeatures(config.sample_rate, config.n_fft, config.hop_length, config.n_mels),
        config.steps_per_frame,
    )


def build_token_v2a(config: V2AConfig, causal: bool) -> TokenV2A:
    """Build the token network: autoregressive (``causal=True``) or MaskGIT."""
    return TokenV2A(
        VideoConditioner(config.dim),
        JointDiT(config.dim, config.depth, config.heads, causal=causal),
        config.codebook_size,
        config.num_codebooks,
        config.token_steps_per_frame,
        delay=causal and config.token_delay,
    )


def build_v2a_codec(config: V2AConfig) -> AudioCodec:
    """The waveform codec of the token paradigms: hop ``hop_length`` (strides 5, 5, 10 for 250), mono."""
    if config.tokenizer != "waveform":
        raise UsageError(
            f"build a {config.tokenizer} tokenizer with avikit.models.tokenizers.mel_codec.build_mel_codec"
        )
    if config.hop_length != 250:
        raise UsageError(f"the v2a codec is built for hop 250, got {config.hop_length}")
    return build_audio_codec(
        config.sample_rate,
        strides=(5, 5, 10),
        base=8,
        latent_dim=32,
        num_codebooks=config.num_codebooks,
        codebook_size=config.codebook_size,
    )
