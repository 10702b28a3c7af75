"""The Matting Laplacian of Levin et al. (2008): compact per-window coefficients and a matrix-free product.

M is the N×N matrix (N = pixels) that sums, over every (2r+1)² window w_k lying inside the frame,

    M_ij = Σ_k [ δ_ij − (1 + (I_i − μ_k)ᵀ Δ_k⁻¹ (I_j − μ_k)) / n ],   Δ_k = Σ_k + (ε/n)·Id,  n = |w_k|.

For any output x, Σ_c V_c[x]ᵀ M V_c[x] is zero exactly when x is locally an affine function of the
input colours, which is what keeps the result a photograph (Luan et al.). M is never formed: with
W_k = L_k⁻¹ for the Cholesky factor Δ_k = L_k L_kᵀ, e_kj = W_k (I_j − μ_k) and g_k = Σ_j e_kj v_j / n,

    (M v)_i = Σ_{k ∋ i} [ v_i − mean_k(v) − e_ki · g_k ].

The cache therefore holds the frame (uint8) and the six entries of each lower-triangular W_k
(float32): about 27 bytes per pixel, against about 200 for M as a float32 CSR matrix. Window
sums are taken on the integer colours, so μ_k and Σ_k are exact, and the factorisation keeps the
product accurate where Δ_k is nearly singular (flat or grey windows, where Δ_k⁻¹ reaches n/ε).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import h5py
import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from photostyle.atomic import atomic_path
from photostyle.errors import InputError

FORMAT = "matting-coefficients-2"  # 2: one group per frame of a block


@dataclass(frozen=True)
class MattingCoefficients:
    """What the product with a frame's Matting Laplacian needs: the frame and each window's W_k."""

    frame: np.ndarray  # H×W×3 uint8
    whitening: np.ndarray  # (H−2r)×(W−2r)×6 float32: W_k entries 00, 10, 11, 20, 21, 22
    eps: float
    radius: int

    @property
    def nbytes(self) -> int:
        return self.frame.nbytes + self.whitening.nbytes


def _window_sums(values: np.ndarray, size: int) -> np.ndarray:
    """Sums of an H×W×C array of integers over every size×size window inside it, as float64.

    Exact: a box filter's running sums of integers stay integers far below 2⁵³.
    """
    r = size // 2
    sums = cv2.boxFilter(values.astype(np.float64), -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return sums.reshape(values.shape)[r : values.shape[0] - r, r : values.shape[1] - r]


def matting_coefficients(frame: np.ndarray, eps: float = 1e-7, radius: int = 1) -> MattingCoefficients:
    """Per-window coefficients of the Matting Laplacian of an H×W×3 uint8 frame (vectorised)."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"the Matting Laplacian needs an H×W×3 uint8 frame, not {frame.dtype} {frame.shape}")
    size = 2 * radius + 1
    n = size * size
    h, w = frame.shape[:2]
    if h < size or w < size:
        raise ValueError(f"frame {w}×{h} is smaller than one {size}×{size} window")
    colours = frame.astype(np.float64)
    sums = _window_sums(colours, size)  # n·255·μ (integers)
    pairs = [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2)]
    products = _window_sums(np.stack([colours[..., c] * colours[..., d] for c, d in pairs], axis=-1), size)
    scale = float(n * n * 255 * 255)
    cov = {  # Δ_k entries: exact integer numerators of Σ_k, then the ridge
        (c, d): (n * products[..., p] - sums[..., c] * sums[..., d]) / scale + (eps / n if c == d else 0.0)
        for p, (c, d) in enumerate(pairs)
    }
    l00 = np.sqrt(cov[0, 0])
    l10, l20 = cov[1, 0] / l00, cov[2, 0] / l00
    l11 = np.sqrt(cov[1, 1] - l10**2)
    l21 = (cov[2, 1] - l20 * l10) / l11
    l22 = np.sqrt(cov[2, 2] - l20**2 - l21**2)
    w00, w11, w22 = 1.0 / l00, 1.0 / l11, 1.0 / l22
    w10 = -l10 * w00 * w11
    w21 = -l21 * w11 * w22
    w20 = -(l20 * w00 + l21 * w10) * w22
    whitening = np.stack([w00, w10, w11, w20, w21, w22], axis=-1).astype(np.float32)
    return MattingCoefficients(np.ascontiguousarray(frame), whitening, float(eps), int(radius))


def save_coefficients(path: str | os.PathLike, coefficients: Mapping[int, MattingCoefficients]) -> None:
    """Store the coefficients of a block of frames (by frame number) in one HDF5 file, atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs["format"] = FORMAT
        for i, frame in coefficients.items():
            group = handle.create_group(f"frame_{i:05d}")
            group.create_dataset("frame", data=frame.frame)
            group.create_dataset("whitening", data=frame.whitening)
            group.attrs.update(eps=frame.eps, radius=frame.radius)


def load_coefficients(path: str | os.PathLike, i: int) -> MattingCoefficients:
    """Frame i's coefficients from a file written by :func:`save_coefficients`; a bad or foreign
    file, or one without frame i, raises with its path."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as handle:
            if handle.attrs.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file (written by an older version? delete it to rebuild)")
            if f"frame_{i:05d}" not in handle:
                raise ValueError(f"no frame {i} in it (delete it to rebuild)")
            group = handle[f"frame_{i:05d}"]
            coefficients = MattingCoefficients(
                group["frame"][()], group["whitening"][()], float(group.attrs["eps"]), int(group.attrs["radius"])
            )
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"Laplacian file {path} cannot be read: {exc}") from exc
    h, w = coefficients.frame.shape[:2]
    side = 2 * coefficients.radius
    if coefficients.whitening.shape != (h - side, w - side, 6):
        raise InputError(f"Laplacian file {path} is inconsistent: {coefficients.whitening.shape} for a {w}×{h} frame")
    return coefficients


class MattingLaplacian:
    """The operator v ↦ M v on C×H×W tensors, in float32 on ``device`` (symmetric, so also its own adjoint)."""

    def __init__(self, coefficients: MattingCoefficients, device: torch.device):
        size = 2 * coefficients.radius + 1
        n = size * size
        frame = coefficients.frame.astype(np.float64)
        self.shape = frame.shape[:2]
        self.size = size
        # colour of every pixel j of every window k, as n·255·(I_j − μ_k): exact integers
        patches = sliding_window_view(frame, (size, size), axis=(0, 1)).reshape(-1, 3, n)
        sums = _window_sums(frame, size).reshape(-1, 3, 1)
        centred = (n * patches - sums) / (n * 255.0)  # windows × 3 × n, float64
        w = coefficients.whitening.reshape(-1, 6).astype(np.float64)[:, :, None]
        e = np.stack(
            [
                w[:, 0] * centred[:, 0],
                w[:, 1] * centred[:, 0] + w[:, 2] * centred[:, 1],
                w[:, 3] * centred[:, 0] + w[:, 4] * centred[:, 1] + w[:, 5] * centred[:, 2],
            ]
        )  # 3 × windows × n
        self.e = torch.from_numpy(e.transpose(0, 2, 1).astype(np.float32)).to(device)  # 3 × n × windows

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        """M applied to each channel of a C×H×W tensor."""
        h, w = self.shape
        patches = F.unfold(values[:, None], self.size)  # C × n × windows
        n = patches.shape[1]
        centred = patches - patches.mean(dim=1, keepdim=True)
        result = centred
        for e in self.e:  # the three colour directions of the windows, not pixels (Σ_j e_kj = 0: centred is exact)
            result = result - e * ((e * centred).sum(dim=1, keepdim=True) / n)
        return F.fold(result, (h, w), self.size)[:, 0]
