"""Per-pixel temporal weights from a forward/backward flow check (Ruder et al., 2016).

A pixel of frame i is unreliable when following its backward flow to frame k and the
forward flow back does not return it (disocclusion), when it lies on a motion boundary,
or when its flow leaves the frame. Long-term weights keep, for each earlier frame k = i − j,
only what no nearer frame already explains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from photostyle.flow import compute_flow, warp

RUDER = {"disocclusion": (0.01, 0.5), "motion_boundary": (0.01, 0.002), "coverage": 0.0, "colour": 0.0, "dilate": 0}


def reliable_weights(
    forward: np.ndarray,
    backward: np.ndarray,
    *,
    disocclusion: Sequence[float] = RUDER["disocclusion"],
    motion_boundary: Sequence[float] | None = RUDER["motion_boundary"],
    coverage: float = 0.0,
    colour: float = 0.0,
    frames: tuple[np.ndarray, np.ndarray] | None = None,
    dilate: int = 0,
) -> np.ndarray:
    """Weights in {0, 1} (H×W float32) of frame i against an earlier frame k.

    ``backward`` maps frame i to frame k (ŵ), ``forward`` maps frame k to frame i (w). With the
    defaults these are Ruder et al.'s criteria: with w̃ = w(p + ŵ(p)), a disocclusion when
    |w̃ + ŵ|² > a (|w̃|² + |ŵ|²) + b for ``disocclusion`` = (a, b); a motion boundary when
    |∇û|² + |∇v̂|² > a |ŵ|² + b for ``motion_boundary`` = (a, b) (None: not checked); ŵ leaving
    the frame. Optional criteria, each off at 0:
    ``coverage``: p is occluded when the pixels of frame k that ``forward`` carries onto it
    weigh less than this in total (a pixel nobody in frame k lands on was not visible there);
    ``colour``: the largest channel difference (0-255) between frame i and frame k warped
    along ``backward`` exceeds this (``frames`` = (frame i, frame k), RGB);
    ``dilate``: unreliable regions grow by this many pixels.
    """
    h, w = backward.shape[:2]
    forward_at_target = warp(forward, backward, border=cv2.BORDER_REPLICATE)
    a, b = disocclusion
    unreliable = _sq_norm(backward + forward_at_target) > a * (_sq_norm(backward) + _sq_norm(forward_at_target)) + b
    if motion_boundary is not None:
        a, b = motion_boundary
        grad_sq = np.zeros((h, w), np.float32)
        for c in range(2):
            gx = cv2.Sobel(backward[:, :, c], cv2.CV_32F, 1, 0, ksize=1) * 0.5
            gy = cv2.Sobel(backward[:, :, c], cv2.CV_32F, 0, 1, ksize=1) * 0.5
            grad_sq += gx**2 + gy**2
        unreliable |= grad_sq > a * _sq_norm(backward) + b
    xs = np.arange(w, dtype=np.float32)[None, :] + backward[:, :, 0]
    ys = np.arange(h, dtype=np.float32)[:, None] + backward[:, :, 1]
    unreliable |= (xs < 0) | (xs > w - 1) | (ys < 0) | (ys > h - 1)
    if coverage > 0:
        unreliable |= landing_weight(forward) < coverage
    if colour > 0:
        if frames is None:
            raise ValueError("the colour criterion needs frames=(frame i, frame k)")
        frame_i, frame_k = (frame.astype(np.float32) for frame in frames)
        unreliable |= np.abs(warp(frame_k, backward) - frame_i).max(axis=2) > colour
    if dilate > 0:
        kernel = np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8)
        unreliable = cv2.dilate(unreliable.astype(np.uint8), kernel) > 0
    return (~unreliable).astype(np.float32)


def flow_pair(
    frame: np.ndarray, other: np.ndarray, flow: Mapping[str, object], criteria: Mapping[str, object], device: str
) -> tuple[np.ndarray, np.ndarray]:
    """The flow frame → other (H×W×2) with the ``flow`` options of ``flow.flow_options``, and the
    frame's weights against the other frame by the consistency ``criteria`` (both flows computed)."""
    backward = compute_flow(frame, other, **flow, device=device)
    forward = compute_flow(other, frame, **flow, device=device)
    return backward, reliable_weights(forward, backward, frames=(frame, other), **criteria)


def landing_weight(flow: np.ndarray) -> np.ndarray:
    """How much of the source frame lands on each target pixel along ``flow`` (bilinear splatting).

    1 on average where the motion is a translation, about 0 where the target pixel was not
    visible in the source frame (it is occluded there), above 1 where regions pile up.
    """
    h, w = flow.shape[:2]
    x = (np.arange(w, dtype=np.float32)[None, :] + flow[:, :, 0]).ravel()
    y = (np.arange(h, dtype=np.float32)[:, None] + flow[:, :, 1]).ravel()
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    total = np.zeros(h * w, np.float64)
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0.astype(np.int64) + dx, y0.astype(np.int64) + dy
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        total += np.bincount((yi * w + xi)[inside], weight[inside], minlength=h * w)
    return total.reshape(h, w).astype(np.float32)


def _sq_norm(vectors: np.ndarray) -> np.ndarray:
    """Squared length of each 2-vector of an H×W×2 field."""
    return (vectors**2).sum(axis=2)


def long_term_weights(reliable: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
    """c_long for each offset j: max(c_j − Σ_{l<j} c_l, 0) over the offsets given (Ruder et al.)."""
    result: dict[int, np.ndarray] = {}
    covered = None
    for j in sorted(reliable):
        c = reliable[j].astype(np.float32)
        result[j] = c if covered is None else np.maximum(c - covered, 0.0)
        covered = c.copy() if covered is None else covered + c
    return result


def to_uint8(weights: np.ndarray) -> np.ndarray:
    """Weights in [0, 1] as 0-255 grey for PNG files."""
    return np.clip(np.rint(weights * 255.0), 0, 255).astype(np.uint8)


def from_uint8(gray: np.ndarray) -> np.ndarray:
    """0-255 grey back to weights in [0, 1]."""
    return gray.astype(np.float32) / 255.0
