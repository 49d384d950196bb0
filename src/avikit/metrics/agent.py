"""Tool-use measures: tool macro-F1, argument F1, edge F1, plan edit distance (m&m's) and pass^k (tau-bench).

Definitions:

- m&m's (Ma et al. 2024, "m&m's: A Benchmark to Evaluate Tool-Use for multi-step multi-modal Tasks",
  arXiv:2403.11085): tool-F1 between the predicted and the gold tool multisets, argument-name F1 and
  argument-value F1 over matched calls, edge-F1 over the consecutive ``(tool_i, tool_i+1)`` pairs (here with
  a start node before the first call, so that a one-call plan has an edge and an empty plan does not), and the
  normalized edit distance between the tool sequences (Levenshtein / longer length); with several valid
  plans, the best-matching plan is used (the lowest edit distance, ties to the first).
  Here tool F1 is macro-averaged over tool names (each tool's F1 from its counts summed over episodes,
  then the mean over every tool named in a gold or predicted plan). Calls are matched in order by tool
  name; a gold argument value ``None`` matches any value and counts only for the names; numbers are equal
  within 1e-6.
- tau-bench (Yao et al. 2024, arXiv:2406.12045): ``pass^k = E_task[C(c, k) / C(n, k)]`` for ``c`` successes
  in ``n >= k`` independent trials of a task (the chance that ``k`` trials all succeed).

Example:
    >>> round(normalized_edit_distance(["a", "b", "c"], ["a", "c"]), 4)
    0.3333
    >>> compute_pass_hat_k([[1, 1], [1, 0]], 2)
    0.5
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import pairwise
from math import comb
from typing import Any

import numpy as np

__all__ = [
    "Call",
    "best_plan",
    "compute_pass_hat_k",
    "compute_plan_scores",
    "compute_plan_statistics",
    "evaluate_plans",
    "normalized_edit_distance",
]

_START = "<start>"
Call = tuple[str, Mapping[str, Any]]
"""A tool call: ``(tool name, arguments)``."""


def normalized_edit_distance(a: Sequence[str], b: Sequence[str]) -> float:
    """Levenshtein distance between two sequences over the longer length (0 for two empty ones)."""
    if not a and not b:
        return 0.0
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1] / max(len(a), len(b))


def best_plan(predicted: Sequence[Call], plans: Sequence[Sequence[Call]]) -> Sequence[Call]:
    """The gold plan closest to ``predicted`` by tool-sequence edit distance (ties: the first)."""
    names = [c[0] for c in predicted]
    return min(plans, key=lambda plan: normalized_edit_distance(names, [c[0] for c in plan]))


def _same(a: Any, b: Any) -> bool:
    if (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return abs(float(a) - float(b)) <= 1e-6
    return bool(a == b)


def _argument_counts(predicted: Sequence[Call], gold: Sequence[Call]) -> np.ndarray:
    """``[name_tp, name_pred, name_gold, value_tp, value_pred, value_gold]`` over calls matched by tool."""
    unmatched = list(range(len(gold)))
    out = np.zeros(6)
    for tool, args in predicted:
        out[1] += len(args)
        out[4] += len(args)
        k = next((g for g in unmatched if gold[g][0] == tool), None)
        if k is None:
            continue
        unmatched.remove(k)
        gold_args = gold[k][1]
        out[0] += len(set(args) & set(gold_args))
        fixed = {n: v for n, v in gold_args.items() if v is not None}
        out[4] -= sum(
            1 for n in args if n in gold_args and gold_args[n] is None
        )  # any-value names: not values
        out[3] += sum(1 for n, v in fixed.items() if n in args and _same(args[n], v))
    for _, gold_args in gold:
        out[2] += len(gold_args)
        out[5] += sum(v is not None for v in gold_args.values())
    return out


def compute_plan_statistics(
    predicted: Sequence[Sequence[Call]], plans: Sequence[Sequence[Sequence[Call]]]
) -> dict[str, Any]:
    """Per-episode and summed counts: tool counts by name, argument counts, edges, edit distances."""
    tools: dict[str, np.ndarray] = {}
    arguments = np.zeros(6)
    edges = np.zeros(3)
    distances = []
    for pred, options in zip(predicted, plans, strict=True):
        gold = best_plan(pred, options)
        names_p, names_g = [c[0] for c in pred], [c[0] for c in gold]
        distances.append(normalized_edit_distance(names_p, names_g))
        cp, cg = Counter(names_p), Counter(names_g)
        for name in set(cp) | set(cg):
            tools.setdefault(name, np.zeros(3))
            tools[name] += (min(cp[name], cg[name]), cp[name], cg[name])
        arguments += _argument_counts(pred, gold)
        ep, eg = Counter(pairwise([_START, *names_p])), Counter(pairwise([_START, *names_g]))
        edges += (sum((ep & eg).values()), sum(ep.values()), sum(eg.values()))
    return {"tools": tools, "arguments": arguments, "edges": edges, "edit_distance": np.asarray(distances)}


def _f1(tp: float, n_pred: float, n_gold: float) -> float:
    """F1 from counts; two empty sides agree perfectly (1.0)."""
    return 1.0 if n_pred + n_gold == 0 else 2 * tp / (n_pred + n_gold)


def compute_plan_scores(statistics: Mapping[str, Any]) -> dict[str, float]:
    """Tool macro-F1, argument-name F1, argument-value F1, edge F1 and mean edit distance, all in [0, 1]."""
    tools = statistics["tools"]
    a, e = statistics["arguments"], statistics["edges"]
    return {
        "tool_macro_f1": float(np.mean([_f1(*c) for c in tools.values()])) if tools else 1.0,
        "argument_name_f1": _f1(a[0], a[1], a[2]),
        "argument_value_f1": _f1(a[3], a[4], a[5]),
        "edge_f1": _f1(*e),
        "plan_edit_distance": float(np.mean(statistics["edit_distance"]))
        if len(statistics["edit_distance"])
        else 0.0,
    }


def evaluate_plans(
    predicted: Sequence[Sequence[Call]], plans: Sequence[Sequence[Sequence[Call]]]
) -> dict[str, float]:
    """The plan scores of predicted call sequences against each episode's valid plans."""
    return compute_plan_scores(compute_plan_statistics(predicted, plans))


def compute_pass_hat_k(successes: Sequence[Sequence[float]], k: int) -> float:
    """tau-bench's pass^k: the mean over tasks of ``C(c, k) / C(n, k)`` (``n`` trials, ``c`` successes)."""
    values = []
    for trials in successes:
        n, c = len(trials), int(sum(bool(t) for t in trials))
        if n < k:
            raise ValueError(f"pass^{k} needs at least {k} trials per task, got {n}")
        values.append(comb(c, k) / comb(n, k))
    return float(np.mean(values))
