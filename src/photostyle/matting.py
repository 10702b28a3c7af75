"""The Matting Laplacian of Levin et al. (2008) and its cache files.

M is the sparse N×N matrix (N = pixels) with, summed over every window w_k (3×3 for
radius 1) centred on an interior pixel,

    M_ij = Σ_k [ δ_ij − (1 + (I_i − μ_k)ᵀ (Σ_k + ε/|w_k| I)⁻¹ (I_j − μ_k)) / |w_k| ].

For any output x, Σ_c V_c[x]ᵀ M V_c[x] is zero exactly when x is locally an affine
function of the input colours, which is what keeps the result a photograph (Luan et al.).
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import scipy.sparse as sp
from numpy.lib.stride_tricks import sliding_window_view

from photostyle.atomic import atomic_path
from photostyle.errors import InputError


def matting_laplacian(image: np.ndarray, eps: float = 1e-7, radius: int = 1) -> sp.csr_matrix:
    """Matting Laplacian of an H×W×3 image with values in [0, 1], as float32 CSR.

    Fully vectorised: all windows' means, covariances and inverses at once, then one COO
    assembly in which duplicate (i, j) entries from overlapping windows are summed.
    """
    h, w, channels = image.shape
    size = 2 * radius + 1
    n = size * size
    if h < size or w < size:
        raise ValueError(f"image {w}×{h} is smaller than one {size}×{size} window")
    img = image.astype(np.float64)
    index = np.arange(h * w, dtype=np.int64).reshape(h, w)
    win_index = sliding_window_view(index, (size, size)).reshape(-1, n)
    win_colour = sliding_window_view(img, (size, size), axis=(0, 1)).reshape(-1, channels, n)
    win_colour = win_colour.transpose(0, 2, 1)  # windows × n × channels

    mean = win_colour.mean(axis=1, keepdims=True)
    centred = win_colour - mean
    cov = np.einsum("kni,knj->kij", centred, centred) / n
    inv = np.linalg.inv(cov + (eps / n) * np.eye(channels))
    affinity = (1.0 + np.einsum("kni,kij,kmj->knm", centred, inv, centred)) / n
    values = np.eye(n)[None] - affinity

    rows = np.repeat(win_index, n, axis=1).ravel()
    cols = np.tile(win_index, (1, n)).ravel()
    matrix = sp.coo_matrix((values.ravel(), (rows, cols)), shape=(h * w, h * w)).tocsr()
    matrix.sum_duplicates()
    return matrix.astype(np.float32)


def save_laplacian(path: str | os.PathLike, matrix: sp.csr_matrix, **attrs: float) -> None:
    """Store a CSR matrix (float32 data, int32 indices) in an HDF5 file, atomically."""
    matrix = matrix.tocsr()
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.create_dataset("data", data=matrix.data.astype(np.float32))
        handle.create_dataset("indices", data=matrix.indices.astype(np.int32))
        handle.create_dataset("indptr", data=matrix.indptr.astype(np.int64))
        handle.attrs["shape"] = matrix.shape
        for key, value in attrs.items():
            handle.attrs[key] = value


def load_laplacian(path: str | os.PathLike) -> sp.csr_matrix:
    """Read a matrix written by :func:`save_laplacian`; a bad file raises with its path."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as handle:
            shape = tuple(int(v) for v in handle.attrs["shape"])
            return sp.csr_matrix((handle["data"][()], handle["indices"][()], handle["indptr"][()]), shape=shape)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"Laplacian file {path} cannot be read: {exc}") from exc
