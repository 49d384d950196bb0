"""The domain tokenizer study's report: markdown tables, rate-distortion SVGs and a plain conclusion.

:func:`write_domain_report` writes ``domain_study.json`` (the results file; :func:`render_domain_report`
re-renders the report from it), ``domain_study.md``, ``report.html`` (the same tables and every plot inline,
one self-contained file) and ``domain_study_<domain>_<metric>.svg`` (bitrate on a
log axis against the score, one line per tokenizer, the 95% interval over clips as a bar at each point,
dashed lines for the original audio and white noise) for the result of
:func:`avikit.studies.domain_tokenizer_study.run_domain_tokenizer_study`.
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from avikit.metrics.bootstrap import compute_bootstrap_ci

__all__ = [
    "METRICS",
    "conclusion",
    "metrics_of",
    "render_domain_html",
    "render_domain_markdown",
    "render_domain_report",
    "render_rate_svg",
    "setup_text",
    "write_domain_report",
]

METRICS = {
    "mel_distance": ("mel distance", False),
    "si_sdr": ("SI-SDR dB", True),
    "pesq": ("PESQ", True),
    "stoi": ("STOI", True),
    "wer": ("WER (Whisper tiny.en)", False),
    "dnsmos_ovrl": ("DNSMOS overall", True),
    "pitch_accuracy": ("pitch accuracy (CREPE)", True),
    "onset_f1": ("onset F1", True),
}
"""Metric key -> (label, higher is better)."""

PRIMARY = {"speech": "wer", "music": "pitch_accuracy", "effects": "mel_distance", "mixture": "mel_distance"}
"""The judge each domain's conclusion is drawn from."""

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22")


def _cell(score: dict[str, Any] | None, digits: int = 3) -> str:
    if score is None:
        return "-"
    return f"{score['mean']:.{digits}f} [{score['low']:.{digits}f}, {score['high']:.{digits}f}]"


def metrics_of(rows: list[dict[str, Any]]) -> list[str]:
    """The metrics (keys of :data:`METRICS`, in its order) that some of ``rows`` score."""
    present = {m for r in rows for m in r["scores"]}
    return [m for m in METRICS if m in present]


def render_domain_markdown(result: dict[str, Any]) -> str:
    """A table per domain (tokenizers, references), the paired comparison, alignment, costs, conclusion."""
    lines: list[str] = []
    for domain in result["config"]["domains"]:
        rows = [r for r in result["rows"] if r["domain"] == domain]
        metrics = metrics_of(rows)
        lines += [
            f"### {domain} ({len(rows[0]['scores']['mel_distance']['per_clip']) if rows else 0} test clips)",
            "",
            "| tokenizer | trained on | codes/s | Q | bit/s | "
            + " | ".join(f"{METRICS[m][0]} {'↑' if METRICS[m][1] else '↓'}" for m in metrics)
            + " |",
            "|" + "---|" * (5 + len(metrics)),
        ]
        for r in rows:
            cells = [_cell(r["scores"].get(m), 1 if m == "si_sdr" else 3) for m in metrics]
            lines.append(
                f"| {r['kind']} | {r['trained_on']} | {r['rate']} | {r['num_codebooks']} | "
                f"{r['bitrate']:.0f} | " + " | ".join(cells) + " |"
            )
        references = result["references"].get(domain, {})
        for name in ("original", "noise", "silence"):
            scores = references.get(name, {})
            if name == "original":
                scores = {**scores, "mel_distance": {"mean": 0.0, "low": 0.0, "high": 0.0}}
            cells = [_cell(scores.get(m), 1 if m == "si_sdr" else 3) for m in metrics]
            lines.append(f"| {name} audio | - | - | - | - | " + " | ".join(cells) + " |")
        ceiling = result.get("vocoder_ceiling", {}).get(domain)
        if ceiling:
            cells = [_cell(ceiling.get(m), 1 if m == "si_sdr" else 3) for m in metrics]
            lines.append("| mel → vocoder, unquantized | - | - | - | - | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(
        lines
        + _paired_lines(result)
        + _alignment_lines(result)
        + _cost_lines(result)
        + ["**Conclusion.** " + conclusion(result), ""]
    )


def _paired_lines(result: dict[str, Any]) -> list[str]:
    paired = [
        p for p in result["paired"] if p["metric"] in ("mel_distance", "onset_f1", "dnsmos_ovrl", "stoi")
    ]
    if not paired:
        return []
    lines = [
        "Mixture-trained minus domain-trained (same kind, rate and Q; mean over clips, paired 95% CI):",
        "",
        "| domain | kind | codes/s | Q | metric | mixture − domain [95% CI] |",
        "|---|---|---|---|---|---|",
    ]
    for p in paired:
        lines.append(
            f"| {p['domain']} | {p['kind']} | {p['rate']} | {p['num_codebooks']} | {METRICS[p['metric']][0]} "
            f"| {p['mixture_minus_domain']:.3f} [{p['low']:.3f}, {p['high']:.3f}] |"
        )
    return [*lines, ""]


def _alignment_lines(result: dict[str, Any]) -> list[str]:
    if not result.get("alignment"):
        return []
    first = next(iter(result["alignment"].values()))
    retrieval, v2a_ref = first["retrieval"], first["v2a_baselines"]
    lines = [
        f"Cross-modal alignment on AVSynth (A→V retrieval among {retrieval['num_clips']:.0f} test clips from "
        "tokens; MaskGIT V2A over the first codes):",
        "",
        "| tokenizer (mixture-trained) | A→V R@1 [95% CI] ↑ | A→V mean rank [95% CI] ↓ | V2A mel distance ↓ "
        "| V2A alignment ↑ | V2A DeSync s ↓ |",
        "|---|---|---|---|---|---|",
    ]
    rows = list(result["alignment"].items())
    if result.get("log_mel_retrieval"):
        rows.append(("log-mel (continuous, probe)", {"retrieval": result["log_mel_retrieval"]}))
    for name, entry in rows:
        r, v = entry["retrieval"], entry.get("v2a")
        v2a = f"{v['mel_distance']:.3f} | {v['alignment']:.3f} | {v['desync']:.3f}" if v else "- | - | -"
        lines.append(
            f"| {name} | {r['r1']:.3f} [{r['r1_low']:.3f}, {r['r1_high']:.3f}] | "
            f"{r['mean_rank']:.1f} [{r['mean_rank_low']:.1f}, {r['mean_rank_high']:.1f}] | {v2a} |"
        )
    for name in ("retrieval", "reference"):
        v = v2a_ref[name]
        label = "V2A retrieval baseline" if name == "retrieval" else "real audio"
        lines.append(
            f"| {label} | - | - | {v['mel_distance']:.3f} | {v['alignment']:.3f} | {v['desync']:.3f} |"
        )
    lines.append(
        f"| chance | {retrieval['chance_r1']:.3f} | {retrieval['chance_mean_rank']:.1f} | - | - | - |"
    )
    return [*lines, ""]


def _cost_lines(result: dict[str, Any]) -> list[str]:
    lines = [
        "Costs on this CPU (one thread; training seconds, real-time factors = seconds per second of audio):",
        "",
        "| tokenizer | trainable parameters | train s | encode RTF | decode RTF |",
        "|---|---|---|---|---|",
    ]
    for name, t in result["tokenizers"].items():
        lines.append(
            f"| {name} | {t['parameters']:,} | {t['seconds']:.0f} | {t['encode_rtf']:.4f} | "
            f"{t['decode_rtf']:.4f} |"
        )
    costs = result["costs"]
    judges = ", ".join(f"{k} {v:.2f} s" for k, v in costs["judge_seconds_per_clip"].items())
    load = ", ".join(f"{x:.1f}" for x in costs["load_average"])
    return [
        *lines,
        "",
        f"Judge seconds per clip: {judges}. Corpus preparation {costs['corpus_seconds']:.0f} s; "
        f"whole study {result['seconds']:.0f} s; load average at the end {load} (a shared machine).",
        "",
    ]


def _per_clip(result: dict[str, Any], metric: str, **keys: Any) -> tuple[dict[str, Any], np.ndarray] | None:
    for r in result["rows"]:
        if all(r[k] == v for k, v in keys.items()) and metric in r["scores"]:
            return r, np.asarray(r["scores"][metric]["per_clip"])
    return None


def conclusion(result: dict[str, Any]) -> str:
    """A plain-language conclusion drawn from the numbers (which granularity serves which domain)."""
    sentences = []
    config = result["config"]
    top = config["train"]["num_codebooks"]
    for domain in config["domains"]:
        metric = PRIMARY[domain]
        label, higher = METRICS[metric]
        rows = [
            r
            for r in result["rows"]
            if r["domain"] == domain
            and metric in r["scores"]
            and r["trained_on"] == "mixture"
            and r["num_codebooks"] == top
        ]
        if not rows:
            continue
        best = (max if higher else min)(rows, key=lambda r: r["scores"][metric]["mean"])
        value = best["scores"][metric]["mean"]
        tied = [f"{r['kind']} at {r['rate']}" for r in rows if r["scores"][metric]["mean"] == value]
        if len(tied) > 1:  # equal means (e.g. every transcript wrong): no tokenizer is singled out
            text = f"{domain}: at {top} codebooks, by {label}, {', '.join(tied)} codes/s tie at {value:.3f}"
        else:
            text = (
                f"{domain}: at {top} codebooks the best mixture-trained tokenizer by {label} is "
                f"{best['kind']} at {best['rate']} codes/s ({value:.3f})"
            )
        original = result["references"].get(domain, {}).get("original", {}).get(metric)
        if original:
            text += f", against {original['mean']:.3f} on the original audio"
        sentences.append(text + ". " + _equal_bitrate(result, domain, metric))
    return " ".join(sentences) + " " + _alignment_sentence(result)


def _equal_bitrate(result: dict[str, Any], domain: str, metric: str) -> str:
    """64 codes/s with 1 codebook against 16 codes/s with 4 (one bitrate), per kind, paired over clips."""
    label, higher = METRICS[metric]
    parts = []
    for kind in result["config"]["kinds"]:
        same = {"domain": domain, "kind": kind, "trained_on": "mixture"}
        fine = _per_clip(result, metric, rate=64, num_codebooks=1, **same)
        coarse = _per_clip(result, metric, rate=16, num_codebooks=4, **same)
        if fine is None or coarse is None:
            continue
        difference = fine[1] - coarse[1]
        low, high = compute_bootstrap_ci(difference, seed=0)
        if low > 0 or high < 0:
            better = "64/s×1" if (difference.mean() > 0) == higher else "16/s×4"
            parts.append(
                f"{kind} {better} is better (per-clip difference {difference.mean():.3f} "
                f"[{low:.3f}, {high:.3f}])"
            )
        else:
            parts.append(f"{kind} no clear difference ({difference.mean():.3f} [{low:.3f}, {high:.3f}])")
    if not parts:
        return ""
    bits = 64 * math.log2(result["config"]["train"]["codebook_size"])
    return (
        f"At an equal {bits:.0f} bit/s (64 codes/s with one codebook against 16 codes/s with four), "
        f"by {label}: " + "; ".join(parts) + "."
    )


def _alignment_sentence(result: dict[str, Any]) -> str:
    alignment = result.get("alignment") or {}
    parts = []
    for kind in result["config"]["kinds"]:
        fine, coarse = alignment.get(f"{kind}-64-mixture"), alignment.get(f"{kind}-16-mixture")
        if fine and coarse:
            parts.append(
                f"{kind}: R@1 {fine['retrieval']['r1']:.3f} at 64/s vs {coarse['retrieval']['r1']:.3f} at "
                f"16/s, V2A alignment {fine['v2a']['alignment']:.3f} vs {coarse['v2a']['alignment']:.3f}"
            )
    return ("Alignment from tokens: " + "; ".join(parts) + ".") if parts else ""


def render_rate_svg(result: dict[str, Any], domain: str, metric: str) -> str:
    """Bitrate (log) against ``metric`` of ``domain``: a line per tokenizer, interval bars, references."""
    rows = [r for r in result["rows"] if r["domain"] == domain and metric in r["scores"]]
    width, height, left = 560, 360, 60
    guides = {
        name: scores[metric]["mean"]
        for name, scores in result["references"].get(domain, {}).items()
        if metric in scores
    }
    values = [v for r in rows for v in (r["scores"][metric]["low"], r["scores"][metric]["high"])]
    values += list(guides.values())
    finite = [v for v in values if math.isfinite(v)] or [0.0, 1.0]
    x0, x1 = math.log10(min(r["bitrate"] for r in rows)), math.log10(max(r["bitrate"] for r in rows)) + 1e-9
    y0, y1 = min(finite), max(finite) + 1e-9

    def at(bits: float, value: float) -> tuple[float, float]:
        x = left + (math.log10(bits) - x0) / (x1 - x0 if x1 > x0 else 1) * (width - left - 180)
        clipped = min(max(value, y0), y1)
        return x, height - 40 - (clipped - y0) / (y1 - y0) * (height - 70)

    label, higher = METRICS[metric]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="11">',
        f'<text x="{left}" y="14">{domain}: {label} ({"higher" if higher else "lower"} is better; '
        f"{y0:.2f}..{y1:.2f})</text>",
        f'<text x="{left + 100}" y="{height - 8}">bitrate (bit/s, log scale)</text>',
    ]
    for name, value in guides.items():
        _, y = at(10**x0, value)
        parts.append(
            f'<line x1="{left}" x2="{width - 180}" y1="{y:.1f}" y2="{y:.1f}" stroke="#888" '
            f'stroke-dasharray="4 3"/><text x="{left + 4}" y="{y - 3:.1f}" fill="#888">{name}</text>'
        )
    names = list(dict.fromkeys(r["tokenizer"] for r in rows))
    for index, name in enumerate(names):
        colour = _COLOURS[index % len(_COLOURS)]
        mine = sorted((r for r in rows if r["tokenizer"] == name), key=lambda r: r["bitrate"])
        points = [at(r["bitrate"], r["scores"][metric]["mean"]) for r in mine]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            + '"/>'
        )
        for r, (x, y) in zip(mine, points, strict=True):
            _, low = at(r["bitrate"], r["scores"][metric]["low"])
            _, high = at(r["bitrate"], r["scores"][metric]["high"])
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{low:.1f}" y2="{high:.1f}" stroke="{colour}"/>'
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>'
            )
        parts.append(f'<text x="{width - 170}" y="{34 + 14 * index}" fill="{colour}">{name}</text>')
    return "\n".join([*parts, "</svg>"]) + "\n"


def setup_text(result: dict[str, Any]) -> str:
    """One paragraph saying what the run was: corpus sizes, the tokenizer grid, training and judges."""
    config, train = result["config"], result["config"]["train"]
    align = config["align"]
    judged = ", ".join(str(q) for q in config["judged_codebooks"])
    grid = (
        f"{', '.join(config['kinds'])} at {', '.join(str(r) for r in config['rates'])} codes/s trained on "
        f"the mixture, and at {', '.join(str(r) for r in config['per_domain_rates'])} codes/s on each of "
        f"{', '.join(d for d in config['domains'] if d != 'mixture')} alone"
    )
    judges = (
        f"(Whisper tiny.en, DNSMOS, CREPE {config['crepe_model']}) Q = {judged}"
        if config["neural"]
        else "off"
    )
    text = (
        f"Corpus `audio-domains` (seed {config['seed']}): {config['train_clips']} training and "
        f"{config['test_clips']} test clips of {config['seconds']} s per domain. Tokenizers: {grid}; "
        f"{train['num_codebooks']} codebooks of {train['codebook_size']} entries each (scored with the first "
        f"Q = 1..{train['num_codebooks']}), {train['steps']} steps of {train['batch_size']} crops of "
        f"{train['crop_samples']} samples. Signal metrics score every Q, the neural judges {judges}. "
        "Intervals: 95% bootstrap over the test clips."
    )
    if config["alignment"]:
        text += (
            f" Alignment: AVSynth, retrieval probe fit on {align['num_train']} clips ({align['probe_steps']} "
            f"steps) and queried among {align['num_test']}, V2A trained {align['v2a_steps']} steps over the "
            f"first {align['v2a_codebooks']} codebooks and sampled for {align['v2a_test']} clips."
        )
    return text


def _markdown_html(markdown: str) -> list[str]:
    """The report's markdown (headings, pipe tables, paragraphs) as HTML."""
    out: list[str] = []
    table: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if not all(set(c) <= {"-"} for c in cells):
                table.append(cells)
            continue
        if table:
            head, *body = table
            out.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body]
            out.append("</table>")
            table = []
        if line.startswith("### "):
            out.append(f"<h2>{html.escape(line[4:])}</h2>")
        elif line.strip():
            text = html.escape(line).replace("**", "")
            out.append(f"<p>{text}</p>")
    return out


def render_domain_html(result: dict[str, Any]) -> str:
    """``report.html``: set-up, tables, conclusion and every rate-distortion plot inline (one file)."""
    svgs = [
        render_rate_svg(result, domain, metric)
        for domain in result["config"]["domains"]
        for metric in metrics_of([r for r in result["rows"] if r["domain"] == domain])
    ]
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;"
        "font-size:12px;margin:8px 0}td,th{border:1px solid #ccc;padding:2px 6px}svg{margin:4px}"
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html><head><meta charset="utf-8"><title>Domain tokenizer study</title>',
            f"<style>{style}</style></head><body>",
            "<h1>Audio tokenizers across speech, music and effects</h1>",
            f"<p>{html.escape(setup_text(result))}</p>",
            *_markdown_html(render_domain_markdown(result)),
            "<h2>Rate-distortion plots</h2>",
            *svgs,
            "</body></html>",
        ]
    )


def write_domain_report(out: Path, result: dict[str, Any], write_json: bool = True) -> list[Path]:
    """Write ``domain_study.json`` (unless ``write_json`` is false), the markdown, the HTML and the SVGs."""
    written = []
    if write_json:
        (out / "domain_study.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        written.append(out / "domain_study.json")
    (out / "domain_study.md").write_text(render_domain_markdown(result), encoding="utf-8")
    (out / "report.html").write_text(render_domain_html(result), encoding="utf-8")
    written += [out / "domain_study.md", out / "report.html"]
    for domain in result["config"]["domains"]:
        for metric in metrics_of([r for r in result["rows"] if r["domain"] == domain]):
            path = out / f"domain_study_{domain}_{metric}.svg"
            path.write_text(render_rate_svg(result, domain, metric), encoding="utf-8")
            written.append(path)
    return written


def render_domain_report(results_file: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Re-render the markdown and SVGs from a ``domain_study.json`` into ``out_dir``."""
    result = json.loads(Path(results_file).read_text(encoding="utf-8"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_domain_report(out, result, write_json=False)
