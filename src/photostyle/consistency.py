"""Per-pixel temporal weights from a forward/backward flow check (Ruder et al., 2016).

A pixel of frame i is unreliable when following its backward flow to frame k and the
forward flow back does not return it (disocclusion), when it lies on a motion boundary,
or when its flow leaves the frame. Long-term weights keep, for each earlier frame k = i − j,
only what no nearer frame already explains.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from photostyle.flow import warp


def reliable_weights(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Weights in {0, 1} (H×W float32) for frame i from its flows to and from frame k.

    ``backward`` maps frame i to frame k; ``forward`` maps frame k to frame i. Thresholds
    are those of Ruder et al.: |w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5 marks a disocclusion,
    |∇u|² + |∇v|² > 0.01 |ŵ|² + 0.002 a motion boundary.
    """
    h, w = backward.shape[:2]
    forward_at_target = warp(forward, backward, border=cv2.BORDER_REPLICATE)
    round_trip = backward + forward_at_target
    disoccluded = _sq_norm(round_trip) > 0.01 * (_sq_norm(backward) + _sq_norm(forward_at_target)) + 0.5

    grad_sq = np.zeros((h, w), np.float32)
    for c in range(2):
        gx = cv2.Sobel(backward[:, :, c], cv2.CV_32F, 1, 0, ksize=1) * 0.5
        gy = cv2.Sobel(backward[:, :, c], cv2.CV_32F, 0, 1, ksize=1) * 0.5
        grad_sq += gx**2 + gy**2
    boundary = grad_sq > 0.01 * _sq_norm(backward) + 0.002

    xs = np.arange(w, dtype=np.float32)[None, :] + backward[:, :, 0]
    ys = np.arange(h, dtype=np.float32)[:, None] + backward[:, :, 1]
    outside = (xs < 0) | (xs > w - 1) | (ys < 0) | (ys > h - 1)
    return (~(disoccluded | boundary | outside)).astype(np.float32)


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
