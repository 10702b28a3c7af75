"""The report's charts, drawn with matplotlib and written as SVG text: the loss curves of a clip's
optimisation and a bar chart (the time per rule, ``report_page.times_chart``).

Figures are built with ``matplotlib.figure.Figure`` directly, never through ``pyplot``: no GUI
backend is ever selected, so this works headless (SLURM nodes). ``svg`` writes a figure with a
fixed ``svg.hashsalt`` and without a date, so a rerun writes the same bytes. Text stays text in
the SVG (``svg.fonttype: none``): titles and labels are searchable, the files small.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, MaxNLocator

TERM_COLOURS = {
    "content": "#1f77b4",
    "style": "#d62728",
    "photorealism": "#2ca02c",
    "temporal": "#ff7f0e",
    "total": "#222222",
}
# Frames are coloured in order, dark purple (first) to yellow (last); more than this many get a
# colour bar instead of a legend entry each.
FRAME_COLOURS = "viridis"
MAX_LEGEND_FRAMES = 8
STYLE = {
    "svg.hashsalt": "photostyle",  # ids of clip paths etc. from a fixed salt: the same SVG on every run
    "svg.fonttype": "none",
    "font.size": 10,
    "axes.grid": True,
    "axes.axisbelow": True,  # grid lines behind the bars
    "grid.color": "#e4e4e4",
}
SAVE = {"bbox_inches": "tight", "pad_inches": 0.1}  # grown to whatever sticks out (legends beside the axes)
EVALUATION = "evaluation of the objective (L-BFGS iteration)"


def svg(figure: Figure) -> str:
    """The figure as a standalone SVG document, the same text for the same figure on every run."""
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        _settle_layout(figure)
        figure.savefig(buffer, format="svg", metadata={"Date": None}, **SAVE)
    return buffer.getvalue()


def _settle_layout(figure: Figure, decimals: int = 9) -> None:
    """Solve the figure's constrained layout once, then fix every axes at its position rounded to
    ``decimals`` (figure fraction) and drop the layout engine. The solver (kiwisolver) can end a
    few ulps apart from one process to the next; the SVG names each clip path after a hash of its
    rectangle at full precision, so without this the same chart got other clip-path ids now and
    then (seen in the kill-and-resume test, 2026-12-02)."""
    figure.draw_without_rendering()
    for axes in figure.axes:
        axes.set_position([round(value, decimals) for value in axes.get_position().bounds])
    figure.set_layout_engine("none")


class _PlainLog(LogFormatter):
    """Labels of a log axis as plain numbers (0.001, 20, 1e+06) on the ticks matplotlib would label."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:.3g}" if super().__call__(x, pos) else ""


def _figure(width: float, height: float) -> Figure:
    """An empty figure (inches) laid out so that titles, labels and legends fit."""
    return Figure(figsize=(width, height), layout="constrained")


def _line(axes, y: Sequence[float], **style) -> None:
    """One line of a log axis over the evaluations 1, 2, …: values a log axis cannot show
    (non-finite, non-positive) are gaps; a lone point gets a marker (a line needs two)."""
    shown = [v if math.isfinite(v) and v > 0 else math.nan for v in map(float, y)]
    axes.plot(range(1, len(y) + 1), shown, marker="o" if len(y) == 1 else None, linewidth=1.6, **style)


def loss_figure(histories: dict[int, Sequence[dict]], detail: Sequence[int] = ()) -> Figure:
    """The optimisation of a clip: the total loss of every frame against the evaluation (log
    scale, frames coloured in order), then one panel with each loss term of every frame in
    ``detail``. A history is the list of records of ``photostyle.stylize`` (terms, 'total',
    'scale', 'seconds'). Each line's SVG group id names it: ``total-frame-{i}`` (top),
    ``frame-{i}-{term}`` (below)."""
    frames = sorted(histories)
    with matplotlib.rc_context(STYLE):
        figure = _figure(10, 4.6 + 3.8 * len(detail))
        panels = figure.subplots(1 + len(detail), 1, squeeze=False, height_ratios=[4.6] + [3.8] * len(detail))[:, 0]
        top = panels[0]
        colours = matplotlib.colormaps[FRAME_COLOURS]
        scale = Normalize(frames[0], max(frames[-1], frames[0] + 1)) if frames else Normalize(0, 1)
        for i in frames:
            _line(
                top,
                [r["total"] for r in histories[i]],
                color=colours(scale(i)),
                label=f"frame {i}",
                gid=f"total-frame-{i}",
            )
        top.set_title("Total loss of every frame", fontweight="bold")
        top.set_ylabel("total loss")
        if len(frames) > MAX_LEGEND_FRAMES:
            bar = figure.colorbar(ScalarMappable(scale, colours), ax=top, label="frame", pad=0.01)
            bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        elif frames:
            top.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        for axes, i in zip(panels[1:], detail, strict=True):
            history = histories[i]
            terms = [k for k in history[0] if k not in ("scale", "seconds")]
            for n, term in enumerate(terms):
                colour = TERM_COLOURS.get(term, f"C{n % 10}")
                _line(axes, [r[term] for r in history], color=colour, label=term, gid=f"frame-{i}-{term}")
            seconds = history[-1]["seconds"]
            axes.set_title(f"Loss terms of frame {i} ({len(history)} evaluations, {seconds:.1f} s)", fontweight="bold")
            axes.set_ylabel("weighted term")
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        for axes in panels:
            axes.set_yscale("log", nonpositive="mask")
            axes.yaxis.set_major_formatter(_PlainLog())
            axes.yaxis.set_minor_formatter(_PlainLog(labelOnlyBase=False))
            axes.set_xlabel(EVALUATION)
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return figure


def loss_curves(histories: dict[int, Sequence[dict]], detail: Sequence[int] = ()) -> str:
    """``loss_figure`` as SVG text."""
    return svg(loss_figure(histories, detail))


def bar_figure(labels: Sequence[str], values: Sequence[float], *, title: str, unit: str, axis_label: str) -> Figure:
    """Horizontal bars, one per label (first on top), each with its value and ``unit`` written after
    it; ``axis_label`` names the values' axis. Each bar's SVG group id is ``bar-{label}``."""
    with matplotlib.rc_context(STYLE):
        figure = _figure(10, 1.3 + 0.32 * max(len(labels), 1))
        axes = figure.subplots()
        widths = [v if math.isfinite(v) else 0.0 for v in map(float, values)]
        bars = axes.barh(range(len(labels)), widths, color=[f"C{n % 10}" for n in range(len(labels))])
        for bar, name in zip(bars, labels, strict=True):
            bar.set_gid(f"bar-{name}")
        axes.bar_label(bars, [f"{v:.3g} {unit}" for v in values], padding=4)
        axes.set_yticks(range(len(labels)), labels)
        axes.invert_yaxis()
        axes.margins(x=0.12)  # room for the value after the longest bar (bars start at 0 all the same)
        axes.grid(axis="y", visible=False)
        axes.set_xlabel(axis_label)
        axes.set_title(title, fontweight="bold")
    return figure


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, unit: str, axis_label: str) -> str:
    """``bar_figure`` as SVG text."""
    return svg(bar_figure(labels, values, title=title, unit=unit, axis_label=axis_label))
