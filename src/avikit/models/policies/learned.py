"""A small learned navigation policy: a fixed audio-visual front end, a GRU and an action head.

The front end turns one step's observation into a vector: each ear's level, the interaural level and time
differences (the lag of the cross-correlation peak within the largest physical delay), a 16-band log
spectrum of the mix (what sounds), the view pooled to ``6 x 8`` colours (what is seen) and the previous
action. A GRU carries memory across steps (the semantic task needs the sound's class and direction after
it stops); a linear head scores the four actions. Trained by imitation of the shortest-path expert with
DAgger (:mod:`avikit.train.nav_policy`).

Example:
    >>> import numpy as np, torch
    >>> net = build_policy_network(PolicyConfig(hidden=16))
    >>> obs = {"audio": np.zeros((2, 2, 1000), np.float32), "rgb": np.zeros((2, 24, 32, 3), np.uint8)}
    >>> x = torch.from_numpy(observation_features(obs, np.zeros(2, np.int64)))
    >>> logits, state = net(x[None], None)
    >>> logits.shape, state.shape
    (torch.Size([1, 2, 4]), torch.Size([1, 2, 16]))
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from avikit.models.packaged import WEIGHTS_DIR
from avikit.nn import from_pretrained as load_pretrained
from avikit.nn import resolve_pretrained, weights_sha256

__all__ = [
    "FEATURE_DIM",
    "KIND",
    "LearnedPolicy",
    "PolicyConfig",
    "PolicyNetwork",
    "build_policy_network",
    "from_pretrained",
    "observation_features",
]

KIND = "avikit.models.nav_policy"
_BANDS = 16
_MAX_LAG = 12
FEATURE_DIM = 2 + 2 + _BANDS + 6 * 8 * 3 + 4
"""Length of one step's feature vector."""


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class PolicyConfig:
    """Sizes of the policy network."""

    hidden: int = 96
    embed: int = 96


# -------------------------------------------------------------------------------------------- front end


def _band_edges(length: int) -> np.ndarray:
    bins = length // 2 + 1
    return np.unique(np.round(np.geomspace(2, bins - 1, _BANDS + 1)).astype(np.int64))


def observation_features(obs: Mapping[str, np.ndarray], previous_action: np.ndarray) -> np.ndarray:
    """One step's features ``float32 [B, FEATURE_DIM]`` from ``audio [B, 2, N]``, ``rgb [B, H, W, 3]``."""
    audio = np.asarray(obs["audio"], np.float64)
    count, _, length = audio.shape
    rms = np.sqrt(np.mean(audio**2, axis=-1))
    levels = 20 * np.log10(np.maximum(rms, 1e-6)) / 60.0  # [B, 2], about [-2, 0]
    ild = levels[:, 1:] - levels[:, :1]
    spectrum_l, spectrum_r = np.fft.rfft(audio[:, 0]), np.fft.rfft(audio[:, 1])
    cross = np.fft.irfft(spectrum_l * np.conj(spectrum_r), n=length)  # [B, N]
    lags = np.concatenate([cross[:, -_MAX_LAG:], cross[:, : _MAX_LAG + 1]], axis=1)
    itd = (np.argmax(lags, axis=1) - _MAX_LAG)[:, None] / _MAX_LAG * (rms.sum(1, keepdims=True) > 1e-4)
    power = np.abs(spectrum_l) ** 2 + np.abs(spectrum_r) ** 2
    edges = _band_edges(length)
    bands = np.add.reduceat(power, edges[:-1], axis=1)[:, :_BANDS]
    bands = np.pad(bands, ((0, 0), (0, _BANDS - bands.shape[1])))
    spectrum = np.log10(bands + 1e-9) / 10.0
    rgb = np.asarray(obs["rgb"], np.float64) / 255.0
    pooled = rgb.reshape(count, 6, rgb.shape[1] // 6, 8, rgb.shape[2] // 8, 3).mean(axis=(2, 4))
    onehot = np.eye(4)[np.clip(previous_action, 0, 3)] * (previous_action >= 0)[:, None]
    parts = [levels, ild, itd, spectrum, pooled.reshape(count, -1), onehot]
    return np.concatenate(parts, axis=1).astype(np.float32)


# ------------------------------------------------------------------------------------------------ model


class PolicyNetwork(nn.Module):
    """Features ``[T, B, F]`` -> action logits ``[T, B, 4]`` and the GRU state ``[1, B, H]``."""

    def __init__(self, embed: nn.Module, gru: nn.GRU, head: nn.Linear) -> None:
        super().__init__()
        self.embed, self.gru, self.head = embed, gru, head

    def forward(
        self, features: torch.Tensor, state: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the policy over ``T`` steps of ``B`` rooms."""
        hidden, state = self.gru(self.embed(features), state)  # [T, B, H]
        return self.head(hidden), state


def build_policy_network(cfg: PolicyConfig) -> PolicyNetwork:
    """Build the network from its config."""
    embed = nn.Sequential(nn.LayerNorm(FEATURE_DIM), nn.Linear(FEATURE_DIM, cfg.embed), nn.GELU())
    return PolicyNetwork(embed, nn.GRU(cfg.embed, cfg.hidden), nn.Linear(cfg.hidden, 4))


class LearnedPolicy:
    """The network acting greedily, with its GRU state kept per room across steps."""

    def __init__(self, network: PolicyNetwork, policy_id: str, weights_hash: str = "untrained") -> None:
        self.network = network.eval()
        self.id, self.weights_hash = policy_id, weights_hash
        self._state: torch.Tensor | None = None
        self._previous: np.ndarray | None = None

    @torch.no_grad()
    def act(self, obs: Mapping[str, np.ndarray], info: Mapping[str, Any], first: np.ndarray) -> np.ndarray:
        """Greedy actions; rooms flagged ``first`` start from a zero state."""
        count = len(first)
        if self._state is None or self._state.shape[1] != count or self._previous is None:
            self._state = torch.zeros(1, count, self.network.gru.hidden_size)
            self._previous = np.full(count, -1, dtype=np.int64)
        fresh = torch.from_numpy(np.asarray(first, bool))
        self._state[:, fresh] = 0.0
        self._previous[np.asarray(first, bool)] = -1
        x = torch.from_numpy(observation_features(obs, self._previous))[None]
        logits, self._state = self.network(x, self._state)
        action = logits[0].argmax(-1).numpy().astype(np.int64)
        self._previous = action
        return action


def from_pretrained(name_or_path: str | os.PathLike[str] = "nav-policy-audiogoal") -> LearnedPolicy:
    """Load a trained policy from a packaged name (``nav-policy-<task>``), a folder or a hub id."""
    folder = resolve_pretrained(name_or_path, (WEIGHTS_DIR,))
    network, _ = load_pretrained(folder, PolicyConfig, build_policy_network, kind=KIND)
    return LearnedPolicy(network, f"avikit/{folder.name}", weights_sha256(folder / "model.safetensors")[:16])
