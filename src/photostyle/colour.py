"""Closed-form colour maps: start points for the optimiser and the local-affine post-process.

- ``transfer_statistics``: per-class colour statistics transfer in Lab (Reinhard et al. 2001),
  each class of the frame given the mean and spread of the same class of the reference;
- ``affine_colour_map``: the per-class affine colour map that pixels with a known output show,
  applied to the whole frame (fills disocclusions with the look the previous output had);
- ``local_affine``: the guided filter (He et al.), i.e. the best affine colour map frame → output
  in every window, averaged over windows: Luan et al.'s photorealism post-process.
All images are H×W×3 float32 RGB in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_PIXELS = 30  # fewer pixels than this do not define a class's statistics or colour map


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)


def transfer_statistics(
    frame: np.ndarray, labels: np.ndarray, reference: np.ndarray, reference_labels: np.ndarray
) -> np.ndarray:
    """The frame with each class's Lab mean and standard deviation replaced by the reference's
    same class (the whole reference's where the reference lacks the class)."""
    lab, ref = _lab(frame), _lab(reference.astype(np.float32) / 255.0 if reference.dtype == np.uint8 else reference)
    whole = ref.reshape(-1, 3)
    out = lab.copy()
    for k in np.unique(labels):
        region = labels == k
        source = lab[region]
        target = ref[reference_labels == k]
        if len(target) < MIN_PIXELS:
            target = whole
        scale = target.std(axis=0) / np.maximum(source.std(axis=0), 1e-3)
        out[region] = (source - source.mean(axis=0)) * scale + target.mean(axis=0)
    return np.clip(cv2.cvtColor(out, cv2.COLOR_Lab2RGB), 0.0, 1.0)


def _fit_affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """4×3 least-squares affine map [rgb, 1] → rgb (slightly ridge-regularised towards the identity)."""
    design = np.hstack([source, np.ones((len(source), 1), np.float32)]).astype(np.float64)
    ridge = 1e-3 * len(source) * np.diag([1.0, 1.0, 1.0, 0.0])
    prior = np.vstack([np.eye(3), np.zeros((1, 3))])
    return np.linalg.solve(design.T @ design + ridge, design.T @ target + ridge @ prior)


def affine_colour_map(frame: np.ndarray, known: np.ndarray, mask: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The frame recoloured, class by class, by the affine map frame → ``known`` fitted where ``mask``.

    A class with too few known pixels takes the map of all known pixels; with too few of those,
    the frame is returned unchanged.
    """
    if mask.sum() < MIN_PIXELS:
        return frame
    whole = _fit_affine(frame[mask], known[mask])
    out = np.empty_like(frame)
    for k in np.unique(labels):
        region = labels == k
        fit = region & mask
        matrix = _fit_affine(frame[fit], known[fit]) if fit.sum() >= MIN_PIXELS else whole
        out[region] = frame[region] @ matrix[:3] + matrix[3]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def local_affine(frame: np.ndarray, output: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Each window's best affine colour map frame → output, averaged over the windows a pixel is in
    (guided filter with the frame as guide): edges of the frame stay sharp in the output."""
    # OpenCV's guided filter expects float images in 0-255: on [0, 1] it smooths as if eps were huge
    # whatever eps is (a channel swap of a photo came back blurred, 9.5 grey levels off), so colours
    # go in at 0-255 and eps, a variance, is scaled by 255².
    guide = np.ascontiguousarray(frame * 255.0, dtype=np.float32)
    source = np.ascontiguousarray(output * 255.0, dtype=np.float32)
    smoothed = cv2.ximgproc.guidedFilter(guide, source, radius, eps * 255.0**2) / 255.0
    return np.clip(smoothed, 0.0, 1.0)
