"""Licence governance: refuse a declared use of data whose licence or terms forbid it.

The evaluation runner calls :func:`check_allowed_use` with the card of every dataset a run uses and the
use the person running it declared (``--use commercial``). A card is the Croissant JSON-LD written by
:mod:`avikit.data.croissant` or a plain :class:`~avikit.data.card.DatasetCard` dictionary.

Example:
    >>> card = {"name": "vggss", "license": "Apache-2.0",
    ...         "avikit:usage": {"nonCommercial": False, "researchOnly": True}}
    >>> check_allowed_use(card, "research")
    >>> try:
    ...     check_allowed_use(card, "commercial")
    ... except LicenceError as err:
    ...     print(str(err).split(":")[0])
    dataset 'vggss' (licence Apache-2.0) may not be used for commercial use
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from avikit.errors import AvikitError, DataError

__all__ = ["LICENCE_TERMS", "USES", "LicenceError", "check_allowed_use", "most_restrictive_licence"]

USES: dict[str, str] = {
    "research": "non-commercial research and benchmarking",
    "commercial": "any use by or for a business, including training or evaluating commercial products",
    "redistribution": "publishing copies of the data or of the media",
    "biometric": "identifying or profiling people from their faces or voices",
}
"""Declarable uses and what each covers."""

_NON_COMMERCIAL = frozenset({"commercial"})
LICENCE_TERMS: dict[str, frozenset[str]] = {
    "CC0-1.0": frozenset(),
    "CC-BY-4.0": frozenset(),
    "CC-BY-SA-4.0": frozenset(),
    "MIT": frozenset(),
    "Apache-2.0": frozenset(),
    "CC-BY-NC-4.0": _NON_COMMERCIAL,
    "CC-BY-NC-SA-4.0": _NON_COMMERCIAL | {"redistribution"},
    "CC-BY-NC-ND-4.0": _NON_COMMERCIAL | {"redistribution"},
    "NOASSERTION": _NON_COMMERCIAL | {"redistribution"},
}
"""SPDX id -> uses the licence itself forbids. ``NOASSERTION`` (no licence stated) grants nothing beyond
research."""


def most_restrictive_licence(licences: Iterable[str]) -> str:
    """The licence generated media inherit from the data a generator was trained on: the most restrictive.

    Licences are ordered by the uses they forbid (:data:`LICENCE_TERMS`); one that forbids everything
    another forbids, and more, is more restrictive. A licence avikit does not know, or two whose forbidden
    uses do not nest (neither contains the other), give ``NOASSERTION``: only research use is assumed.
    Among licences forbidding the same uses the first given wins.

    Example:
        >>> most_restrictive_licence(["CC0-1.0", "CC-BY-NC-4.0", "MIT"])
        'CC-BY-NC-4.0'
        >>> most_restrictive_licence(["CC0-1.0"])
        'CC0-1.0'
    """
    names = list(licences)
    if not names:
        raise ValueError("no training data licence given; a generator's card must list its training data")
    if any(name not in LICENCE_TERMS for name in names):
        return "NOASSERTION"
    strictest = names[0]
    for name in names[1:]:
        if LICENCE_TERMS[name] > LICENCE_TERMS[strictest]:
            strictest = name
        elif not LICENCE_TERMS[name] <= LICENCE_TERMS[strictest]:
            return "NOASSERTION"
    return strictest


class LicenceError(AvikitError):
    """A declared use is forbidden by a dataset's licence or terms."""


def _licence(card: Mapping[str, Any]) -> str:
    for key in ("license", "licence", "sc:license"):
        value = card.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, Mapping):
            value = value.get("identifier") or value.get("name")
        if isinstance(value, str) and value:
            return value.rsplit("/", 1)[-1] if value.startswith("http") else value
    raise DataError(
        f"dataset card {card.get('name')!r} states no licence; add a 'license' (SPDX id) to the card"
    )


def _reasons(card: Mapping[str, Any], licence: str, use: str) -> list[str]:
    usage = card.get("avikit:usage") or {}
    reasons = []
    if licence not in LICENCE_TERMS:
        if use != "research":
            reasons.append(
                f"its licence {licence!r} is not one avikit knows, so only research use is assumed"
            )
    elif use in LICENCE_TERMS[licence]:
        reasons.append(f"the licence {licence} forbids {use} use")
    if usage.get("researchOnly") and use != "research":
        reasons.append("its terms allow research use only")
    if usage.get("nonCommercial") and use == "commercial":
        reasons.append("its terms forbid commercial use")
    if use == "redistribution" and usage.get("redistribution") is False:
        reasons.append("its terms forbid redistributing the media")
    if use == "biometric" and (usage.get("containsFaces") or usage.get("containsVoices")):
        reasons.append("it shows people's faces or voices collected without consent to biometric use")
    return reasons


def check_allowed_use(card: Mapping[str, Any], use: str) -> None:
    """Raise :class:`LicenceError` if the dataset's licence or terms forbid ``use``.

    Args:
        card: a dataset card: Croissant JSON-LD (``license``, optional ``avikit:usage`` block with
            ``nonCommercial``, ``researchOnly``, ``redistribution``, ``containsFaces``, ``containsVoices``)
            or a :class:`~avikit.data.card.DatasetCard` dictionary (``licence``).
        use: one of :data:`USES`.

    Raises:
        LicenceError: the use is forbidden; the message names the dataset, its licence and the reasons.
        ValueError: ``use`` is unknown or the card states no licence.
    """
    if use not in USES:
        raise DataError(f"unknown use {use!r}; declare one of: {', '.join(USES)}")
    licence = _licence(card)
    reasons = _reasons(card, licence, use)
    if reasons:
        raise LicenceError(
            f"dataset {card.get('name')!r} (licence {licence}) may not be used for {use} use: "
            f"{'; '.join(reasons)}. Leave it out of the run or declare another use."
        )
