"""A whole clip stylised in one process, with the workflow's stages and settings.

The workflow runs these stages as separate jobs with cached files; benchmarks and comparisons
that score many settings on short clips call this instead, so that both use the same code and
the same configuration (the schema's defaults unless a config is given): flows with the run's
method and options, consistency weights with its criteria, shot cuts, k-means labels fused along
the flow within a shot, the Matting Laplacian with its ε and radius, and each frame's inputs put
together by ``frame_inputs.assemble`` as the workflow's ``stylize_frame`` does. Frames are 0-based.

``stylize_clip`` is the per-frame chain; ``propagate_clip`` optimises keyframes only and carries their
local colour maps to the frames between (``photostyle.propagation``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from photostyle.config import defaults
from photostyle.consistency import long_term_weights
from photostyle.cuts import Cuts, detect_cuts
from photostyle.frame_inputs import FrameInputs, assemble
from photostyle.keyframes import KeyframePlan, choose_keyframes
from photostyle.label_fusion import fuse_scores
from photostyle.matting import matting_coefficients
from photostyle.propagation import Keyframing, Refinement, propagate_block, stylize_keyframe
from photostyle.scoring import flow_to_previous
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

    def pair(self, i: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The flow frame i → frame k and frame i's consistency weights against frame k, computed
        with the clip's settings the first time they are asked for."""
        if (i, k) not in self.backward:
            self.backward[i, k], self.reliable[i, k] = flow_to_previous(self.frames[i], self.frames[k], self.config)
        return self.backward[i, k], self.reliable[i, k]

    def settings(self) -> Settings:
        """The stylisation settings of the clip's configuration."""
        return Settings.from_config(self.config["stylize"], self.config["segmentation"]["fallback"])


def prepare(frames: list[np.ndarray], style: np.ndarray, config: dict | None = None) -> Clip:
    """Flows both ways for every pair (i, i − j), their weights, the shot cuts, and k-means labels
    fused along the flow within each shot, with ``config`` (a complete configuration, e.g. from
    ``photostyle.config.changed``; default: the schema's defaults)."""
    config = defaults() if config is None else config
    segmentation = config["segmentation"]
    cuts = detect_cuts(frames, config["temporal"]["cut_threshold"])
    backward: dict[tuple[int, int], np.ndarray] = {}
    reliable: dict[tuple[int, int], np.ndarray] = {}
    clip = Clip(frames, style, np.zeros(0), [], backward, reliable, cuts, config)
    for i in range(len(frames)):
        for j in config["temporal"]["offsets"]:
            if i - j >= 0:
                clip.pair(i, i - j)
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
    clip.style_labels, clip.labels = style_labels, labels
    return clip


def frame_inputs(
    clip: Clip, i: int, results: Sequence[Result] | Mapping[int, Result], earlier: list[int] | None = None
) -> FrameInputs:
    """Frame i's inputs, tied to the optimised frames of ``results`` as ``stylize_frame`` ties them:
    frames i − j (j in J), or the frames ``earlier`` (in propagation mode, the keyframe before)."""
    earlier = [i - j for j in clip.offsets if i - j >= 0] if earlier is None else earlier
    for k in earlier:
        clip.pair(i, k)  # computed now if ``prepare`` did not (a keyframe's pair)
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


@dataclass
class Propagated:
    """A clip stylised in propagation mode: every frame's output, and the keyframes' optimisations."""

    images: list[np.ndarray]  # H×W×3 uint8 per frame
    keyframes: dict[int, Result]


def propagate_clip(
    extractor: VGGFeatures,
    clip: Clip,
    device: torch.device,
    every: int,
    min_reliable: float,
    scale: float | None = None,
    settings: Settings | None = None,
) -> Propagated:
    """Keyframes (``keyframes.choose_keyframes``: shot starts, every ``every`` frames, and where less than
    ``min_reliable`` of a frame's pixels are carried reliably from the last keyframe) stylised by the
    full objective at ``scale`` × the working size (default: the clip's ``stylize.keyframe_scale``) with the
    clip's other keyframe settings (``propagation.stylize_keyframe``), each tied to the
    keyframe before it in its shot along the flow between them; the frames between take the
    keyframes' local colour maps along the flow (``propagation.propagate``)."""
    settings = clip.settings() if settings is None else settings
    n = len(clip.frames)
    starts = [clip.shot_start(i) for i in range(n)]
    chosen = choose_keyframes(
        n, sorted(set(starts)), every, lambda t, k: float(clip.pair(t, k)[1].mean()), min_reliable
    )
    results: dict[int, Result] = {}
    plan = KeyframePlan(tuple(chosen), tuple(sorted(set(starts))), n - 1)
    keyframing = Keyframing.from_config(clip.config["stylize"])
    keyframing = keyframing if scale is None else replace(keyframing, scale=scale)
    for k in chosen:
        earlier = [] if plan.previous(k) is None else [plan.previous(k)]
        inputs = frame_inputs(clip, k, results, earlier)
        results[k] = stylize_keyframe(extractor, inputs, settings, device, keyframing)
    images: list[np.ndarray] = [np.empty(0)] * n
    for k in chosen:  # in order: a block's keyframe is tied to the block before it in its shot
        end, tied = plan.block(k)
        before = None if plan.previous(k) is None else images[k - 1]
        images[k : end + (not tied)] = propagate_block(
            clip.frames[k : end + 1],
            clip.labels[k : end + 1],
            results[k].image,
            results[end].image if tied else None,
            lambda t, other, k=k: clip.pair(k + t, k + other),
            keyframing.post,
            Refinement.from_config(clip.config),
            device,
            before,
        )
    return Propagated(images, results)
