"""What a navigation policy is, and the two baselines of the harness: random actions and the oracle.

A policy acts for ``B`` rooms at once: :meth:`Policy.act` takes the batched observations, the step's
``info`` and ``first`` (which rooms just started an episode, so recurrent state restarts there) and returns
one action per room (0 stop, 1 forward, 2 turn left, 3 turn right).

Example:
    >>> import numpy as np
    >>> policy = RandomPolicy(seed=0)
    >>> policy.act({"audio": np.zeros((3, 2, 8))}, {}, np.ones(3, bool)).shape
    (3,)
    >>> OraclePolicy().act({}, {"oracle_action": np.array([1, 0])}, np.ones(2, bool)).tolist()
    [1, 0]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["OraclePolicy", "Policy", "RandomPolicy"]


@runtime_checkable
class Policy(Protocol):
    """What the embodied harness needs from a policy.

    Attributes:
        id: a stable name, e.g. ``"heuristic-ild"``.
        weights_hash: a hash of the weights (``"none"`` without weights).
    """

    id: str
    weights_hash: str

    def act(self, obs: Mapping[str, np.ndarray], info: Mapping[str, Any], first: np.ndarray) -> np.ndarray:
        """One action per room, ``int64 [B]``."""
        ...


class RandomPolicy:
    """Uniformly random actions (stop included), seeded: the chance baseline."""

    weights_hash = "none"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.id = f"random-seed{seed}"
        self._rng = np.random.default_rng(seed)

    def act(self, obs: Mapping[str, np.ndarray], info: Mapping[str, Any], first: np.ndarray) -> np.ndarray:
        """Uniform actions."""
        return self._rng.integers(0, 4, size=len(first)).astype(np.int64)


class OraclePolicy:
    """The first action of a shortest path, read from the privileged ``info["oracle_action"]``."""

    id = "oracle"
    weights_hash = "none"

    def act(self, obs: Mapping[str, np.ndarray], info: Mapping[str, Any], first: np.ndarray) -> np.ndarray:
        """The oracle's actions."""
        return np.asarray(info["oracle_action"], dtype=np.int64)
