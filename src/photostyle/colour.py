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


def fit_affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
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
    whole = fit_affine(frame[mask], known[mask])
    out = np.empty_like(frame)
    for k in np.unique(labels):
        region = labels == k
        fit = region & mask
        matrix = fit_affine(frame[fit], known[fit]) if fit.sum() >= MIN_PIXELS else whole
        out[region] = frame[region] @ matrix[:3] + matrix[3]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _box(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over each (2r+1)² window (reflected at the borders), per channel, of an H×W×… array."""
    size = 2 * radius + 1
    flat = values.reshape(*values.shape[:2], -1).astype(np.float64)
    means = cv2.boxFilter(flat, -1, (size, size), normalize=True, borderType=cv2.BORDER_REFLECT)
    return means.reshape(values.shape)


def local_affine_maps(frame: np.ndarray, output: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Per pixel, the affine colour map frame → output of the guided filter (He et al., colour guide):
    in every (2r+1)² window the least-squares map, ridge ``eps`` on the matrix, averaged over the
    windows the pixel is in. H×W×4×3 float32: rows 0-2 the matrix Aᵀ, row 3 the offset b, so that
    output ≈ [frame, 1] · maps. OpenCV's ``ximgproc.guidedFilter`` gives the filtered image only;
    propagation (``photostyle.propagation``) needs the maps themselves, to carry them along the flow."""
    guide, target = frame.astype(np.float64), output.astype(np.float64)
    mean_i, mean_p = _box(guide, radius), _box(target, radius)
    cov_ii = _box(guide[..., :, None] * guide[..., None, :], radius) - mean_i[..., :, None] * mean_i[..., None, :]
    cov_ip = _box(guide[..., :, None] * target[..., None, :], radius) - mean_i[..., :, None] * mean_p[..., None, :]
    matrix = np.linalg.solve(cov_ii + eps * np.eye(3), cov_ip)  # H×W×3×3: Aᵀ of each window
    offset = mean_p - np.einsum("hwd,hwdc->hwc", mean_i, matrix)
    return _box(np.concatenate([matrix, offset[..., None, :]], axis=2), radius).astype(np.float32)


def apply_maps(maps: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """The frame recoloured by its per-pixel affine maps (H×W×4×3), clipped to [0, 1]."""
    out = np.einsum("hwd,hwdc->hwc", frame.astype(np.float32), maps[..., :3, :]) + maps[..., 3, :]
    return np.clip(out, 0.0, 1.0)


def local_affine(frame: np.ndarray, output: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The guided filter of ``output`` with ``frame`` as guide: each pixel recoloured by its local
    affine map (``local_affine_maps``), so that edges of the frame stay sharp in the output."""
    return apply_maps(local_affine_maps(frame, output, radius, eps), frame)
