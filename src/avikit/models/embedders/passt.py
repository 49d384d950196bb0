"""PaSST-S (Koutini et al. 2022), the AudioSet model av-benchmark uses for FD_PaSST, KL and IS.

av-benchmark calls ``hear21passt.base.get_basic_model(mode="all")``: the ``passt_s_swa_p16_128_ap476``
network with its mel front end, on 32 kHz audio padded or cut to 10 s (320000 samples), and keeps the 527
pre-sigmoid logits and the 768-d embedding. This module rebuilds both and reads the published checkpoint
(``passt-s-f128-p16-s10-ap.476-swa.pt``, the network's state dict) key for key.

Front end (``AugmentMelSTFT`` in eval mode): pre-emphasis ``y[n] = x[n + 1] - 0.97 x[n]`` (one sample
shorter), STFT with ``n_fft`` 1024, a symmetric 800-sample Hann window centred in it, hop 320, centred
frames with reflect padding; power spectrum; Kaldi's mel banks (:func:`~avikit.models.embedders.kaldi.
kaldi_mel_banks`, 128 bins from 0 to 15000 Hz, a zero weight on the Nyquist bin); ``log(x + 1e-5)``;
``(x + 4.5) / 5``. Ten seconds give 1000 frames.

Network (timm ViT names): ``patch_embed.proj`` (1 -> 768, 16x16 kernel, stride 10: a 12 x 99 grid for 128
x 1000), ``freq_new_pos_embed`` ``[1, 768, 12, 1]`` and ``time_new_pos_embed`` ``[1, 768, 1, 99]`` added to
the grid (the time one cut to shorter inputs), ``cls_token`` and ``dist_token`` with ``new_pos_embed``
``[1, 2, 768]``, 12 pre-norm blocks (``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2``, ``mlp.fc1``,
``mlp.fc2``; LayerNorm eps 1e-6, exact GELU), ``norm``; ``embedding`` is the mean of the two token outputs,
``logits = head(embedding)`` with ``head`` = LayerNorm (eps 1e-5) + Linear. ``head_dist`` is in the
checkpoint but unused at inference, as upstream.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import UsageError
from avikit.models.embedders.base import ModuleEmbedder, TimmMlp, load_checkpoint_state, load_state_strict
from avikit.models.embedders.hub import WEIGHTS, resolve_weights
from avikit.models.embedders.kaldi import kaldi_mel_banks

__all__ = ["PASST_FRONT_END", "PaSST", "PaSSTConfig", "PaSSTInput", "load_passt", "passt_log_mel"]

PASST_FRONT_END: dict[str, Any] = {
    "sample_rate": 32000,
    "num_samples": 320000,
    "n_fft": 1024,
    "win_length": 800,
    "hop": 320,
    "n_mels": 128,
    "f_min": 0.0,
    "f_max": 15000.0,
    "preemphasis": 0.97,
    "log_offset": 1e-5,
    "normalise": "(log_mel + 4.5) / 5",
}
"""``get_basic_model``'s ``AugmentMelSTFT`` in eval mode (``fmax = 32000 // 2 - 2000 // 2``)."""


def passt_log_mel(waveform: torch.Tensor) -> torch.Tensor:
    """PaSST's normalised log-mel ``[B, 128, 1 + (N - 1) // 320]`` of 32 kHz waveforms ``[B, N]``."""
    cfg = PASST_FRONT_END
    if waveform.ndim != 2 or waveform.shape[-1] < 2:
        raise UsageError(f"PaSST needs waveforms [B, N] with N >= 2 samples, got {list(waveform.shape)}")
    x = waveform[:, 1:] - cfg["preemphasis"] * waveform[:, :-1]
    n = torch.arange(cfg["win_length"], dtype=torch.float64, device=waveform.device)
    window = (0.5 - 0.5 * torch.cos(2 * math.pi * n / (cfg["win_length"] - 1))).to(waveform.dtype)
    spectrum = torch.stft(
        x,
        cfg["n_fft"],
        hop_length=cfg["hop"],
        win_length=cfg["win_length"],
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )  # [B, 513, T]
    banks = kaldi_mel_banks(cfg["n_mels"], cfg["n_fft"], cfg["sample_rate"], cfg["f_min"], cfg["f_max"])
    mel = banks.to(waveform.device, waveform.dtype) @ spectrum.abs().square()
    return (torch.log(mel + cfg["log_offset"]) + 4.5) / 5.0


@dataclass(frozen=True)
class PaSSTConfig:
    """Widths and input grid; the defaults are ``passt_s_swa_p16_128_ap476`` (86,153,758 parameters)."""

    dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    n_mels: int = 128
    frames: int = 998
    patch: int = 16
    stride: int = 10
    classes: int = 527

    @property
    def grid(self) -> tuple[int, int]:
        """``(frequency, time)`` positions of the positional embeddings (``img_size // stride``)."""
        return self.n_mels // self.stride, self.frames // self.stride


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # [B, H, N, d]
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, dim))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn, self.mlp = _Attention(dim, heads), TimmMlp(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, cfg: PaSSTConfig) -> None:
        super().__init__()
        self.proj = nn.Conv2d(1, cfg.dim, cfg.patch, stride=cfg.stride)


class PaSST(nn.Module):
    """``[B, N]`` 32 kHz waveform -> ``{"logits": [B, 527], "embedding": [B, 768]}`` (eval mode).

    Example:
        >>> tiny = PaSSTConfig(dim=8, depth=1, heads=2, classes=3)
        >>> out = PaSST(tiny).eval()(torch.zeros(1, 32000))
        >>> out["logits"].shape, out["embedding"].shape
        (torch.Size([1, 3]), torch.Size([1, 8]))
    """

    def __init__(self, cfg: PaSSTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        freq, time = cfg.grid
        self.patch_embed = _PatchEmbed(cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.new_pos_embed = nn.Parameter(torch.zeros(1, 2, cfg.dim))
        self.freq_new_pos_embed = nn.Parameter(torch.zeros(1, cfg.dim, freq, 1))
        self.time_new_pos_embed = nn.Parameter(torch.zeros(1, cfg.dim, 1, time))
        hidden = int(cfg.dim * cfg.mlp_ratio)
        self.blocks = nn.Sequential(*[_Block(cfg.dim, cfg.heads, hidden) for _ in range(cfg.depth)])
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.head = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, cfg.classes))
        self.head_dist = nn.Linear(cfg.dim, cfg.classes)
        for parameter in (self.cls_token, self.dist_token, self.new_pos_embed):
            nn.init.trunc_normal_(parameter, std=0.02)
        nn.init.trunc_normal_(self.freq_new_pos_embed, std=0.02)
        nn.init.trunc_normal_(self.time_new_pos_embed, std=0.02)

    def forward_spectrogram(self, spectrogram: torch.Tensor) -> dict[str, torch.Tensor]:
        """``[B, 1, n_mels, T]`` normalised log-mel -> logits and embedding."""
        x = self.patch_embed.proj(spectrogram)  # [B, D, F', T']
        if x.shape[2] != self.freq_new_pos_embed.shape[2] or x.shape[3] > self.time_new_pos_embed.shape[3]:
            raise UsageError(
                f"PaSST's patch grid is {x.shape[2]} x {x.shape[3]}; this model has "
                f"{self.freq_new_pos_embed.shape[2]} frequency positions and at most "
                f"{self.time_new_pos_embed.shape[3]} time positions (10 s at 32 kHz); cut the audio"
            )
        x = x + self.time_new_pos_embed[..., : x.shape[3]] + self.freq_new_pos_embed
        x = x.flatten(2).transpose(1, 2)  # [B, F'T', D], frequency-major
        batch = x.shape[0]
        tokens = torch.cat([self.cls_token, self.dist_token], dim=1) + self.new_pos_embed
        x = self.norm(self.blocks(torch.cat([tokens.expand(batch, -1, -1), x], dim=1)))
        embedding = (x[:, 0] + x[:, 1]) / 2
        return {"logits": self.head(embedding), "embedding": embedding}

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """Front end and network; pad or cut the waveform to 320000 samples first, as av-benchmark does."""
        return self.forward_spectrogram(passt_log_mel(waveform)[:, None])


class PaSSTInput(nn.Module):
    """Pads or cuts ``[B, N]`` to ``num_samples`` (zeros at the end), then runs ``model``."""

    def __init__(self, model: PaSST, num_samples: int = PASST_FRONT_END["num_samples"]) -> None:
        super().__init__()
        self.model, self.num_samples = model, num_samples

    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """Pad or cut, then the model's forward."""
        waveform = F.pad(waveform, (0, max(0, self.num_samples - waveform.shape[-1])))
        return self.model(waveform[..., : self.num_samples])


def load_passt(
    checkpoint: str | os.PathLike[str] | None = None, cfg: PaSSTConfig | None = None
) -> ModuleEmbedder:
    """PaSST-S as av-benchmark runs it: ``logits`` [527] and ``embedding`` [768] per clip.

    The clip is prepared as every av-benchmark audio embedder's (32 kHz, mono, mean removed, cut to 8 s), then
    zero-padded to 10 s (320000 samples), as ``extract.py`` does before calling PaSST.

    Args:
        checkpoint: a local ``passt-s-f128-p16-s10-ap.476-swa.pt`` (or a file in its layout); ``None``
            downloads the published file.
        cfg: widths (default: ``passt_s_swa_p16_128_ap476``).

    Raises:
        CheckpointLayoutError: the file's keys or shapes differ from the official layout (listed).

    Example:
        >>> passt = load_passt()  # doctest: +SKIP
        >>> passt.embed(clip)["logits"].shape  # doctest: +SKIP
        (527,)
    """
    model = PaSST(cfg or PaSSTConfig())
    state = load_checkpoint_state(
        resolve_weights(WEIGHTS["passt"], checkpoint), nested=("state_dict", "model")
    )
    load_state_strict(model, state, "PaSST-S (hear21passt passt_s_swa_p16_128_ap476)")
    extra = {"front_end": PASST_FRONT_END, "pad_to": PASST_FRONT_END["num_samples"]}
    return ModuleEmbedder(
        "passt", PaSSTInput(model), PASST_FRONT_END["sample_rate"], duration=8.0, extra=extra
    )
