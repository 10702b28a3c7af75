"""The four loss terms of the method, as differentiable functions of the output image.

Content and style terms are relative errors (divided by the target's magnitude), so that
their weights mean the same whatever the feature scale of the VGG weights; the
photorealism term is per pixel, so that its weight does not depend on the working size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from photostyle.matting import MattingLaplacian


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """‖F(x) − F(content)‖² / ‖F(content)‖² at one layer (Gatys et al., relative)."""
    return ((features - target) ** 2).sum() / (target**2).sum().clamp_min(1e-12)


def layer_masks(masks: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Class masks (K×H×W, one-hot) resized to a layer's size by area averaging (soft at edges)."""
    return F.interpolate(masks[None], size=(height, width), mode="area")[0]


class ClassMasks:
    """Soft class masks at one layer's size, with each class's support (the pixels where its mask is not 0).

    G_k = F diag(m_k) Fᵀ is computed as (F_s √m_s)ᵀ(F_s √m_s) over the support s only (F: pixels ×
    channels), so the Gram matrices of all classes together cost about one product over the frame
    (the supports overlap only at soft class edges) instead of one per class. The supports are
    gathered in one go; the backward pass gathers each pixel's gradient from its first place in
    them (``first``) and adds the few places where supports overlap (``repeats``), which is several
    times faster than scattering everything. Built once per frame and layer.
    """

    def __init__(self, masks: torch.Tensor, height: int, width: int):
        flat = layer_masks(masks, height, width).reshape(masks.shape[0], -1)
        self.area = flat.sum(dim=1)
        self.areas = self.area.tolist()  # on the host: which classes have a term is decided without a sync
        supports = [torch.nonzero(m > 0).squeeze(1) for m in flat]
        self.index = torch.cat(supports)
        root = torch.cat([m[s].sqrt() for m, s in zip(flat, supports, strict=True)])
        self.root = None if bool((root == 1).all()) else root  # hard masks (full-size layers) need no weights
        ends = torch.tensor([len(s) for s in supports]).cumsum(0).tolist()
        self.slices = [slice(end - len(s), end) for end, s in zip(ends, supports, strict=True)]
        places = torch.arange(len(self.index), device=self.index.device)
        # a pixel in no support points one past the end, where the backward pass keeps a zero row
        unplaced = torch.full((flat.shape[1],), len(self.index), device=self.index.device)
        self.first = unplaced.scatter_reduce(0, self.index, places, "amin")
        self.repeats = places[self.first[self.index] != places]
        self.repeated_pixels = self.index[self.repeats]

    def grams(self, features: torch.Tensor, classes: list[int]) -> torch.Tensor:
        """G_k / (C Σ m_k) for the listed classes, from 1×C×h×w features (len(classes)×C×C)."""
        channels = features.shape[1]
        rows = features.permute(0, 2, 3, 1).reshape(-1, channels)  # pixels × C: a view of channels-last features
        grams = _ClassGrams.apply(rows, self, [self.slices[k] for k in classes])
        return grams / (channels * self.area[classes].clamp_min(1e-6))[:, None, None]


class _ClassGrams(torch.autograd.Function):
    """W_kᵀ W_k for each class, W = the pixel rows of the features gathered at the class supports
    (and weighted by √m).

    Rows, not columns: with channels-last features a pixel's C values are contiguous, so the
    gathers copy whole rows (about twice as fast as gathering columns of a C×N matrix). The
    backward pass uses the symmetry of a Gram matrix: dW_k = W_k (dG_k + dG_kᵀ), one product per
    class where autograd would do two.
    """

    @staticmethod
    def forward(ctx, rows: torch.Tensor, masks: ClassMasks, slices: list[slice]):
        weighted = rows.index_select(0, masks.index)
        if masks.root is not None:
            weighted = weighted * masks.root[:, None]
        ctx.save_for_backward(weighted)
        ctx.masks, ctx.slices = masks, slices
        return torch.stack([weighted[s].T @ weighted[s] for s in slices])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (weighted,) = ctx.saved_tensors
        masks = ctx.masks
        places = weighted.shape[0]
        d_weighted = weighted.new_empty(places + 1, weighted.shape[1])
        d_weighted[places] = 0.0  # the row of pixels in no support
        for s in masks.slices:
            if s not in ctx.slices:  # a class without a term
                d_weighted[s] = 0.0
        for g, s in zip(grad, ctx.slices, strict=True):
            torch.mm(weighted[s], g + g.T, out=d_weighted[s])
        if masks.root is not None:
            d_weighted[:places] *= masks.root[:, None]
        d_rows = d_weighted.index_select(0, masks.first)
        if len(masks.repeats):
            d_rows.index_add_(0, masks.repeated_pixels, d_weighted[masks.repeats])
        return d_rows, None, None


class StyleTarget:
    """Per-class Gram matrices of the reference at one layer, computed once per frame."""

    def __init__(self, features: torch.Tensor, masks: torch.Tensor, fallback: str = "none"):
        """``masks``: the reference's K×H×W class masks; ``fallback``: what a class absent from the
        reference is compared with, ``none`` (nothing: no term) or ``global`` (the Gram matrix of
        the whole reference)."""
        if fallback not in ("none", "global"):
            raise ValueError(f"segmentation.fallback must be global or none, not {fallback!r}")
        reference = ClassMasks(masks, features.shape[2], features.shape[3])
        classes = list(range(masks.shape[0]))
        self.grams = reference.grams(features, classes)
        self.areas = reference.areas
        if fallback == "global":
            whole = ClassMasks(torch.ones_like(masks[:1]), features.shape[2], features.shape[3])
            absent = [k for k in classes if self.areas[k] < 1.0]
            if absent:
                self.grams[absent] = whole.grams(features, [0])
                for k in absent:
                    self.areas[k] = whole.areas[0]

    def loss(self, features: torch.Tensor, masks: ClassMasks) -> torch.Tensor:
        """Σ_k a_k ‖G_k(x) − G_k(ref)‖² / ‖G_k(ref)‖² over classes present on both sides.

        a_k is class k's share of the frame, so large regions weigh more than slivers; a
        class with less than one pixel's worth of mask at this layer in the frame has no term,
        nor has one absent from the reference unless the fallback is ``global``.
        """
        present = [k for k, (a, b) in enumerate(zip(masks.areas, self.areas, strict=True)) if a >= 1.0 and b >= 1.0]
        if not present:
            return features.new_zeros(())
        area = masks.area[present]
        share = area / area.sum()
        target = self.grams[present]
        diff = ((masks.grams(features, present) - target) ** 2).sum(dim=(1, 2))
        norm = (target**2).sum(dim=(1, 2)).clamp_min(1e-12)
        return (share * diff / norm).sum()


class _QuadraticForm(torch.autograd.Function):
    """Σ_c v_cᵀ M v_c for a symmetric operator M, with gradient 2 M v (one product per pass)."""

    @staticmethod
    def forward(ctx, values: torch.Tensor, operator: MattingLaplacian) -> torch.Tensor:
        product = operator(values)
        ctx.save_for_backward(product)
        return (values * product).sum()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (product,) = ctx.saved_tensors
        return 2.0 * grad * product, None


def photorealism_loss(image: torch.Tensor, laplacian: MattingLaplacian) -> torch.Tensor:
    """Σ_c V_c[x]ᵀ M V_c[x] / N for a 1×3×H×W image and the frame's Matting Laplacian M (N pixels)."""
    values = image[0]
    return _QuadraticForm.apply(values, laplacian) / (values.shape[1] * values.shape[2])


def temporal_loss(image: torch.Tensor, warped: list[torch.Tensor], weights: list[torch.Tensor]) -> torch.Tensor:
    """Σ_j mean(c_long,j ⊙ (x − warp(x(i−j)))²) (Ruder et al., long-term)."""
    total = image.new_zeros(())
    for previous, weight in zip(warped, weights, strict=True):
        total = total + (weight * (image - previous) ** 2).mean()
    return total
