"""Figures that score results against references (used by tests and benchmarks)."""

from __future__ import annotations

import numpy as np


def adjusted_rand_index(labels: np.ndarray, truth: np.ndarray) -> float:
    """Adjusted Rand index of two label maps of the same size (Hubert & Arabie): 1 for the same
    partition whatever the label ids, about 0 for a random one."""
    a, b = labels.ravel().astype(np.int64), truth.ravel().astype(np.int64)
    if a.shape != b.shape:
        raise ValueError(f"label maps differ in size: {labels.shape} vs {truth.shape}")
    kb = int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=(int(a.max()) + 1) * kb).reshape(-1, kb).astype(np.float64)

    def pairs(counts: np.ndarray) -> float:
        return float((counts * (counts - 1) / 2).sum())

    index, rows, cols = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / (a.size * (a.size - 1) / 2)
    maximum = (rows + cols) / 2
    return 1.0 if maximum == expected else (index - expected) / (maximum - expected)
