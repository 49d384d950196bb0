"""Caption metrics without an LLM judge: CIDEr-D, BLEU-4, and event-level faithfulness to a known event list.

- :func:`compute_cider_d`: CIDEr-D as in tylin/coco-caption (``pycocoevalcap/cider/cider_scorer.py``,
  pycocoevalcap 1.2): 1-4-gram TF-IDF vectors with document frequencies over the references of the
  evaluated set (``log(max(1, df))``, corpus size ``log(#clips)``), per-n cosine with the candidate's counts
  clipped by the reference's, a Gaussian length penalty ``exp(-delta^2 / (2 * 6^2))``, mean over n and
  references, times 10. Texts are tokenized by :func:`tokenize_caption` (lower case, punctuation removed),
  in place of the Java PTB tokenizer.
- :func:`compute_bleu`: corpus BLEU-1..4 as the same package's ``bleu_scorer.py`` with the ``closest``
  reference length (its ``1e-15``/``1e-9`` smoothing constants included).
- :func:`compute_event_rates`: video-SALMONN 2's event-level missing and hallucination rates, computed
  exactly: the events are the classes a clip's ground truth holds (of the caption's modality), the
  caption's events are the class names it mentions; a repetition rate (share of repeated word 4-grams).

Example:
    >>> refs = [["a dog barks"], ["a cat meows"]]
    >>> round(compute_cider_d(["a dog barks", "a cat meows"], refs)[0], 3)  # no 4-grams: 3 of 4 orders
    7.5
    >>> compute_event_rates(["a dog and a cow"], [{"dog", "cat"}], ["dog", "cat", "cow"])["missing"]
    array([0.5])
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "compute_bleu",
    "compute_cider_d",
    "compute_event_rates",
    "compute_repetition_rate",
    "tokenize_caption",
]

_SIGMA = 6.0
_TINY, _SMALL = 1e-15, 1e-9


def tokenize_caption(text: str) -> list[str]:
    """Lower-case words with punctuation removed (apostrophes inside words kept out, as PTB splits them)."""
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


def _ngrams(words: list[str], n: int = 4) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1))


def _vector(
    counts: Counter[tuple[str, ...]], df: Counter[tuple[str, ...]], log_n: float
) -> tuple[list[dict[tuple[str, ...], float]], list[float], int]:
    vec: list[dict[tuple[str, ...], float]] = [{} for _ in range(4)]
    norm = [0.0] * 4
    length = 0
    for gram, tf in counts.items():
        k = len(gram) - 1
        vec[k][gram] = float(tf) * (log_n - math.log(max(1.0, df[gram])))
        norm[k] += vec[k][gram] ** 2
        if k == 1:  # the package counts bigrams here (its ``n == 1`` on 0-based n)
            length += tf
    return vec, [math.sqrt(v) for v in norm], length


def _similarity(hyp: tuple, ref: tuple) -> NDArray[np.float64]:
    (vh, nh, lh), (vr, nr, lr) = hyp, ref
    delta = float(lh - lr)
    out = np.zeros(4)
    for k in range(4):
        for gram, value in vh[k].items():
            out[k] += min(value, vr[k].get(gram, 0.0)) * vr[k].get(gram, 0.0)
        if nh[k] != 0 and nr[k] != 0:
            out[k] /= nh[k] * nr[k]
        out[k] *= math.e ** (-(delta**2) / (2 * _SIGMA**2))
    return out


def compute_cider_d(
    candidates: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[float, NDArray[np.float64]]:
    """CIDEr-D of each candidate against its references: ``(corpus mean, per-clip scores [N])``, >= 0."""
    if len(candidates) != len(references) or not candidates:
        raise ValueError(
            f"need one or more candidates with references, got {len(candidates)} and {len(references)}"
        )
    hyps = [_ngrams(tokenize_caption(c)) for c in candidates]
    refs = [[_ngrams(tokenize_caption(r)) for r in rs] for rs in references]
    df: Counter[tuple[str, ...]] = Counter()
    for rs in refs:
        df.update({gram for r in rs for gram in r})
    log_n = math.log(float(len(refs)))
    scores = np.zeros(len(hyps))
    for i, (hyp, rs) in enumerate(zip(hyps, refs, strict=True)):
        vh = _vector(hyp, df, log_n)
        total = sum((_similarity(vh, _vector(r, df, log_n)) for r in rs), np.zeros(4))
        scores[i] = float(np.mean(total)) / len(rs) * 10.0
    return float(scores.mean()), scores


def compute_bleu(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> list[float]:
    """Corpus BLEU-1..4 (``closest`` reference length), in [0, 1]."""
    guess, correct = np.zeros(4), np.zeros(4)
    test_len = ref_len = 0.0
    for candidate, rs in zip(candidates, references, strict=True):
        words = tokenize_caption(candidate)
        counts = _ngrams(words)
        best: Counter[tuple[str, ...]] = Counter()
        lengths = []
        for r in rs:
            ref_words = tokenize_caption(r)
            lengths.append(len(ref_words))
            for gram, c in _ngrams(ref_words).items():
                best[gram] = max(best[gram], c)
        test_len += len(words)
        ref_len += min(lengths, key=lambda x: (abs(x - len(words)), x))
        for k in range(4):
            guess[k] += max(0, len(words) - k)
        for gram, c in counts.items():
            correct[len(gram) - 1] += min(c, best[gram])
    bleus, product = [], 1.0
    for k in range(4):
        product *= (correct[k] + _TINY) / (guess[k] + _SMALL)
        bleus.append(product ** (1.0 / (k + 1)))
    ratio = (test_len + _TINY) / (ref_len + _SMALL)
    if ratio < 1:
        bleus = [b * math.exp(1 - 1 / ratio) for b in bleus]
    return bleus


def compute_repetition_rate(text: str) -> float:
    """Share of word 4-grams that repeat an earlier one (0 for fewer than four words)."""
    words = tokenize_caption(text)
    grams = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
    return 0.0 if not grams else 1.0 - len(set(grams)) / len(grams)


def compute_event_rates(
    captions: Sequence[str], truths: Sequence[set[str]], vocabulary: Sequence[str]
) -> dict[str, NDArray[np.float64]]:
    """Per caption: events missed and invented, as counts and rates.

    Args:
        captions: the model's captions.
        truths: per caption the set of event classes it should mention.
        vocabulary: every class name (a caption's events are the names it mentions as whole words).

    Returns:
        ``missed``, ``true_events``, ``invented``, ``mentioned`` (counts ``[N]``), ``missing`` and
        ``hallucination`` (per-caption rates ``[N]``; a caption that mentions nothing has hallucination 0)
        and ``repetition`` ``[N]``. Pooled rates are ``missed.sum() / true_events.sum()`` and
        ``invented.sum() / mentioned.sum()``.
    """
    names = set(vocabulary)
    out = {
        key: np.zeros(len(captions))
        for key in ("missed", "true_events", "invented", "mentioned", "repetition")
    }
    for i, (caption, truth) in enumerate(zip(captions, truths, strict=True)):
        mentioned = set(tokenize_caption(caption)) & names
        out["missed"][i], out["true_events"][i] = len(truth - mentioned), len(truth)
        out["invented"][i], out["mentioned"][i] = len(mentioned - truth), len(mentioned)
        out["repetition"][i] = compute_repetition_rate(caption)
    out["missing"] = np.divide(
        out["missed"], out["true_events"], out=np.zeros(len(captions)), where=out["true_events"] > 0
    )
    out["hallucination"] = np.divide(
        out["invented"], out["mentioned"], out=np.zeros(len(captions)), where=out["mentioned"] > 0
    )
    return out
