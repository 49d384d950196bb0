"""Reading answers written in words: normalization, exact match, and the declared parsing rules.

- :func:`normalize_answer`: the VQA normalization (lower case, punctuation removed, articles dropped,
  digits written as number words ``0``-``10``, spaces collapsed); exact match compares normalized strings.
- :func:`extract_choice`: the multiple-choice rule, tried in order: a bracketed letter ``(B)``; a letter
  followed by ``)``, ``.`` or ``:`` at the start; "answer is B"; a lone capital letter A-D as the answer;
  the text of exactly one option (normalized, whole answer). Anything else is *unparsed* (``None``) and
  scored wrong, never a random letter.
- :func:`parse_span`: the first ``a to b`` / ``a - b`` pair of numbers (seconds) in the text.
- :func:`parse_yes_no`: ``yes`` or ``no`` as the first word after normalization, else ``None``.
- :func:`is_refusal`: the answer says the thing is absent ("there is no", "not in", "no such", ...).

Example:
    >>> normalize_answer("There are 2 dogs.")
    'there are two dogs'
    >>> extract_choice("The answer is (C).", 4), extract_choice("maybe", 4)
    (2, None)
    >>> parse_span("From 1.5 to 3.0 seconds.")
    (1.5, 3.0)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "extract_choice",
    "is_refusal",
    "normalize_answer",
    "parse_span",
    "parse_yes_no",
]

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_ARTICLES = {"a", "an", "the"}
_LETTERS = "ABCDEFGH"
_PUNCT = re.compile(r"[^\w\s]")
_NUMBER = r"(\d+(?:\.\d+)?)"
_SPAN = re.compile(_NUMBER + r"\s*(?:s|sec|seconds?)?\s*(?:to|-|–|until|and)\s*" + _NUMBER)
_REFUSALS = (
    "there is no",
    "there are no",
    "is not in",
    "no such",
    "not present",
    "does not appear",
    "cannot",
)


def normalize_answer(text: str) -> str:
    """VQA-style normalization (see the module docstring)."""
    words = []
    for word in _PUNCT.sub(" ", text.lower()).split():
        if word in _ARTICLES:
            continue
        words.append(_NUMBER_WORDS[int(word)] if word.isdigit() and int(word) <= 10 else word)
    return " ".join(words)


def extract_choice(text: str, num_options: int, options: Sequence[str] | None = None) -> int | None:
    """The chosen option's index under the declared rule, or ``None`` when the rule finds none."""
    letters = _LETTERS[:num_options]
    stripped = text.strip()
    rules = (
        rf"\(([{letters}])\)",
        rf"^([{letters}])[\).:](?:\s|$)",
        rf"answer is:?\s*\(?([{letters}])\b",
        rf"^([{letters}])$",
    )
    for rule in rules:
        found = re.search(rule, stripped)
        if found:
            return letters.index(found.group(1))
    if options is not None:
        normalized = normalize_answer(stripped)
        hits = [k for k, option in enumerate(options) if normalize_answer(option) == normalized]
        if len(hits) == 1:
            return hits[0]
    return None


def parse_span(text: str) -> tuple[float, float] | None:
    """The first span of seconds in ``text`` as ``(start, end)`` sorted, or ``None``."""
    found = _SPAN.search(text)
    if found is None:
        return None
    a, b = float(found.group(1)), float(found.group(2))
    return (min(a, b), max(a, b))


def parse_yes_no(text: str) -> str | None:
    """``"yes"`` or ``"no"`` when the normalized answer starts with it, else ``None``."""
    words = normalize_answer(text).split()
    return words[0] if words and words[0] in ("yes", "no") else None


def is_refusal(text: str) -> bool:
    """Whether the answer says that what was asked about is absent."""
    lowered = " ".join(text.lower().split())
    return any(phrase in lowered for phrase in _REFUSALS)
