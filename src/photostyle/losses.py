"""The four loss terms of the method, as differentiable functions of the output image.

Content and style terms are relative errors (divided by the target's magnitude), so that
their weights mean the same whatever the feature scale of the VGG weights; the
photorealism term is per pixel, so that its weight does not depend on the working size.
"""

from __future__ import annotations

import warnings

import scipy.sparse as sp
import torch
import torch.nn.functional as F


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """‖F(x) − F(content)‖² / ‖F(content)‖² at one layer (Gatys et al., relative)."""
    return ((features - target) ** 2).sum() / (target**2).sum().clamp_min(1e-12)


def layer_masks(masks: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Class masks (K×H×W, one-hot) resized to a layer's size by area averaging (soft at edges)."""
    return F.interpolate(masks[None], size=(height, width), mode="area")[0]


def gram_per_class(features: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask-weighted Gram matrix of each class, G_k = F diag(m_k) Fᵀ / (C Σ m_k), and the Σ m_k.

    ``features`` is 1×C×H×W, ``masks`` K×H×W at the same size. One matrix product per
    class; classes are few, pixels never loop.
    """
    channels = features.shape[1]
    flat = features.reshape(channels, -1)
    weights = masks.reshape(masks.shape[0], -1)
    area = weights.sum(dim=1)
    grams = torch.stack([(flat * w) @ flat.T for w in weights])
    return grams / (channels * area.clamp_min(1e-6))[:, None, None], area


class StyleTarget:
    """Per-class Gram matrices of the reference at one layer, computed once per frame."""

    def __init__(self, features: torch.Tensor, masks: torch.Tensor, fallback: str = "none"):
        """``fallback``: what a class absent from the reference is compared with, ``none``
        (nothing: no term) or ``global`` (the Gram matrix of the whole reference)."""
        small = layer_masks(masks, features.shape[2], features.shape[3])
        self.grams, self.area = gram_per_class(features, small)
        if fallback == "global":
            whole, total = gram_per_class(features, torch.ones_like(small[:1]))
            absent = self.area < 1.0
            self.grams = torch.where(absent[:, None, None], whole, self.grams)
            self.area = torch.where(absent, total, self.area)
        elif fallback != "none":
            raise ValueError(f"segmentation.fallback must be global or none, not {fallback!r}")

    def loss(self, features: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Σ_k a_k ‖G_k(x) − G_k(ref)‖² / ‖G_k(ref)‖² over classes present on both sides.

        a_k is class k's share of the frame, so large regions weigh more than slivers; a
        class with less than one pixel's worth of mask at this layer in the frame has no term,
        nor has one absent from the reference unless the fallback is ``global``.
        """
        grams, area = gram_per_class(features, masks)
        present = (area >= 1.0) & (self.area >= 1.0)
        if not present.any():
            return features.new_zeros(())
        share = area[present] / area[present].sum()
        diff = ((grams[present] - self.grams[present]) ** 2).sum(dim=(1, 2))
        norm = (self.grams[present] ** 2).sum(dim=(1, 2)).clamp_min(1e-12)
        return (share * diff / norm).sum()


class _QuadraticForm(torch.autograd.Function):
    """Σ_c v_cᵀ M v_c for symmetric sparse M, with gradient 2 M v (one sparse product per pass)."""

    @staticmethod
    def forward(ctx, values: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        product = matrix @ values
        ctx.save_for_backward(product)
        return (values * product).sum()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (product,) = ctx.saved_tensors
        return 2.0 * grad * product, None


def laplacian_tensor(matrix: sp.csr_matrix, device: torch.device) -> torch.Tensor:
    """A scipy CSR matrix as a float32 torch sparse CSR tensor on ``device``."""
    matrix = matrix.tocsr()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype("int64")),
            torch.from_numpy(matrix.indices.astype("int64")),
            torch.from_numpy(matrix.data.astype("float32")),
            size=matrix.shape,
            device=device,
            check_invariants=False,  # built by scipy from a valid CSR matrix
        )


def photorealism_loss(image: torch.Tensor, laplacian: torch.Tensor) -> torch.Tensor:
    """Σ_c V_c[x]ᵀ M V_c[x] / N for a 1×3×H×W image and the frame's N×N Matting Laplacian."""
    values = image[0].reshape(3, -1).T  # N × 3, row-major pixel order as in matting.py
    return _QuadraticForm.apply(values, laplacian) / values.shape[0]


def temporal_loss(image: torch.Tensor, warped: list[torch.Tensor], weights: list[torch.Tensor]) -> torch.Tensor:
    """Σ_j mean(c_long,j ⊙ (x − warp(x(i−j)))²) (Ruder et al., long-term)."""
    total = image.new_zeros(())
    for previous, weight in zip(warped, weights, strict=True):
        total = total + (weight * (image - previous) ** 2).mean()
    return total
