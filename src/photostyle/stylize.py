"""Stylisation of one frame by L-BFGS over its pixels.

The objective is  w_c·content + w_s·semantic style + λ·photorealism + γ·temporal  (see
``losses``). Everything that does not depend on the output image (content features, the
reference's per-class Gram matrices, class supports per layer, the Laplacian operator, the warped
previous outputs) is computed once per frame and scale, before the optimiser starts.

How a frame is started and stopped (``Settings``): a frame with stylised predecessors starts from
the previous output warped onto it where the flow is reliable, and elsewhere from the frame
recoloured by the colour map that the reliable pixels show (``fill``); a frame without them starts
from the frame or from its per-class colour transfer (``init``), optimised first at reduced sizes
(``coarse_scales``). Each stage stops when the total loss has fallen by less than
``tolerance`` (relative) over the last ``window`` iterations, or after ``iterations``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from photostyle import colour, losses
from photostyle.config import defaults
from photostyle.frame_inputs import FrameInputs
from photostyle.matting import MattingLaplacian
from photostyle.segmentation import class_masks
from photostyle.vgg import VGGFeatures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weights:
    """Weight of each loss term (config ``stylize.weights``)."""

    content: float
    style: float
    photorealism: float  # λ
    temporal: float  # γ


@dataclass(frozen=True)
class Settings:
    """Optimisation settings: the config's ``stylize`` section (its defaults are the schema's, see
    ``from_config`` and ``defaults``), and ``segmentation.fallback``."""

    weights: Weights
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    iterations: int  # cap per stage
    tolerance: float  # stop when the loss falls by less than this (relative) over `window` iterations
    window: int
    line_search: str  # none (one evaluation per iteration) | strong_wolfe
    history_size: int
    init: str  # cold start from: frame | colour_transfer
    fill: str  # warm start, unreliable pixels from: frame | colour_map
    coarse_scales: tuple[float, ...]  # a cold start is optimised at these fractions of the size first
    two_stage: bool  # a cold start is optimised without the photorealism term first (Luan et al.)
    # (radius as a fraction of the frame's longest side, eps) of the local-affine post-process; None: off
    local_affine: tuple[float, float] | None
    style_fallback: str  # segmentation.fallback: none | global

    @classmethod
    def from_config(cls, config: dict, style_fallback: str) -> Settings:
        """Settings from the config's ``stylize`` section and ``segmentation.fallback``."""
        post = config["local_affine"]
        keys = ("iterations", "tolerance", "window", "line_search", "history_size", "init", "fill", "two_stage")
        return cls(
            weights=Weights(**config["weights"]),
            content_layers=tuple(config["content_layers"]),
            style_layers=tuple(config["style_layers"]),
            coarse_scales=tuple(config["coarse_scales"]),
            local_affine=(post["radius"], post["eps"]) if post["enabled"] else None,
            style_fallback=style_fallback,
            **{key: config[key] for key in keys},
        )

    @classmethod
    def defaults(cls, **changes: object) -> Settings:
        """The schema's defaults (those of a run), with ``changes``; ``weights`` may be a dict of the
        weights to change."""
        config = defaults()
        settings = cls.from_config(config["stylize"], config["segmentation"]["fallback"])
        if isinstance(changes.get("weights"), dict):
            changes["weights"] = replace(settings.weights, **changes["weights"])
        return replace(settings, **changes)


@dataclass
class Result:
    """The stylised frame, the optimiser's output it was made from, and the loss terms at every
    evaluation of the objective. Later frames of a chain are tied to ``optimised``: fed back, the
    post-process's refit would compound along the chain (a wide window then costs temporal coherence)."""

    image: np.ndarray  # H×W×3 uint8, after the local-affine post-process
    optimised: np.ndarray  # H×W×3 uint8, before it
    history: list[dict[str, float]]  # each record also has its stage's scale and the seconds since the start


def to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """H×W×3 (uint8 or float in [0, 1]) → 1×3×H×W float32."""
    array = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None].to(device)


def initial_image(inputs: FrameInputs, settings: Settings) -> np.ndarray:
    """Start point (H×W×3 float32 in [0, 1]).

    Warm start (a previous output exists): that output warped here where the flow is reliable,
    elsewhere the frame, or with ``fill: colour_map`` the frame recoloured by the per-class
    affine colour map from frame to output that the reliable pixels show. Cold start: the frame,
    or with ``init: colour_transfer`` its per-class colour transfer from the reference.
    """
    frame = inputs.content.astype(np.float32) / 255.0
    if inputs.previous and inputs.reliable is not None:
        if settings.fill == "colour_map":
            frame = colour.affine_colour_map(
                frame, inputs.previous[0].warped, inputs.reliable >= 0.5, inputs.content_labels
            )
        reliable = inputs.reliable[:, :, None]
        return (reliable * inputs.previous[0].warped + (1.0 - reliable) * frame).astype(np.float32)
    if settings.init == "colour_transfer":
        return colour.transfer_statistics(frame, inputs.content_labels, inputs.style, inputs.style_labels)
    return frame


class Objective:
    """The total loss of one frame, with all its fixed targets precomputed."""

    def __init__(self, extractor: VGGFeatures, inputs: FrameInputs, settings: Settings, device: torch.device):
        self.extractor = extractor
        self.settings = settings
        n_classes = int(max(inputs.content_labels.max(), inputs.style_labels.max())) + 1
        masks = torch.from_numpy(class_masks(inputs.content_labels, n_classes)).to(device)
        style_masks = torch.from_numpy(class_masks(inputs.style_labels, n_classes)).to(device)
        with torch.inference_mode():
            content_features = extractor(to_tensor(inputs.content, device))
            style_features = extractor(to_tensor(inputs.style, device))
            self.content_targets = {name: content_features[name].clone() for name in settings.content_layers}
            self.style_targets = {
                name: losses.StyleTarget(style_features[name], style_masks, settings.style_fallback)
                for name in settings.style_layers
            }
        self.masks = {
            name: losses.ClassMasks(masks, *content_features[name].shape[2:]) for name in settings.style_layers
        }
        self.laplacian = MattingLaplacian(inputs.coefficients, device)
        self.warped = [to_tensor(p.warped, device) for p in inputs.previous]
        self.temporal_weights = [
            torch.from_numpy(p.weight.astype(np.float32)).to(device)[None, None] for p in inputs.previous
        ]

    def terms(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each weighted loss term for an image (1×3×H×W)."""
        weights = self.settings.weights
        features = self.extractor(image)
        content = sum(losses.content_loss(features[n], t) for n, t in self.content_targets.items())
        style = sum(t.loss(features[n], self.masks[n]) for n, t in self.style_targets.items())
        terms = {
            "content": weights.content * content / len(self.content_targets),
            "style": weights.style * style / len(self.style_targets),
            "photorealism": weights.photorealism * losses.photorealism_loss(image, self.laplacian),
        }
        if self.warped:
            terms["temporal"] = weights.temporal * losses.temporal_loss(image, self.warped, self.temporal_weights)
        return terms


class _Converged(Exception):
    """Raised from the closure to end L-BFGS once the loss has stopped falling."""


def converged(totals: list[float], settings: Settings) -> bool:
    """Whether the loss fell by less than ``tolerance`` (relative) over the last ``window`` iterations
    (never with ``tolerance`` 0: then every iteration runs)."""
    if settings.tolerance <= 0 or len(totals) <= settings.window:
        return False
    before, now = totals[-1 - settings.window], totals[-1]
    return before - now < settings.tolerance * abs(now)


def minimise(
    objective: Objective, init: np.ndarray, device: torch.device, scale: float = 1.0, started: float | None = None
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Minimise the objective by L-BFGS from ``init`` (H×W×3 float in [0, 1]) until it converges;
    the result (H×W×3 float32) and, at each evaluation, the terms, the scale and the seconds
    since ``started`` (a ``time.perf_counter()`` value; default: now)."""
    started = time.perf_counter() if started is None else started
    settings = objective.settings
    image = to_tensor(init, device).requires_grad_(True)
    search = settings.line_search == "strong_wolfe"
    history: list[dict[str, float]] = []
    totals: list[float] = []  # the loss at each iterate (a line search evaluates several points per iterate)
    done = 0  # iterations of earlier L-BFGS runs (it is restarted when it stops before the cap)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        terms = objective.terms(image)
        total = sum(terms.values())
        values = torch.stack([*terms.values(), total]).detach().tolist()  # one device sync, not one per term
        record = dict(zip([*terms, "total"], values, strict=True))
        if not all(math.isfinite(v) for v in record.values()):
            raise FloatingPointError(f"loss became non-finite at evaluation {len(history) + 1}: {record}")
        history.append(record | {"scale": scale, "seconds": time.perf_counter() - started})
        log.info("eval %4d  scale %.2f  %s", len(history), scale, "  ".join(f"{k} {v:.6g}" for k, v in record.items()))
        total.backward()
        iterate = done + optimiser.state[image].get("n_iter", 0)
        if iterate < len(totals):
            totals[iterate] = record["total"]
        else:
            totals.append(record["total"])
            if converged(totals, settings):
                raise _Converged
        return total

    while done < settings.iterations:
        left = settings.iterations - done
        optimiser = torch.optim.LBFGS(
            [image],
            lr=1.0,
            max_iter=left,
            max_eval=(2 * left if search else left) + 1,  # + the evaluation at the start
            history_size=settings.history_size,
            tolerance_grad=1e-9,
            tolerance_change=1e-12,
            line_search_fn="strong_wolfe" if search else None,
        )
        try:
            optimiser.step(closure)
        except _Converged:
            log.info("scale %.2f converged after %d iterations (loss fell < %g over %d)", scale, len(totals) - 1,
                     settings.tolerance, settings.window)  # fmt: skip
            break
        ran = optimiser.state[image]["n_iter"]
        done += ran
        if ran < 2:  # no progress even from a fresh start: at a minimum as far as float32 can tell
            break
        if done < settings.iterations:  # a step that did not descend ends torch's L-BFGS: start afresh
            log.info("L-BFGS stopped after %d iterations; restarted with a fresh history", done)
    return image.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy(), history


def stylize(extractor: VGGFeatures, inputs: FrameInputs, settings: Settings, device: torch.device) -> Result:
    """Stylise one frame: warm start at full size, or a cold start through ``coarse_scales`` (and with
    ``two_stage`` at full size without the photorealism term), then full size with every term; then
    the local-affine post-process when asked for."""
    warm = bool(inputs.previous) and inputs.reliable is not None
    started = time.perf_counter()
    history: list[dict[str, float]] = []
    image: np.ndarray | None = None
    stages = [(1.0, settings)]
    if not warm:
        stages = [(scale, settings) for scale in settings.coarse_scales] + stages
        if settings.two_stage:
            stages.insert(-1, (1.0, replace(settings, weights=replace(settings.weights, photorealism=0.0))))
    for scale, stage_settings in stages:
        stage = inputs.scaled(scale)
        if image is None:
            start = initial_image(stage, settings)
        else:
            height, width = stage.content.shape[:2]
            start = cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)
        objective = Objective(extractor, stage, stage_settings, device)
        image, evaluations = minimise(objective, start, device, scale, started)
        history += evaluations
    optimised = np.rint(image * 255.0).astype(np.uint8)
    if not settings.local_affine:
        return Result(optimised, optimised, history)
    fraction, eps = settings.local_affine
    refit = colour.local_affine(inputs.content / 255.0, image, post_radius(inputs.content, fraction), eps)
    return Result(np.rint(refit * 255.0).astype(np.uint8), optimised, history)


def post_radius(frame: np.ndarray, fraction: float) -> int:
    """The local-affine post-process's window radius in pixels: ``fraction`` of the frame's longest
    side, so that a setting means the same smoothing at every working size."""
    return max(1, round(fraction * max(frame.shape[:2])))
