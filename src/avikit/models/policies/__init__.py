"""Navigation policies for the embodied tasks (:mod:`avikit.envs`): baselines, a heuristic, a learned one.

:data:`POLICIES` maps a name to ``module:factory`` (imported when built). ``learned-<task>`` loads the
packaged policy trained on that task by :mod:`avikit.train.nav_policy`.

Example:
    >>> get_policy("random").id
    'random-seed0'
"""

from __future__ import annotations

import importlib
from functools import partial
from typing import Any

from avikit._registry import lookup
from avikit.models.policies.base import OraclePolicy, Policy, RandomPolicy

__all__ = ["POLICIES", "OraclePolicy", "Policy", "RandomPolicy", "get_policy"]

POLICIES: dict[str, tuple[str, dict[str, Any]]] = {
    "random": ("avikit.models.policies.base:RandomPolicy", {}),
    "oracle": ("avikit.models.policies.base:OraclePolicy", {}),
    "heuristic": ("avikit.models.policies.heuristic:HeuristicPolicy", {}),
    "heuristic-near": ("avikit.models.policies.heuristic:HeuristicPolicy", {"stop_db": -11.0}),
    "learned-audiogoal": (
        "avikit.models.policies.learned:from_pretrained",
        {"name_or_path": "nav-policy-audiogoal"},
    ),
    "learned-semantic": (
        "avikit.models.policies.learned:from_pretrained",
        {"name_or_path": "nav-policy-semantic"},
    ),
    "learned-follow": (
        "avikit.models.policies.learned:from_pretrained",
        {"name_or_path": "nav-policy-follow"},
    ),
}
"""Policy name -> (``module:factory``, keyword arguments). ``heuristic-near`` stops next to the goal
(for ``follow``, whose success radius is one cell)."""


def get_policy(name: str) -> Policy:
    """Build a policy by registered name.

    Raises:
        UnknownNameError: for an unknown name; the message lists the known ones.
    """
    path, kwargs = lookup(POLICIES, name, "policy")
    module, _, attribute = path.partition(":")
    factory = getattr(importlib.import_module(module), attribute)
    policy: Policy = partial(factory, **kwargs)()
    return policy
