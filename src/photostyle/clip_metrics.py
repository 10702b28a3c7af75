"""The figures of a clip, as in a run's ``metrics.json`` (``photostyle metrics`` scores any clip the same way).

- temporal consistency: Lai et al.'s warping error of the stylised clip and of the input clip,
  both with the flows between *input* frames (i → i − 1) and the consistency weights as
  occlusion masks; flicker: the mean absolute change of a pixel from frame i − 1 (warped along
  the flow) to frame i on reliable pixels, stylised minus input (0-255 levels);
- photorealism: the residual of the best local affine colour map frame → output (0 for a photo
  recoloured by any locally affine map; ``metrics.affine_residual``);
- structure: SSIM of the output's luminance against the input's;
- style per class: distance of the Lab colour statistics of each class of the output (and of the
  input, for comparison) to the same class of the reference (``metrics.style_fidelity``).

The time per stage is read from Snakemake's benchmark files by ``stage_times``; the report's page
of these figures is ``report_page``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from photostyle.flow import warp
from photostyle.metrics import affine_residual, style_fidelity, warping_error

LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601
# The per-frame figures (photorealism, structure, style) of a run are averaged over at most this
# many frames, evenly spaced: the local affine fit takes seconds per megapixel, and the mean over
# 25 frames of a shot moves little.
SCORED_FRAMES = 25


def evenly_spaced(n_frames: int, count: int) -> list[int]:
    """``count`` frame numbers (1-based) spread evenly over 1..n_frames, first and last included
    (fewer when the clip is shorter): the frames scored here, and those the report shows."""
    if count <= 0 or n_frames <= 0:
        return []
    if count == 1:
        return [(n_frames + 1) // 2]
    return sorted({round(1 + k * (n_frames - 1) / (count - 1)) for k in range(count)})


def scored_positions(n_frames: int) -> set[int]:
    """The positions (0-based) of the frames of an ``n_frames`` clip that the per-frame figures
    (photorealism, structure, style) are averaged over: ``SCORED_FRAMES`` evenly spaced ones."""
    return {i - 1 for i in evenly_spaced(n_frames, SCORED_FRAMES)}


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


def first_and_last(
    frames: Sequence[FrameData], reference: np.ndarray, reference_labels: np.ndarray, count: int = 8
) -> dict[str, tuple[float, float]]:
    """SSIM of output to input and style distance over the first and over the last ``count`` frames
    (each frame scored on its own): a look that drifts along a clip shows as a difference."""
    names = [f"class {k}" for k in range(256)]
    figures = {}
    for part, chosen in (("first", frames[:count]), ("last", frames[-count:])):
        alone = [FrameData(data.frame, data.output, data.labels, cut=True) for data in chosen]
        scores = clip_metrics(alone, reference, reference_labels, names)
        figures[part] = (scores["structure"]["ssim"], scores["style"]["output"])
    return figures
