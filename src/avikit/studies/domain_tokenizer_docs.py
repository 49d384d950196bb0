r"""The domain tokenizer study's section of a results page, rendered from its results file alone.

:func:`results_section` is the markdown between the markers :data:`BEGIN` and :data:`END`: the set-up the run
had (:func:`~avikit.studies.domain_tokenizer_report.setup_text`), the tables and conclusion of
:func:`~avikit.studies.domain_tokenizer_report.render_domain_markdown` and links to the plots.
:func:`update_results_page` writes it into a page such as ``benchmarks/RESULTS.md``
(``avikit tokenizers report RESULTS --results-md PAGE``), so a test can keep the page equal to the file.

Example:
    >>> page = f"# Results\n{BEGIN}\nold\n{END}\nreading\n"
    >>> print(replace_section(page, "new\n"), end="")
    # Results
    new
    reading
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from avikit.errors import DataError, InputFileError
from avikit.studies.domain_tokenizer_report import metrics_of, render_domain_markdown, setup_text

__all__ = [
    "BEGIN",
    "END",
    "replace_section",
    "results_section",
    "update_results_page",
]

BEGIN = (
    "<!-- BEGIN domain tokenizer study: generated from its results file by "
    "`avikit tokenizers report RESULTS --results-md PAGE`; do not edit by hand -->"
)
"""First line of the generated section."""
END = "<!-- END domain tokenizer study -->"
"""Last line of the generated section."""


def results_section(result: dict[str, Any], plots: str | None = None) -> str:
    """The generated section of a results page, markers included.

    Args:
        result: the content of ``domain_study.json``.
        plots: the folder of the SVGs relative to the page (a line of links to them), or none.
    """
    lines = [BEGIN, "", setup_text(result), "", render_domain_markdown(result).rstrip("\n"), ""]
    if plots is not None:
        links = [
            f"[{domain} {metric}]({plots}/domain_study_{domain}_{metric}.svg)"
            for domain in result["config"]["domains"]
            for metric in metrics_of([r for r in result["rows"] if r["domain"] == domain])
        ]
        lines += ["Rate-distortion plots: " + ", ".join(links) + ".", ""]
    return "\n".join([*lines, END]) + "\n"


def replace_section(page: str, section: str) -> str:
    """``page`` with the text from :data:`BEGIN` through :data:`END` replaced by ``section``.

    Raises:
        DataError: the page lacks the markers, or has them out of order or more than once.
    """
    start, stop = page.find(BEGIN), page.find(END)
    if start < 0 or stop < start or page.count(BEGIN) != 1 or page.count(END) != 1:
        raise DataError(f"the page needs one line {BEGIN!r} and after it one line {END!r}; add them")
    tail = stop + len(END) + (1 if page[stop + len(END) : stop + len(END) + 1] == "\n" else 0)
    return page[:start] + section + page[tail:]


def update_results_page(
    page: str | os.PathLike[str], result: dict[str, Any], plots: str | None = None
) -> Path:
    """Write :func:`results_section` of ``result`` into the results page ``page`` between its markers.

    Raises:
        InputFileError: ``page`` does not exist.
        DataError: ``page`` lacks the markers (:func:`replace_section`).
    """
    path = Path(page)
    if not path.is_file():
        raise InputFileError(
            f"{path} not found; give the results page to update (e.g. benchmarks/RESULTS.md)"
        )
    text = path.read_text(encoding="utf-8")
    path.write_text(replace_section(text, results_section(result, plots)), encoding="utf-8")
    return path
