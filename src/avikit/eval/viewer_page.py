"""The per-sample viewer's page: HTML, CSS and a small script, no library and nothing fetched.

The data (:func:`avikit.eval.viewer.viewer_data`) sits in a ``<script type="application/json">`` element;
the script fills the task, model and condition menus, lists the cell's samples worst first and draws the
selected one: the player, a time axis with ticks holding the waveform, the spectrogram and the segment lanes,
a playhead that follows the clip, click-to-seek, overlays with show/hide boxes, and the questions; for
episodes the outcome, a step axis (with rewards) and the step table, a step click seeking the clip; for
streams the emissions and latencies on the time axis, a status legend and a latency-by-onset chart.

Example:
    >>> page = viewer_page('{"cells": [], "media": {}}')
    >>> page.startswith("<!DOCTYPE html>") and 'id="viewer-data"' in page and 'src="http' not in page
    True
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["viewer_page"]

_ASSETS = files("avikit.eval") / "viewer_assets"


def viewer_page(data_json: str) -> str:
    """The page around ``data_json`` (already safe inside a script element: ``</`` escaped)."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>avikit per-sample viewer</title>"
        f"<style>{(_ASSETS / 'viewer.css').read_text(encoding='utf-8')}</style></head><body><header>"
        "<label>task <select id='task'></select></label><label>model <select id='model'></select></label>"
        "<label>condition <select id='condition'></select></label><a href='report.html'>report</a>"
        "<div id='summary'></div></header><main><ul id='samples'></ul><section id='detail'></section></main>"
        f'<script type="application/json" id="viewer-data">{data_json}</script>'
        f"<script>{(_ASSETS / 'viewer.js').read_text(encoding='utf-8')}</script></body></html>\n"
    )
