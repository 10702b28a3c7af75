"""The figures of one run (``results/{run}/metrics.json``) and their report page.

- temporal consistency: Lai et al.'s warping error of the stylised clip and of the input clip,
  both with the flows between *input* frames (i → i − 1) and the consistency weights as
  occlusion masks; flicker: the mean absolute change of a pixel from frame i − 1 (warped along
  the flow) to frame i on reliable pixels, stylised minus input (0-255 levels);
- photorealism: the residual of the best local affine colour map frame → output (0 for a photo
  recoloured by any locally affine map; ``metrics.affine_residual``);
- structure: SSIM of the output's luminance against the input's;
- style per class: distance of the Lab colour statistics of each class of the output (and of the
  input, for comparison) to the same class of the reference (``metrics.style_fidelity``);
- time per stage: the benchmark files Snakemake writes for each job, summed per rule.
"""

from __future__ import annotations

import csv
import html
import math
import os
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from photostyle import charts
from photostyle.flow import warp
from photostyle.metrics import affine_residual, style_fidelity, warping_error

LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601
# The per-frame figures (photorealism, structure, style) of a run are averaged over at most this
# many frames, evenly spaced: the local affine fit takes seconds per megapixel, and the mean over
# 25 frames of a shot moves little.
SCORED_FRAMES = 25


@dataclass
class FrameData:
    """What the figures need of one frame. ``backward`` (flow i → i − 1 between the input frames)
    and ``reliable`` (its consistency weights in [0, 1]) are None for the first frame, and not
    needed for a frame that starts a new shot (``cut``): nothing carries over a cut."""

    frame: np.ndarray  # input frame, H×W×3 uint8 RGB
    output: np.ndarray  # stylised frame, H×W×3 uint8 RGB
    labels: np.ndarray  # label map of the frame, H×W uint8
    backward: np.ndarray | None = None
    reliable: np.ndarray | None = None
    cut: bool = False


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Luma (BT.601, 0-255) of an H×W×3 uint8 RGB image, as float64."""
    return rgb.astype(np.float64) @ LUMA


def structure(output: np.ndarray, frame: np.ndarray) -> float:
    """SSIM (Wang et al., scikit-image's defaults: 7×7 windows) of the output's luminance against the frame's."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(luminance(output), luminance(frame), data_range=255.0))


def change(earlier: np.ndarray, later: np.ndarray, backward: np.ndarray, weights: np.ndarray) -> float:
    """Mean absolute change (0-255, mean of the channels) from ``earlier`` warped along ``backward``
    to ``later``, weighted by ``weights`` (reliable pixels)."""
    warped = warp(earlier.astype(np.float32), backward)
    difference = np.abs(later.astype(np.float32) - warped).mean(axis=2)
    return float((weights * difference).sum() / weights.sum())


def clip_metrics(
    frames: Iterable[FrameData],
    reference: np.ndarray | None,
    reference_labels: np.ndarray | None,
    class_names: Sequence[str],
    scored: Collection[int] | None = None,
) -> dict:
    """The figures of a clip (see the module's docstring); ``frames`` are consumed one at a time,
    so a long clip is never held in memory. The temporal figures take every pair of consecutive
    frames but those across a shot cut (counted); photorealism, structure and style only the
    frames at the positions (0-based) in ``scored`` (default: all; the local affine fit costs
    seconds per megapixel). Figures that need two frames are None for one frame; the ratio of
    warping errors is None when the input's is 0 (a still clip). Without a reference, ``style``
    is None."""
    warp_out, warp_in, change_out, change_in, reliable_share = [], [], [], [], []
    skipped = cuts = 0
    ssim, residual = [], []
    style: dict[int, dict[str, list[float]]] = defaultdict(lambda: {"output": [], "input": []})
    pixels: dict[int, int] = defaultdict(int)
    reference_float = reference / 255.0 if reference is not None else None
    previous: FrameData | None = None
    total_pixels = 0
    for position, data in enumerate(frames):
        if previous is not None and data.cut:
            cuts += 1
        elif previous is not None:
            if data.backward is None or data.reliable is None:
                raise ValueError("every frame after the first needs its backward flow and consistency weights")
            weights = data.reliable.astype(np.float64)
            reliable_share.append(float(weights.mean()))
            if weights.sum() == 0:
                skipped += 1
            else:
                pairs = (
                    (previous.output, data.output, warp_out, change_out),
                    (previous.frame, data.frame, warp_in, change_in),
                )
                for earlier, later, errors, changes in pairs:
                    errors.append(warping_error(earlier / 255.0, later / 255.0, data.backward, weights))
                    changes.append(change(earlier, later, data.backward, weights))
        previous = data
        if scored is not None and position not in scored:
            continue
        ssim.append(structure(data.output, data.frame))
        residual.append(affine_residual(data.frame / 255.0, data.output / 255.0))
        for key, image in (("output", data.output), ("input", data.frame)) if reference is not None else ():
            for k, distance in style_fidelity(image / 255.0, data.labels, reference_float, reference_labels).items():
                style[k][key].append(distance)
        for k, count in enumerate(np.bincount(data.labels.ravel())):
            pixels[k] += int(count)
        total_pixels += data.labels.size
    if previous is None:
        raise ValueError("a clip without frames has no metrics")

    def mean(values: list[float]) -> float | None:
        return float(np.mean(values)) if values else None

    classes = {}
    for k in sorted(style):
        name = class_names[k] if k < len(class_names) else f"class {k}"
        classes[name] = {
            "output": mean(style[k]["output"]),
            "input": mean(style[k]["input"]),
            "share": pixels[k] / total_pixels,
            "frames": len(style[k]["output"]),
        }
    shares = [c["share"] for c in classes.values()]
    warping = {"output": mean(warp_out), "input": mean(warp_in), "ratio": None}
    if warping["output"] is not None and warping["input"] > 1e-12:  # a still clip's is 0 up to rounding
        warping["ratio"] = warping["output"] / warping["input"]
    flicker = {"output": mean(change_out), "input": mean(change_in), "excess": None}
    if flicker["output"] is not None:
        flicker["excess"] = flicker["output"] - flicker["input"]
    return {
        "frames": position + 1,
        "frames_scored": len(ssim),
        "temporal": {
            "pairs": len(warp_out),
            "pairs_without_reliable_pixels": skipped,
            "shot_cuts": cuts,
            "reliable_share": mean(reliable_share),
            "warping_error": warping,
            "flicker": flicker,
        },
        "photorealism": {"affine_residual": mean(residual)},
        "structure": {"ssim": mean(ssim), "ssim_min": float(min(ssim)) if ssim else None},
        "style": None
        if reference is None
        else {
            "classes": classes,
            "output": float(np.average([c["output"] for c in classes.values()], weights=shares)) if classes else None,
            "input": float(np.average([c["input"] for c in classes.values()], weights=shares)) if classes else None,
        },
    }


def read_benchmark(path: str | os.PathLike) -> dict[str, float]:
    """Seconds (``s``) and peak resident memory in MB (``max_rss``; NaN when not measured) of a
    Snakemake benchmark file (several rows, for ``repeat()``, are averaged)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        raise ValueError(f"benchmark file {path} has no measurement")

    def number(text: str | None) -> float:
        try:
            return float(text)
        except (TypeError, ValueError):
            return math.nan

    seconds = [number(row.get("s")) for row in rows]
    rss = [number(row.get("max_rss")) for row in rows]
    return {
        "seconds": float(np.mean(seconds)),
        "max_rss_mb": float(np.nanmax(rss)) if any(map(math.isfinite, rss)) else math.nan,
    }


def stage_times(benchmarks: Mapping[str, Sequence[str | os.PathLike]]) -> dict:
    """Per rule: its jobs, how many have a benchmark file (a job whose output was there before
    Snakemake measured it has none), the sum of their seconds and the largest peak memory (MB);
    and the sum over all rules. Rules without jobs are left out."""
    stages = {}
    for rule, paths in benchmarks.items():
        if not paths:
            continue
        measured = [read_benchmark(path) for path in paths if os.path.isfile(path)]
        rss = [m["max_rss_mb"] for m in measured if math.isfinite(m["max_rss_mb"])]
        stages[rule] = {
            "jobs": len(paths),
            "measured": len(measured),
            "seconds": float(sum(m["seconds"] for m in measured)),
            "max_rss_mb": max(rss) if rss else None,
        }
    return {"stages": stages, "total_seconds": float(sum(s["seconds"] for s in stages.values()))}


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
        charts.table(
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
        charts.table(
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
    body.append(charts.table(["class", "share of the frames", "stylised → reference", "input → reference"], rows))
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
    body.append(charts.table(["rule", "jobs", "measured", "seconds (sum)", "peak memory (MB)"], rows))
    body.append(
        "<p class='note'>Seconds of every job of the rule added up (jobs running in parallel overlap in wall-clock "
        "time), from Snakemake's benchmark files; the report's own rules are not included.</p>"
    )
    return charts.page(f"Metrics of run {metrics['run']} ({metrics['frames']} frames)", "\n".join(body))


def times_chart(metrics: dict) -> str:
    """SVG bar chart of the seconds per rule."""
    stages = metrics["time"]["stages"]
    return charts.bar_chart(
        list(stages),
        [s["seconds"] for s in stages.values()],
        title=f"Time per rule, run {metrics['run']} (seconds, sum over its jobs)",
        unit="s",
    )
