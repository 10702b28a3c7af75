"""The report's page of a run's figures (``metrics.json``: ``clip_metrics`` and ``stage_times``) and
its chart of the time per rule; the small HTML helpers (a table, a standalone page) it is made of."""

from __future__ import annotations

import html
from collections.abc import Sequence

from photostyle import charts


def table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1) -> str:
    """An HTML table; numbers are written with 4 significant digits and right-aligned from column
    ``numeric_from`` on."""

    def cell(value: object, n: int) -> str:
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        css = " class='num'" if n >= numeric_from else ""
        return f"<td{css}>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(v, n) for n, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


PAGE_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; font-size: 14px; color: #222; margin: 16px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 22px; }
table { border-collapse: collapse; margin: 6px 0 4px 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
p.note { color: #555; max-width: 860px; margin: 4px 0; }
.warning { background: #fff3cd; border: 1px solid #e0b400; padding: 8px 12px; max-width: 860px; }
"""


def page(title: str, body: str) -> str:
    """A standalone HTML page with a small style sheet."""
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{PAGE_STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _value(value: float | None, digits: str = ".4g") -> str:
    return "–" if value is None else format(value, digits)


def metrics_page(metrics: dict) -> str:
    """The HTML page of the report that shows ``metrics`` (the content of metrics.json)."""
    temporal, style, time = metrics["temporal"], metrics["style"], metrics["time"]
    body = []
    features = html.escape(metrics["features"])
    if metrics["random_weights"]:
        body.append(f"<p class='warning'><b>{features}</b>: these figures describe the pipeline, not the method.</p>")
    else:
        body.append(f"<p>Features: {features}.</p>")
    warping, flicker = temporal["warping_error"], temporal["flicker"]
    body.append("<h2>Temporal consistency</h2>")
    body.append(
        table(
            ["figure", "stylised", "input", "stylised vs input"],
            [
                [
                    "warping error (Lai et al.)",
                    _value(warping["output"]),
                    _value(warping["input"]),
                    f"× {_value(warping['ratio'], '.3g')}",
                ],
                [
                    "flicker: mean |change| on reliable pixels (0-255)",
                    _value(flicker["output"]),
                    _value(flicker["input"]),
                    f"{_value(flicker['excess'], '+.3g')} levels",
                ],
            ],
        )
    )
    body.append(
        f"<p class='note'>{temporal['pairs']} pairs of frames (i − 1, i), {temporal.get('shot_cuts', 0)} across shot "
        "cuts left out; flows between input frames, occlusions "
        f"from the consistency check ({_value(temporal['reliable_share'], '.1%')} of the pixels reliable on "
        "average). Lower is steadier; a stylised clip as steady as its input has a ratio near 1 and a flicker "
        "excess near 0.</p>"
    )
    scored = metrics.get("frames_scored", metrics["frames"])
    body.append(f"<h2>Photorealism and structure ({scored} of {metrics['frames']} frames)</h2>")
    body.append(
        table(
            ["figure", "value", "best"],
            [
                ["local affine residual (0-255)", _value(metrics["photorealism"]["affine_residual"]), "0"],
                ["SSIM of the luminance, output vs input (mean)", _value(metrics["structure"]["ssim"]), "1"],
                ["SSIM of the luminance (worst frame)", _value(metrics["structure"]["ssim_min"]), "1"],
            ],
        )
    )
    body.append(
        "<p class='note'>The residual is how far each 3×3 window of the output is from an affine colour map of the "
        "same window of the input (what the photorealism loss asks for); SSIM compares the structure of the "
        "luminance (edges, texture), not the colours.</p>"
    )
    body.append(f"<h2>Style per class ({scored} of {metrics['frames']} frames)</h2>")
    rows = [
        [name, f"{100 * c['share']:.1f} %", _value(c["output"]), _value(c["input"])]
        for name, c in style["classes"].items()
    ]
    rows.append(["all (weighted by share)", "100 %", _value(style["output"]), _value(style["input"])])
    body.append(table(["class", "share of the frames", "stylised → reference", "input → reference"], rows))
    body.append(
        "<p class='note'>Distance of the Lab colour statistics of each class to the same class of the reference: "
        "‖μ − μ<sub>ref</sub>‖ + ‖Σ − Σ<sub>ref</sub>‖<sub>F</sub><sup>1/2</sup> (Lab units, lower is closer). "
        "The input column is the starting point.</p>"
    )
    body.append("<h2>Time per stage</h2>")
    rows = [
        [rule, s["jobs"], s["measured"], s["seconds"], _value(s["max_rss_mb"], ".0f")]
        for rule, s in time["stages"].items()
    ]
    rows.append(["total", sum(s["jobs"] for s in time["stages"].values()), "", time["total_seconds"], ""])
    body.append(table(["rule", "jobs", "measured", "seconds (sum)", "peak memory (MB)"], rows))
    body.append(
        "<p class='note'>Seconds of every job of the rule added up (jobs running in parallel overlap in wall-clock "
        "time), from Snakemake's benchmark files; the report's own rules are not included.</p>"
    )
    return page(f"Metrics of run {metrics['run']} ({metrics['frames']} frames)", "\n".join(body))


def times_chart(metrics: dict) -> str:
    """SVG bar chart of the seconds per rule (matplotlib, ``charts.bar_chart``)."""
    stages = metrics["time"]["stages"]
    return charts.bar_chart(
        list(stages),
        [s["seconds"] for s in stages.values()],
        title=f"Time per rule, run {metrics['run']}",
        unit="s",
        axis_label="seconds (sum over the rule's jobs)",
    )
