"""The embedder protocol, the audio wrapper with av-benchmark's preprocessing, and strict checkpoint loading.

An :class:`Embedder` turns one :class:`~avikit.media.AVClip` into named arrays (``"embedding"``,
``"logits"``); ``avikit.metrics.generation`` scores those arrays and never imports a model.
:class:`ModuleEmbedder` wraps any torch module with av-benchmark's audio preprocessing
(``av_bench/data/audio_dataset.py::AudioDataset``): mono, mean removed, cut (not padded) to a fixed duration,
at a fixed sample rate. A clip at another sample rate is an error, never silently resampled.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from avikit.errors import AvikitError, InputFileError, UsageError
from avikit.media import AVClip

__all__ = [
    "CheckpointLayoutError",
    "Embedder",
    "ModuleEmbedder",
    "TimmMlp",
    "load_checkpoint_state",
    "load_state_strict",
    "require_package",
]


class TimmMlp(nn.Module):
    """The transformer MLP of timm-style checkpoints: ``fc1``, exact GELU, ``fc2`` (their key names).

    Example:
        >>> TimmMlp(8, 32)(torch.zeros(2, 8)).shape
        torch.Size([2, 8])
    """

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., dim]`` to ``[..., dim]``."""
        return self.fc2(F.gelu(self.fc1(x)))


class CheckpointLayoutError(AvikitError, ValueError):
    """A checkpoint's keys or shapes do not match the architecture it is loaded into."""


@runtime_checkable
class Embedder(Protocol):
    """Clip to named feature arrays, under a stated, JSON-serialisable preprocessing."""

    name: str

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        """Every value that changes the output (rates, durations, crops); part of the feature-cache key."""

    def embed(self, clip: AVClip) -> dict[str, np.ndarray]:
        """Features of one clip, e.g. ``{"embedding": [D], "logits": [C]}``."""


class ModuleEmbedder:
    """Wraps ``module: waveform [1, N] -> {name: tensor}`` (or a tensor, named ``"embedding"``).

    Example:
        >>> import numpy as np
        >>> from torch import nn
        >>> class Peak(nn.Module):
        ...     def forward(self, waveform):
        ...         return waveform.abs().amax(-1, keepdim=True)
        >>> clip = AVClip(waveform=np.ones((2, 32000), np.float32), sample_rate=16000)
        >>> ModuleEmbedder("peak", Peak(), 16000, duration=1.0).embed(clip)["embedding"].tolist()
        [0.0]
    """

    def __init__(
        self,
        name: str,
        module: nn.Module,
        sample_rate: int,
        duration: float | None = 8.0,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.name, self.module = name, module.eval()
        self.sample_rate, self.duration = sample_rate, duration
        self.extra = dict(extra or {})

    @property
    def preprocessing(self) -> Mapping[str, Any]:
        """Mono, mean removed, cut to ``duration`` s at ``sample_rate``, plus the model's own front end."""
        base = {"sample_rate": self.sample_rate, "duration": self.duration, "mono": True, "remove_mean": True}
        return {**base, **self.extra}

    def prepare(self, clip: AVClip) -> torch.Tensor:
        """The module's input ``[1, N]``: checked rate, mono, mean removed, cut to the duration."""
        waveform = clip.require_waveform()  # [C, N]
        if clip.sample_rate != self.sample_rate:
            raise UsageError(
                f"{self.name} needs audio at {self.sample_rate} Hz, the clip has {clip.sample_rate} Hz; "
                "resample it first (avikit never resamples silently)"
            )
        mono = waveform.mean(axis=0)
        mono = mono - mono.mean()
        if self.duration is not None:
            mono = mono[: round(self.duration * self.sample_rate)]
        return torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32))[None]

    @torch.no_grad()
    def embed(self, clip: AVClip) -> dict[str, np.ndarray]:
        """Run the module on the prepared waveform; returns float arrays without the batch axis."""
        output = self.module(self.prepare(clip))
        named = output if isinstance(output, Mapping) else {"embedding": output}
        return {key: value.detach().cpu().numpy()[0] for key, value in named.items()}


def require_package(module: str, install: str) -> Any:
    """Import ``module`` or raise an ImportError that names the pip command installing it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"this embedder needs the package {module!r}; install it with `{install}`"
        ) from error


def load_checkpoint_state(
    path: str | os.PathLike[str], nested: tuple[str, ...] = ()
) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a torch file (``weights_only``), unwrapping ``nested`` keys.

    Args:
        path: the checkpoint file.
        nested: keys tried in order when the file holds a dict around the state dict (e.g. ``("model",)``
            for the PANNs checkpoints, which store ``{"model": state, "iteration": ...}``).

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointLayoutError: the file holds no mapping of tensors.
    """
    file = Path(path)
    if not file.is_file():
        raise InputFileError(f"checkpoint {file} does not exist; pass the path of a downloaded file")
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(file))
    state: Any = torch.load(file, map_location="cpu", weights_only=True)
    for key in nested:
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointLayoutError(
            f"{file} does not hold a state dict of tensors (top-level keys tried: {nested})"
        )
    return dict(state)


def _listed(keys: list[str], limit: int = 12) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" ... ({len(keys)} in all)" if len(keys) > limit else "")


def load_state_strict(
    module: nn.Module, state: Mapping[str, torch.Tensor], what: str, ignore_prefixes: tuple[str, ...] = ()
) -> None:
    """Load ``state`` into ``module``: every key and shape must match, except keys under ``ignore_prefixes``.

    Raises:
        CheckpointLayoutError: listing the missing keys, the unexpected keys and the shape mismatches.
    """
    kept = {k: v for k, v in state.items() if not (ignore_prefixes and k.startswith(ignore_prefixes))}
    own = module.state_dict()
    missing = sorted(set(own) - set(kept))
    unexpected = sorted(set(kept) - set(own))
    shapes = sorted(
        f"{k}: checkpoint {list(kept[k].shape)} vs model {list(own[k].shape)}"
        for k in set(own) & set(kept)
        if kept[k].shape != own[k].shape
    )
    if missing or unexpected or shapes:
        parts = [f"the checkpoint does not have the {what} layout"]
        if missing:
            parts.append(f"missing keys: {_listed(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_listed(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches: {_listed(shapes)}")
        parts.append("check that the file is the official checkpoint for this embedder and config")
        raise CheckpointLayoutError("; ".join(parts))
    module.load_state_dict(kept, strict=True)
