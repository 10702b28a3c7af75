"""The Matting Laplacian of Levin et al. (2008): compact per-window coefficients, and the matrix from them.

M is the N×N matrix (N = pixels) that sums, over every (2r+1)² window w_k lying inside the frame,

    M_ij = Σ_k [ δ_ij − (1 + (I_i − μ_k)ᵀ Δ_k⁻¹ (I_j − μ_k)) / n ],   Δ_k = Σ_k + (ε/n)·Id,  n = |w_k|.

For any output x, Σ_c V_c[x]ᵀ M V_c[x] is zero exactly when x is locally an affine function of the
input colours, which is what keeps the result a photograph (Luan et al.). With W_k = L_k⁻¹ for the
Cholesky factor Δ_k = L_k L_kᵀ and e_kj = W_k (I_j − μ_k), the window term is e_ki · e_kj.

The cache (the ``laplacian`` rule's file) therefore holds the frame (uint8) and the six entries of
each lower-triangular W_k (float32): about 27 bytes per pixel, against about 200 for M as a
float32 CSR matrix. Window sums are taken on the integer colours, so μ_k and Σ_k are exact, and
the factorisation keeps M accurate where Δ_k is nearly singular (flat or grey windows, where Δ_k⁻¹
reaches n/ε). The stylisation job assembles M from them (e_kj in float64 from those exact
differences, then float32).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import h5py
import numpy as np
import torch
import torch.nn.functional as F

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


def matting_coefficients(frame: np.ndarray, eps: float, radius: int) -> MattingCoefficients:
    """Per-window coefficients of the Matting Laplacian of an H×W×3 uint8 frame (vectorised): ``eps``
    regularises each window, ``radius`` its half-size (1: the 3×3 windows of Levin et al.)."""
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
    """The operator v ↦ M v on C×H×W tensors, in float32 on ``device`` (symmetric, so also its own adjoint).

    M is assembled once per frame (and scale) from the cached coefficients into a float32 CSR matrix
    ((4r+1)² entries per row: 200 bytes per pixel at r = 1, in memory only): each product is then
    one sparse × dense multiplication, ≈ 10× faster on the CPU than a window-by-window product
    (unfold, project out each window's mean and colour directions, fold; benchmarks/README.md).
    """

    def __init__(self, coefficients: MattingCoefficients, device: torch.device):
        size = 2 * coefficients.radius + 1
        n = size * size
        h, w = coefficients.frame.shape[:2]
        kh, kw = h - size + 1, w - size + 1  # the window grid
        e = _whitened_colours(coefficients.frame, coefficients.whitening, size)
        reach = 2 * size - 1  # offsets between two pixels of a window: reach × reach of them
        diagonals = np.zeros((reach, reach, h, w), dtype=np.float32)  # M[i, i + offset] at pixel i
        for a in range(n):
            ay, ax = divmod(a, size)
            for b in range(a, n):  # M is symmetric: each pair of window places once, in both diagonals
                by, bx = divmod(b, size)
                entry = np.einsum("dyx,dyx->yx", e[a], e[b])
                entry += 1.0
                entry *= -1.0 / n
                if a == b:
                    entry += 1.0
                diagonals[by - ay + size - 1, bx - ax + size - 1, ay : ay + kh, ax : ax + kw] += entry
                if a != b:
                    diagonals[ay - by + size - 1, ax - bx + size - 1, by : by + kh, bx : bx + kw] += entry
        # Columns index the frame padded by reach // 2 zeros on every side, so that every row has its reach²
        # entries in ascending order (those of neighbours outside the frame are 0) and no mask is needed.
        self.pad = reach // 2
        padded_width = w + 2 * self.pad
        offsets = (np.arange(reach)[:, None] * padded_width + np.arange(reach)).ravel().astype(np.int32)
        corners = (np.arange(h)[:, None] * padded_width + np.arange(w)).ravel().astype(np.int32)  # offset (−pad, −pad)
        with warnings.catch_warnings():  # "sparse CSR tensor support is in beta": the product used here is not
            warnings.simplefilter("ignore", UserWarning)
            self.matrix = torch.sparse_csr_tensor(
                torch.arange(0, reach * reach * h * w + 1, reach * reach, dtype=torch.int32),
                torch.from_numpy((corners[:, None] + offsets).ravel()),
                torch.from_numpy(diagonals).reshape(reach * reach, h * w).T.contiguous().ravel(),
                size=(h * w, (h + 2 * self.pad) * padded_width),
            ).to(device)

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        """M applied to each channel of a C×H×W tensor."""
        padded = F.pad(values, (self.pad,) * 4).reshape(values.shape[0], -1)
        return (self.matrix @ padded.T).T.reshape(values.shape)


def _whitened_colours(frame: np.ndarray, whitening: np.ndarray, size: int) -> np.ndarray:
    """e_kj = W_k (I_j − μ_k) for every place j of every window k (n × 3 × windows' rows × columns).

    In float64 from exact integer differences, then float32: |e_kj| ≤ √n, as W_k whitens the window."""
    n = size * size
    kh, kw = whitening.shape[:2]
    colours = np.ascontiguousarray(frame.transpose(2, 0, 1), dtype=np.float64)
    sums = _window_sums(frame.astype(np.float64), size).transpose(2, 0, 1)  # n·255·μ_k: exact integers
    w = np.ascontiguousarray(whitening.transpose(2, 0, 1), dtype=np.float64)
    e = np.empty((n, 3, kh, kw), dtype=np.float32)
    for j in range(n):
        y, x = divmod(j, size)
        centred = (n * colours[:, y : y + kh, x : x + kw] - sums) / (n * 255.0)  # I_j − μ_k
        e[j, 0] = w[0] * centred[0]
        e[j, 1] = w[1] * centred[0] + w[2] * centred[1]
        e[j, 2] = w[3] * centred[0] + w[4] * centred[1] + w[5] * centred[2]
    return e
