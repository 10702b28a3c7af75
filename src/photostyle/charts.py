"""Charts as hand-written SVG, and HTML tables, for the report (no plotting library needed).

Every function returns text: a standalone ``<svg>`` document or an HTML fragment/page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

FONT = "font-family='Helvetica, Arial, sans-serif'"
TERM_COLOURS = {
    "content": "#1f77b4",
    "style": "#d62728",
    "photorealism": "#2ca02c",
    "temporal": "#ff7f0e",
    "total": "#222222",
}
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


@dataclass
class Series:
    """One line of a chart."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    colour: str


def ramp(n: int) -> list[str]:
    """``n`` colours from dark purple to yellow (viridis), for series in order (frames)."""
    steps = np.linspace(0, 255, max(n, 1)).round().astype(np.uint8)
    rgb = cv2.applyColorMap(steps[:, None], cv2.COLORMAP_VIRIDIS).reshape(-1, 3)[:, ::-1]
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb[:n]]


def nice_step(span: float, count: int) -> float:
    """A step of 1, 2 or 5 × 10^k that cuts ``span`` into about ``count`` parts."""
    raw = span / max(count, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def linear_ticks(low: float, high: float, count: int = 6, integer: bool = False) -> list[float]:
    """Round tick values covering [low, high] (whole numbers only when ``integer``)."""
    step = nice_step(high - low, count)
    step = max(step, 1.0) if integer else step
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten covering [low, high] (both > 0); with 1-2-5 steps when that is at most two decades."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last == first:
        last += 1
    mantissas = (1, 2, 5) if last - first <= 2 else (1,)
    ticks = [m * 10.0**e for e in range(first, last + 1) for m in mantissas]
    inside = [t for t in ticks if low <= t <= high]
    below = [t for t in ticks if t < low]
    above = [t for t in ticks if t > high]
    return ([below[-1]] if below else []) + inside + ([above[0]] if above else [])


def label(value: float) -> str:
    """A short tick label: 0.001, 20, 1e+06…"""
    return f"{value:.3g}"


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12, extra: str = "") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' text-anchor='{anchor}' font-size='{size}' {FONT} {extra}>"
        f"{html.escape(text)}</text>"
    )


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    log_y: bool = False,
    width: int = 720,
    height: int = 380,
    colour_bar: tuple[str, str] | None = None,
    integer_x: bool = False,
) -> str:
    """Lines of ``series`` on shared axes (log y when asked: non-positive values are left out;
    whole-number x ticks when ``integer_x``),
    with a legend of the series' names, or with ``colour_bar`` (labels of its two ends) a colour bar
    of the series' colours in order, for many series (frames)."""
    points = [
        [(float(x), float(y)) for x, y in zip(s.x, s.y, strict=True) if math.isfinite(y) and (y > 0 or not log_y)]
        for s in series
    ]
    xs = [x for line in points for x, _ in line] or [0.0, 1.0]
    ys = [y for line in points for _, y in line] or [1.0, 10.0]
    left, right, top, bottom = 78, 170, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    x_ticks = linear_ticks(min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1, integer=integer_x)
    x_low, x_high = x_ticks[0], x_ticks[-1]
    if log_y:
        y_ticks = log_ticks(min(ys), max(ys))
        transform = math.log10
    else:
        y_ticks = linear_ticks(min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1)

        def transform(value: float) -> float:
            return value

    y_low, y_high = transform(y_ticks[0]), transform(y_ticks[-1])

    def px(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return top + plot_h - (transform(y) - y_low) / (y_high - y_low) * plot_h

    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        _text(left + plot_w / 2, 20, title, "middle", 15, "font-weight='bold'"),
    ]
    for t in x_ticks:
        x = px(t)
        out.append(f"<line x1='{x:.1f}' y1='{top}' x2='{x:.1f}' y2='{top + plot_h}' stroke='#e4e4e4'/>")
        out.append(_text(x, top + plot_h + 16, label(t), "middle", 11))
    for t in y_ticks:
        y = py(t)
        out.append(f"<line x1='{left}' y1='{y:.1f}' x2='{left + plot_w}' y2='{y:.1f}' stroke='#e4e4e4'/>")
        out.append(_text(left - 6, y + 4, label(t), "end", 11))
    out.append(f"<rect x='{left}' y='{top}' width='{plot_w}' height='{plot_h}' fill='none' stroke='#444'/>")
    out.append(_text(left + plot_w / 2, height - 10, x_label, "middle", 12))
    out.append(_text(16, top + plot_h / 2, y_label, "middle", 12, f"transform='rotate(-90 16 {top + plot_h / 2:.1f})'"))
    for s, line in zip(series, points, strict=True):
        if not line:
            continue
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line)
        name = html.escape(s.name)
        if len(line) == 1:
            x, y = line[0]
            out.append(
                f"<circle cx='{px(x):.1f}' cy='{py(y):.1f}' r='2.5' fill='{s.colour}'><title>{name}</title></circle>"
            )
        else:
            out.append(
                f"<polyline points='{coords}' fill='none' stroke='{s.colour}' stroke-width='1.6'>"
                f"<title>{name}</title></polyline>"
            )
    legend_x = left + plot_w + 16
    if colour_bar is not None and series:
        stops = "".join(
            f"<stop offset='{n / max(len(series) - 1, 1):.3f}' stop-color='{s.colour}'/>" for n, s in enumerate(series)
        )
        out.append(f"<defs><linearGradient id='bar' x1='0' y1='0' x2='0' y2='1'>{stops}</linearGradient></defs>")
        out.append(f"<rect x='{legend_x}' y='{top}' width='16' height='{plot_h}' fill='url(#bar)' stroke='#444'/>")
        out.append(_text(legend_x + 22, top + 10, colour_bar[0], "start", 12))
        out.append(_text(legend_x + 22, top + plot_h, colour_bar[1], "start", 12))
    else:
        for n, s in enumerate(series):
            y = top + 10 + 18 * n
            out.append(
                f"<line x1='{legend_x}' y1='{y}' x2='{legend_x + 22}' y2='{y}' stroke='{s.colour}' stroke-width='3'/>"
            )
            out.append(_text(legend_x + 28, y + 4, s.name, "start", 12))
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, unit: str, width: int = 720) -> str:
    """Horizontal bars, one per label, each with its value written after it."""
    left, right, top, row = 150, 90, 34, 24
    height = top + row * len(labels) + 30
    plot_w = width - left - right
    high = max([v for v in values if math.isfinite(v)] or [1.0]) or 1.0
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        _text(width / 2, 20, title, "middle", 15, "font-weight='bold'"),
    ]
    for n, (name, value) in enumerate(zip(labels, values, strict=True)):
        y = top + n * row
        length = plot_w * value / high if math.isfinite(value) else 0
        out.append(_text(left - 8, y + row / 2 + 4, name, "end", 12))
        out.append(
            f"<rect x='{left}' y='{y + 3}' width='{max(length, 1):.1f}' height='{row - 6}' "
            f"fill='{PALETTE[n % len(PALETTE)]}'/>"
        )
        out.append(_text(left + length + 6, y + row / 2 + 4, f"{value:.3g} {unit}", "start", 12))
    out.append(f"<line x1='{left}' y1='{top}' x2='{left}' y2='{top + row * len(labels)}' stroke='#444'/>")
    out.append("</svg>")
    return "\n".join(out)


def vertical(documents: Sequence[str], width: int) -> str:
    """SVG documents (from the functions above) one below the other in one document."""
    heights = [int(d.split("height='", 1)[1].split("'", 1)[0]) for d in documents]
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{sum(heights)}' "
        f"viewBox='0 0 {width} {sum(heights)}'>"
    ]
    y = 0
    for document, height in zip(documents, heights, strict=True):
        out.append(document.replace("<svg ", f"<svg x='0' y='{y}' ", 1))
        y += height
    out.append("</svg>")
    return "\n".join(out)


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


def loss_curves(histories: dict[int, Sequence[dict]], detail: Sequence[int] = ()) -> str:
    """The optimisation of a clip: the total loss of every frame against the evaluation (log
    scale, frames coloured in order), then each loss term of the frames in ``detail``. A history
    is the list of records of ``photostyle.stylize`` (terms, 'total', 'scale', 'seconds')."""
    frames = sorted(histories)
    colours = ramp(len(frames))
    totals = [
        Series(f"frame {i}", range(1, len(histories[i]) + 1), [r["total"] for r in histories[i]], colour)
        for i, colour in zip(frames, colours, strict=True)
    ]
    charts = [
        line_chart(
            totals,
            title="Total loss of every frame",
            x_label="evaluation of the objective (L-BFGS iteration)",
            y_label="total loss",
            log_y=True,
            integer_x=True,
            colour_bar=(f"frame {frames[0]}", f"frame {frames[-1]}") if len(frames) > 8 else None,
        )
    ]
    for i in detail:
        history = histories[i]
        terms = [k for k in history[0] if k not in ("scale", "seconds")]
        series = [
            Series(
                term,
                range(1, len(history) + 1),
                [r[term] for r in history],
                TERM_COLOURS.get(term, PALETTE[n % len(PALETTE)]),
            )
            for n, term in enumerate(terms)
        ]
        seconds = history[-1]["seconds"]
        charts.append(
            line_chart(
                series,
                title=f"Loss terms of frame {i} ({len(history)} evaluations, {seconds:.1f} s)",
                x_label="evaluation of the objective (L-BFGS iteration)",
                y_label="weighted term",
                log_y=True,
                integer_x=True,
                height=320,
            )
        )
    return vertical(charts, 720)
