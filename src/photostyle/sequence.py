"""A whole clip stylised in one process, with the workflow's stages and defaults.

The workflow runs these stages as separate jobs with cached files; benchmarks and comparisons
that score many settings on short clips call this instead, so that both use the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from photostyle.consistency import long_term_weights, reliable_weights
from photostyle.flow import compute_flow
from photostyle.label_fusion import fuse_scores
from photostyle.matting import matting_coefficients
from photostyle.segmentation import fit_clusters, kmeans_scores, labels_from_scores
from photostyle.stylize import FrameInputs, Previous, Result, Settings, stylize
from photostyle.vgg import VGGFeatures

# config/config.yaml's consistency section
CRITERIA = {"disocclusion": (0.01, 2.0), "motion_boundary": None, "coverage": 0.8, "colour": 20.0, "dilate": 0}


@dataclass
class Clip:
    """Frames (uint8 RGB, 0-based) with their flows, consistency weights and labels, and the reference."""

    frames: list[np.ndarray]
    style: np.ndarray
    style_labels: np.ndarray
    labels: list[np.ndarray]
    backward: dict[tuple[int, int], np.ndarray]  # (i, k): flow frame i → frame k
    reliable: dict[tuple[int, int], np.ndarray]  # (i, k): weights of frame i against frame k


def prepare(
    frames: list[np.ndarray],
    style: np.ndarray,
    offsets: tuple[int, ...] = (1, 2, 4),
    flow_method: str = "fusion",
    classes: int = 4,
    position_weight: float = 4.0,
    temporal_weight: float = 0.6,
) -> Clip:
    """Flows both ways for every pair (i, i − j), their weights, and k-means labels fused along the flow."""
    backward, reliable = {}, {}
    for i in range(len(frames)):
        for j in offsets:
            k = i - j
            if k < 0:
                continue
            backward[i, k] = compute_flow(frames[i], frames[k], flow_method)
            forward = compute_flow(frames[k], frames[i], flow_method)
            reliable[i, k] = reliable_weights(forward, backward[i, k], frames=(frames[i], frames[k]), **CRITERIA)
    clusters = fit_clusters(style, frames[0], classes, position_weight)
    style_labels = labels_from_scores(kmeans_scores(style, clusters, reference=True))
    labels, fused = [], None
    for i, frame in enumerate(frames):
        scores = kmeans_scores(frame, clusters, reference=False)
        if fused is not None and temporal_weight > 0:
            scores = fuse_scores(scores, fused, backward[i, i - 1], reliable[i, i - 1], temporal_weight)
        fused = scores
        labels.append(labels_from_scores(scores))
    return Clip(frames, style, style_labels, labels, backward, reliable)


def frame_inputs(
    clip: Clip, i: int, results: list[Result], offsets: tuple[int, ...] = (1, 2, 4), eps: float = 1e-7
) -> FrameInputs:
    """Frame i's inputs, tied to the stylised frames i − j in ``results`` as ``stylize_frame`` does."""
    earlier = [i - j for j in sorted(offsets) if i - j >= 0]
    long = long_term_weights({i - k: clip.reliable[i, k] for k in earlier})
    previous = [Previous.of(results[k].optimised, clip.backward[i, k], long[i - k]) for k in earlier]
    return FrameInputs(
        content=clip.frames[i],
        style=clip.style,
        content_labels=clip.labels[i],
        style_labels=clip.style_labels,
        coefficients=matting_coefficients(clip.frames[i], eps),
        previous=previous,
        reliable=clip.reliable[i, i - 1] if i > 0 else None,
    )


def stylize_clip(
    extractor: VGGFeatures,
    clip: Clip,
    settings: Settings,
    device: torch.device,
    offsets: tuple[int, ...] = (1, 2, 4),
    eps: float = 1e-7,
) -> list[Result]:
    """Every frame in order, each tied to the stylised frames i − j as ``stylize_frame`` does."""
    results: list[Result] = []
    for i in range(len(clip.frames)):
        results.append(stylize(extractor, frame_inputs(clip, i, results, offsets, eps), settings, device))
    return results
