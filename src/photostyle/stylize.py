"""Stylisation of one frame by L-BFGS over its pixels.

The objective is  w_c·content + w_s·semantic style + λ·photorealism + γ·temporal  (see
``losses``). Everything that does not depend on the output image (content features, the
reference's per-class Gram matrices, resized masks, the sparse Laplacian, the warped previous
outputs) is computed once, before the optimiser starts.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from photostyle import losses
from photostyle.segmentation import class_masks
from photostyle.vgg import VGGFeatures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weights:
    """Weight of each loss term (config ``stylize.weights``)."""

    content: float = 5.0
    style: float = 10.0
    photorealism: float = 1e3
    temporal: float = 50.0


@dataclass(frozen=True)
class Settings:
    """Optimisation settings (config ``stylize``)."""

    weights: Weights = field(default_factory=Weights)
    content_layers: tuple[str, ...] = ("relu4_2",)
    style_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    iterations: int = 100
    history_size: int = 50
    style_fallback: str = "none"  # segmentation.fallback: none | global


@dataclass(frozen=True)
class Previous:
    """An earlier stylised frame warped onto this one, with its long-term weights c_long."""

    warped: np.ndarray  # H×W×3 float32 in [0, 1]
    weight: np.ndarray  # H×W float32 in [0, 1]


@dataclass
class Result:
    """The stylised frame and the loss terms at every evaluation of the objective."""

    image: np.ndarray  # H×W×3 uint8
    history: list[dict[str, float]]


def to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """H×W×3 (uint8 or float in [0, 1]) → 1×3×H×W float32."""
    array = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None].to(device)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """1×3×H×W in [0, 1] → H×W×3 uint8."""
    array = image.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
    return np.rint(array * 255.0).astype(np.uint8)


def initial_image(content: np.ndarray, warped_previous: np.ndarray | None, reliable: np.ndarray | None) -> np.ndarray:
    """Start point: the previous output warped here where the flow is reliable, the frame elsewhere."""
    frame = content.astype(np.float32) / 255.0
    if warped_previous is None or reliable is None:
        return frame
    return reliable[:, :, None] * warped_previous + (1.0 - reliable[:, :, None]) * frame


class Objective:
    """The total loss of one frame, with all its fixed targets precomputed."""

    def __init__(
        self,
        extractor: VGGFeatures,
        content: np.ndarray,
        style: np.ndarray,
        content_labels: np.ndarray,
        style_labels: np.ndarray,
        laplacian: sp.csr_matrix,
        previous: list[Previous],
        settings: Settings,
        device: torch.device,
    ):
        self.extractor = extractor
        self.settings = settings
        n_classes = int(max(content_labels.max(), style_labels.max())) + 1
        self.masks = torch.from_numpy(class_masks(content_labels, n_classes)).to(device)
        style_masks = torch.from_numpy(class_masks(style_labels, n_classes)).to(device)
        with torch.inference_mode():
            content_features = extractor(to_tensor(content, device))
            style_features = extractor(to_tensor(style, device))
            self.content_targets = {name: content_features[name].clone() for name in settings.content_layers}
            self.style_targets = {
                name: losses.StyleTarget(style_features[name], style_masks, settings.style_fallback)
                for name in settings.style_layers
            }
        self.layer_masks = {
            name: losses.layer_masks(self.masks, *content_features[name].shape[2:]) for name in settings.style_layers
        }
        self.laplacian = losses.laplacian_tensor(laplacian, device)
        self.warped = [to_tensor(p.warped, device) for p in previous]
        self.temporal_weights = [torch.from_numpy(p.weight.astype(np.float32)).to(device)[None, None] for p in previous]

    def terms(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each weighted loss term for an image (1×3×H×W)."""
        weights = self.settings.weights
        features = self.extractor(image)
        content = sum(losses.content_loss(features[n], t) for n, t in self.content_targets.items())
        style = sum(t.loss(features[n], self.layer_masks[n]) for n, t in self.style_targets.items())
        terms = {
            "content": weights.content * content / len(self.content_targets),
            "style": weights.style * style / len(self.style_targets),
            "photorealism": weights.photorealism * losses.photorealism_loss(image, self.laplacian),
        }
        if self.warped:
            terms["temporal"] = weights.temporal * losses.temporal_loss(image, self.warped, self.temporal_weights)
        return terms


def stylize_frame(objective: Objective, init: np.ndarray, device: torch.device) -> Result:
    """Minimise the objective by L-BFGS from ``init`` (H×W×3 float in [0, 1])."""
    image = to_tensor(init, device).requires_grad_(True)
    optimiser = torch.optim.LBFGS(
        [image],
        lr=1.0,
        max_iter=objective.settings.iterations,
        history_size=objective.settings.history_size,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )
    history: list[dict[str, float]] = []

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        terms = objective.terms(image)
        total = sum(terms.values())
        record = {name: float(value.detach()) for name, value in terms.items()} | {"total": float(total.detach())}
        if not all(math.isfinite(v) for v in record.values()):
            raise FloatingPointError(f"loss became non-finite at evaluation {len(history) + 1}: {record}")
        history.append(record)
        log.info("eval %4d  %s", len(history), "  ".join(f"{k} {v:.6g}" for k, v in record.items()))
        total.backward()
        return total

    optimiser.step(closure)
    return Result(to_uint8(image), history)
