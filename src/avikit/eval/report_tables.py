"""Tables of the report, as Markdown (``results.md``) and as HTML (``report.html``).

Example:
    >>> print(markdown_table(["a", "b"], [["1", "2"]]))
    | a | b |
    |---|---|
    | 1 | 2 |
    >>> html_table(["a"], [["<1>"]])
    '<table><tr><th>a</th></tr><tr><td>&lt;1&gt;</td></tr></table>'
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["html_table", "markdown_table"]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """An HTML table (every cell escaped)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    attribute = f' class="{css}"' if css else ""
    return f"<table{attribute}><tr>{head}</tr>{body}</table>"
