"""Temporally stable labels: each frame's class scores fused with the previous frame's along the flow.

Per-frame segmentation flickers: a pixel that jumps between "tree" and "grass" gets a different
style target each frame, which the temporal loss then has to fight. Here the fused scores of
frame i − 1 are carried onto frame i along the backward flow and mixed in where the flow is
reliable: s̃_i = (1 − w c) s_i + w c · warp(s̃_{i−1}), with w = ``segmentation.temporal_weight``
and c the consistency weights. Labels then follow the motion, a label that appears in one frame
only is outvoted (for w > 0.5), and a lasting change wins after a few frames.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping

import cv2
import numpy as np

from photostyle.atomic import atomic_path
from photostyle.errors import InputError
from photostyle.flow import warp


def save_scores(path: str | os.PathLike, scores: Mapping[int, np.ndarray]) -> None:
    """Write the K×H×W class scores of frames (by frame number) as float16 in one ``.npz``, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **{f"scores_{i:05d}": s.astype(np.float16) for i, s in scores.items()})


def load_scores(path: str | os.PathLike, i: int) -> np.ndarray:
    """Frame i's class scores from a file written by ``save_scores``, as float32; a bad file, or one
    without frame i, raises with its path."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            scores = archive[f"scores_{i:05d}"]
    except KeyError:
        raise InputError(f"class scores {path} hold no frame {i} (delete the file to rebuild it)") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"class scores {path} cannot be read: {exc}") from exc
    if scores.ndim != 3 or not np.isfinite(scores).all():
        raise InputError(f"class scores {path} of frame {i} are not a finite K×H×W array (shape {scores.shape})")
    return scores.astype(np.float32)


def warp_scores(scores: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """K×H×W scores of frame k warped onto frame i along the flow i → k (bilinear)."""
    return np.stack([warp(channel, flow) for channel in scores])


def fuse_scores(
    scores: np.ndarray, previous: np.ndarray, backward: np.ndarray, reliable: np.ndarray, weight: float
) -> np.ndarray:
    """Fused K×H×W scores of frame i from its own ``scores``, the fused scores of frame i − 1
    (``previous``), the flow i → i − 1 (``backward``) and the consistency weights of frame i."""
    mix = (weight * reliable)[None].astype(np.float32)
    return (1.0 - mix) * scores + mix * warp_scores(previous, backward)


def label_flicker(labels: np.ndarray, previous: np.ndarray, backward: np.ndarray, reliable: np.ndarray) -> float:
    """Share of the reliable pixels of frame i whose label differs from frame i − 1's label warped onto it."""
    carried = warp(previous, backward, interpolation=cv2.INTER_NEAREST)
    trusted = reliable > 0.5
    return float((labels != carried)[trusted].mean()) if trusted.any() else 0.0
