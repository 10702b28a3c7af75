"""Propagation: keyframes' local affine colour maps carried along the flow to the frames between them.

The photorealism term asks each output to be a locally affine recolouring of its input frame. A
stylised keyframe therefore defines, at every pixel, an affine colour map q = A·I + b (the guided
filter's, ``colour.local_affine_maps``). Within a shot those maps move with the content, so a frame
t between keyframes k₀ and k₁ takes, at each pixel, the maps of k₀ and k₁ warped onto it along the
flows t → k₀ and t → k₁, weighted by the flow's reliability over the temporal distance, and applies
them to its own colours. Where neither keyframe sees the pixel, the frame's class takes the per-class
affine map its nearest keyframe shows (``class_maps``). A few conjugate-gradient steps on the
photorealism and temporal terms (``refine``) then tie each frame to the previous output along the
short flow, as the chain's temporal term ties its frames; a keyframe's shown image too, to the last
frame of the block before it, so that the blocks of a shot follow one another.

Which frames are keyframes, and the blocks between them: ``photostyle.keyframes``. Maps are H×W×4×3
float32 ([I, 1] · maps = output); images H×W×3 float32 RGB in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from photostyle.colour import MIN_PIXELS, apply_maps, fit_affine, local_affine_maps
from photostyle.delivery import apply_at
from photostyle.flow import warp
from photostyle.frame_inputs import FrameInputs
from photostyle.matting import MattingCoefficients, MattingLaplacian, matting_coefficients
from photostyle.stylize import Result, Settings, post_radius, stylize
from photostyle.vgg import VGGFeatures


def warp_maps(maps: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Maps of another frame moved onto this one along ``flow`` (this frame → that one)."""
    h, w = maps.shape[:2]
    flat = maps.reshape(h, w, 12)
    parts = [warp(np.ascontiguousarray(flat[..., c : c + 4]), flow) for c in range(0, 12, 4)]
    return np.concatenate(parts, axis=2).reshape(h, w, 4, 3)


def class_maps(frame: np.ndarray, output: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """One affine map [I, 1] → output per class (n_classes×4×3) fitted on a keyframe; a class with
    too few pixels there takes the whole frame's map."""
    pixels, targets, flat = frame.reshape(-1, 3), output.reshape(-1, 3), labels.ravel()
    whole = fit_affine(pixels, targets)
    fits = [
        fit_affine(pixels[flat == k], targets[flat == k]) if (flat == k).sum() >= MIN_PIXELS else whole
        for k in range(n_classes)
    ]
    return np.stack(fits).astype(np.float32)


def propagate(
    frame: np.ndarray,
    labels: np.ndarray,
    maps: Sequence[np.ndarray],
    flows: Sequence[np.ndarray],
    reliable: Sequence[np.ndarray],
    distances: Sequence[int],
    fallback: np.ndarray,
) -> np.ndarray:
    """Frame t stylised from its keyframes: each keyframe's ``maps`` warped along ``flows`` (t →
    keyframe), weighted by ``reliable`` (H×W in [0, 1]) over the temporal distance, applied to the
    frame. Where no keyframe is reliable, the class map of ``fallback`` (K×4×3, by the frame's
    ``labels``) takes over, in proportion to how little any keyframe is trusted."""
    h, w = frame.shape[:2]
    total = np.zeros((h, w, 4, 3), np.float32)
    weight = np.zeros((h, w), np.float32)
    coverage = np.zeros((h, w), np.float32)
    for keyframe_maps, flow, trust, distance in zip(maps, flows, reliable, distances, strict=True):
        share = trust.astype(np.float32) / max(distance, 1)
        total += share[..., None, None] * warp_maps(keyframe_maps, flow)
        weight += share
        coverage = np.maximum(coverage, trust)
    blended = total / np.maximum(weight, 1e-12)[..., None, None]
    seen = coverage[..., None, None]
    return apply_maps(seen * blended + (1.0 - seen) * fallback[labels], frame)


@dataclass(frozen=True)
class Refinement:
    """The settings of ``refine``: the Laplacian's (``laplacian.eps``, ``laplacian.radius``), the
    objective's weights λ and γ, and the conjugate-gradient steps (0: no refinement)."""

    eps: float
    radius: int
    photorealism: float
    temporal: float
    iterations: int

    @classmethod
    def from_config(cls, config: dict) -> Refinement:
        """From a configuration: ``stylize.refine_iterations``, ``stylize.weights`` and ``laplacian``
        (a complete one, or just these, as the workflow's params carry them)."""
        weights = config["stylize"]["weights"]
        laplacian = config["laplacian"]
        return cls(
            laplacian["eps"],
            laplacian["radius"],
            weights["photorealism"],
            weights["temporal"],
            config["stylize"]["refine_iterations"],
        )


@dataclass(frozen=True)
class Keyframing:
    """How keyframes are optimised in propagate mode: at ``scale`` × the working size
    (``stylize.keyframe_scale``), stopping by ``tolerance`` (``stylize.keyframe_tolerance``, in place of
    ``stylize.tolerance``), and brought to full size by local affine maps with the window and ε of
    ``post`` (``stylize.local_affine``'s radius and eps, as ``propagate_block`` fits them)."""

    scale: float
    tolerance: float
    post: tuple[float, float]

    @classmethod
    def from_config(cls, stylize_config: dict) -> Keyframing:
        """From ``stylize``'s section of a configuration (or the workflow's params of it)."""
        post = stylize_config["local_affine"]
        return cls(
            stylize_config["keyframe_scale"], stylize_config["keyframe_tolerance"], (post["radius"], post["eps"])
        )


def stylize_keyframe(
    extractor: VGGFeatures, inputs: FrameInputs, settings: Settings, device: torch.device, keyframing: Keyframing
) -> Result:
    """A keyframe: optimised by the full objective (``settings`` with the keyframes' stopping
    tolerance) at ``keyframing.scale`` × its working size (1: at full size, as the chain's frames),
    then brought to full size by the local affine maps of its reduced frame → output, resized and
    applied to the full-size frame: the look comes from the optimisation, the detail from the frame
    (fast guided upsampling, He & Sun 2015). Both the shown image and the optimised one (what the next
    keyframe is tied to) are brought up; the history's scales are fractions of the full size.

    The looser tolerance: a keyframe reaches only its frames through its local affine maps (and the
    next keyframe), which keep its colours and drop its fine texture, and the colours settle long
    before the loss stops falling by ``stylize.tolerance`` (``benchmarks/README.md``, ``propagate.py``)."""
    settings = replace(settings, tolerance=keyframing.tolerance)
    scale, (radius, eps) = keyframing.scale, keyframing.post
    if scale == 1.0:
        return stylize(extractor, inputs, settings, device)
    reduced = inputs.scaled(scale)
    result = stylize(extractor, reduced, settings, device)
    small, window = unit(reduced.content), post_radius(reduced.content, radius)

    def upsample(output: np.ndarray) -> np.ndarray:
        return apply_at(local_affine_maps(small, unit(output), window, eps), inputs.content, device)

    history = [record | {"scale": record["scale"] * scale} for record in result.history]
    return Result(upsample(result.image), upsample(result.optimised), history)


def propagate_block(
    frames: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    first: np.ndarray,
    last: np.ndarray | None,
    pair: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
    post: tuple[float, float],
    refinement: Refinement,
    device: torch.device,
    before: np.ndarray | None = None,
) -> list[np.ndarray]:
    """The outputs of a block: a keyframe, whose optimised output is ``first``, and the frames after it up
    to the frame before the next keyframe, or up to the next keyframe itself when it is in the same
    shot (its output ``last``; else None); ``frames`` (H×W×3 uint8) and ``labels`` of all of them.
    ``pair(t, k)`` gives the flow frame t → frame k and frame t's weights against frame k (positions
    in the block; −1: the frame before the keyframe). The keyframes' maps are the guided filter's with
    a window of ``post`` = (radius as a fraction of the frame's longest side, ε), the local-affine
    post-process's settings; the keyframe itself is shown as its maps recolour it (2-3 grey levels
    from the optimised output, which its neighbours would otherwise jump to and from: a pulse). Each
    frame between is refined (``refine``) towards the propagated colours, trusted as much as the flow
    to its most reliable keyframe, and towards the previous output warped along the short flow
    t → t − 1, trusted as much as that flow (Ruder et al.'s temporal term): frames far from a
    keyframe, where the long flow goes wrong on moving people, otherwise go wrong differently from
    one frame to the next. The keyframe is tied so too, to ``before``, the output of the frame before
    it in its shot (the previous block's last frame; None at a shot's start): the frames between
    follow their input's change at about 0.4× (Sintel), an untied keyframe at about 0.8×, a step
    twice their usual change.
    Returns the outputs (uint8) of the keyframe and the frames up to the next keyframe, excluded."""
    keys = {0: first} | ({len(frames) - 1: last} if last is not None else {})
    n_classes = int(max(label.max() for label in labels)) + 1
    window = post_radius(frames[0], post[0])
    maps = {k: local_affine_maps(unit(frames[k]), unit(out), window, post[1]) for k, out in keys.items()}
    fallback = {k: class_maps(unit(frames[k]), unit(out), labels[k], n_classes) for k, out in keys.items()}

    def tied(t: int, image: np.ndarray, trust: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Frame t's ``image`` (trusted by ``trust``) refined towards ``previous``, the output of the
        frame before it, warped along the short flow t → t − 1."""
        flow, weights = pair(t, t - 1)
        targets = [(image, trust), (warp(unit(previous), flow), weights)]
        return refine(matting_coefficients(frames[t], refinement.eps, refinement.radius), targets, refinement, device)

    shown = apply_maps(maps[0], unit(frames[0]))
    if before is not None and refinement.iterations:
        shown = tied(0, shown, np.ones(shown.shape[:2], np.float32), before)
    outputs = [np.round(shown * 255.0).astype(np.uint8)]
    for t in range(1, len(frames) - (last is not None)):
        pairs = [pair(t, k) for k in keys]
        reliable = [weights for _, weights in pairs]
        image = propagate(
            unit(frames[t]),
            labels[t],
            [maps[k] for k in keys],
            [flow for flow, _ in pairs],
            reliable,
            [abs(t - k) for k in keys],
            fallback[min(keys, key=lambda k: abs(t - k))],
        )
        if refinement.iterations:
            image = tied(t, image, np.maximum.reduce(reliable), outputs[-1])
        outputs.append(np.round(image * 255.0).astype(np.uint8))
    return outputs


def refine(
    coefficients: MattingCoefficients,
    targets: Sequence[tuple[np.ndarray, np.ndarray]],
    refinement: Refinement,
    device: torch.device,
) -> np.ndarray:
    """The objective's photorealism and temporal terms alone, without VGG: minimise
    λ/N Σ_c x_cᵀ M x_c + γ/(3N) Σ_i w_i ⊙ (x − y_i)² (M: the frame's Matting Laplacian from
    ``coefficients``; ``targets`` the pairs (y_i, w_i): images H×W×3 in [0, 1] and their weights H×W
    in [0, 1]: the propagated image trusted as far as the flow to a keyframe, and the previous output
    warped along the short flow, trusted as far as that flow). Its minimum solves the sparse system
    (λ M + γ/3 · diag(Σ w_i)) x = γ/3 · Σ w_i ⊙ y_i, here by ``refinement.iterations`` conjugate-gradient
    steps, per channel, from the targets' weighted mean (the first target where no weight is): the
    maps' blend and the class maps' seams become locally affine again where they are trusted least."""
    photorealism, temporal = refinement.photorealism, refinement.temporal
    operator = MattingLaplacian(coefficients, device)
    weight = sum(w for _, w in targets)
    pulled = sum(w[..., None] * y for y, w in targets)
    start = np.where(weight[..., None] > 1e-6, pulled / np.maximum(weight, 1e-6)[..., None], targets[0][0])

    def tensor(values: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32)).to(device)

    diagonal = temporal / 3.0 * tensor(weight)[None] + 1e-6
    right = temporal / 3.0 * tensor(pulled.transpose(2, 0, 1))

    def system(values: torch.Tensor) -> torch.Tensor:
        return photorealism * operator(values) + diagonal * values

    def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a * b).sum(dim=(1, 2), keepdim=True)  # per channel

    x = tensor(start.transpose(2, 0, 1))
    residual = right - system(x)
    direction = residual.clone()
    norm = dot(residual, residual)
    for _ in range(refinement.iterations):
        product = system(direction)
        step = norm / dot(direction, product).clamp_min(1e-30)
        x += step * direction
        residual -= step * product
        new_norm = dot(residual, residual)
        direction = residual + new_norm / norm.clamp_min(1e-30) * direction
        norm = new_norm
    return np.clip(x.cpu().numpy().transpose(1, 2, 0), 0.0, 1.0)


def unit(image: np.ndarray) -> np.ndarray:
    """uint8 → float32 in [0, 1]."""
    return image.astype(np.float32) / 255.0
