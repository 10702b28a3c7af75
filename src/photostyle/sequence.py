"""A whole clip stylised in one process, with the workflow's stages and settings.

The workflow runs these stages as separate jobs with cached files; benchmarks and comparisons
that score many settings on short clips call this instead, so that both use the same code and
the same configuration (the schema's defaults unless a config is given): flows with the run's
method and options, consistency weights with its criteria, shot cuts, k-means labels fused along
the flow within a shot, the Matting Laplacian with its ε and radius, and each frame's inputs put
together by ``frame_inputs.assemble`` as the workflow's ``stylize_frame`` does. Frames are 0-based.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from photostyle.config import defaults
from photostyle.consistency import long_term_weights, reliable_weights
from photostyle.cuts import Cuts, detect_cuts
from photostyle.flow import compute_flow, flow_options
from photostyle.frame_inputs import FrameInputs, assemble
from photostyle.label_fusion import fuse_scores
from photostyle.matting import matting_coefficients
from photostyle.segmentation import fit_clusters, kmeans_scores, labels_from_scores
from photostyle.stylize import Result, Settings, stylize
from photostyle.vgg import VGGFeatures


@dataclass
class Clip:
    """Frames (uint8 RGB, 0-based) with their flows, consistency weights, shot cuts and labels, the
    reference, and the configuration they were prepared with."""

    frames: list[np.ndarray]
    style: np.ndarray
    style_labels: np.ndarray
    labels: list[np.ndarray]
    backward: dict[tuple[int, int], np.ndarray]  # (i, k): flow frame i → frame k
    reliable: dict[tuple[int, int], np.ndarray]  # (i, k): weights of frame i against frame k
    cuts: Cuts  # 1-based, as the workflow's
    config: dict

    @property
    def offsets(self) -> list[int]:
        return sorted(self.config["temporal"]["offsets"])

    def shot_start(self, i: int) -> int:
        """First frame (0-based) of frame i's shot."""
        return self.cuts.shot_start(i + 1) - 1

    def settings(self) -> Settings:
        """The stylisation settings of the clip's configuration."""
        return Settings.from_config(self.config["stylize"], self.config["segmentation"]["fallback"])


def prepare(frames: list[np.ndarray], style: np.ndarray, config: dict | None = None) -> Clip:
    """Flows both ways for every pair (i, i − j), their weights, the shot cuts, and k-means labels
    fused along the flow within each shot, with ``config`` (a complete configuration, e.g. from
    ``photostyle.config.changed``; default: the schema's defaults)."""
    config = defaults() if config is None else config
    flow = flow_options(config["flow"], config["models"])
    segmentation = config["segmentation"]
    cuts = detect_cuts(frames, config["temporal"]["cut_threshold"])
    backward, reliable = {}, {}
    for i in range(len(frames)):
        for j in config["temporal"]["offsets"]:
            k = i - j
            if k < 0:
                continue
            backward[i, k] = compute_flow(frames[i], frames[k], **flow, device=config["device"])
            forward = compute_flow(frames[k], frames[i], **flow, device=config["device"])
            reliable[i, k] = reliable_weights(
                forward, backward[i, k], frames=(frames[i], frames[k]), **config["consistency"]
            )
    clusters = fit_clusters(style, frames[0], segmentation["classes"], segmentation["position_weight"])
    style_labels = labels_from_scores(kmeans_scores(style, clusters, reference=True))
    labels, fused = [], None
    starts = {start - 1 for start in cuts.starts}
    for i, frame in enumerate(frames):
        scores = kmeans_scores(frame, clusters, reference=False)
        if fused is not None and segmentation["temporal_weight"] > 0 and i not in starts:
            if (i, i - 1) not in backward:
                raise ValueError("fusing labels along the flow needs temporal.offsets to hold 1")
            scores = fuse_scores(scores, fused, backward[i, i - 1], reliable[i, i - 1], segmentation["temporal_weight"])
        fused = scores
        labels.append(labels_from_scores(scores))
    return Clip(frames, style, style_labels, labels, backward, reliable, cuts, config)


def frame_inputs(clip: Clip, i: int, results: list[Result]) -> FrameInputs:
    """Frame i's inputs, tied to the optimised frames i − j in ``results`` as ``stylize_frame`` ties them."""
    earlier = [i - j for j in clip.offsets if i - j >= 0]
    long = long_term_weights({i - k: clip.reliable[i, k] for k in earlier})
    laplacian = clip.config["laplacian"]
    return assemble(
        clip.frames[i],
        clip.style,
        clip.labels[i],
        clip.style_labels,
        matting_coefficients(clip.frames[i], laplacian["eps"], laplacian["radius"]),
        i=i,
        earlier=earlier,
        shot_start=clip.shot_start(i),
        optimised=lambda k: results[k].optimised,
        backward={k: clip.backward[i, k] for k in earlier},
        reliable={k: clip.reliable[i, k] for k in earlier},
        long={k: long[i - k] for k in earlier},
    )


def stylize_clip(
    extractor: VGGFeatures, clip: Clip, device: torch.device, settings: Settings | None = None
) -> list[Result]:
    """Every frame in order, each tied to the optimised frames i − j as ``stylize_frame`` ties them,
    with ``settings`` (default: those of the clip's configuration)."""
    settings = clip.settings() if settings is None else settings
    results: list[Result] = []
    for i in range(len(clip.frames)):
        results.append(stylize(extractor, frame_inputs(clip, i, results), settings, device))
    return results
