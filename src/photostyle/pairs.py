"""Block files of pair data: for the frames i of a block of consecutive frames, the flows between
frame i and each earlier frame k (rules flow_forward and flow_backward) and their consistency
weights (rule consistency).

A file, and so a job, per pair would make ~9 jobs per frame; blocks of ``frames_per_job`` frames
keep a long video at a few jobs per frame, which is what bounds the time Snakemake takes to plan
it (``benchmarks/dag.py``). Block b (1-based) holds frames (b − 1) · frames_per_job + 1 to
b · frames_per_job; the first block's file has no pairs of frame 1. Arrays are kept uncompressed
in an ``.npz`` under the names ``{kind}_{i:05d}_{k:05d}`` (frame numbers 1-based).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from photostyle.atomic import atomic_path
from photostyle.errors import InputError

Pairs = Mapping[int, Mapping[int, np.ndarray]]  # frame i -> earlier frame k -> array


def block_number(i: int, frames_per_job: int) -> int:
    """The block (1-based) of frame i (1-based): the block file that holds frame i's pairs."""
    return (int(i) - 1) // frames_per_job + 1


def pair_block_index(i: int, frames_per_job: int) -> int:
    """Where frame i's (i >= 2) block file is in the list of the block files of every frame after
    the first, in block order (0-based; the list a rule that reads frame i's pairs gets)."""
    return block_number(i, frames_per_job) - block_number(2, frames_per_job)


def pair_frame_numbers(pairs: Mapping[int, list[int]]) -> list[int]:
    """Every frame that pairs ``{i: [k, ...]}`` involve, in frame order (the inputs of a block's jobs)."""
    return sorted({n for i, ks in pairs.items() for n in (i, *ks)})


def write_pairs(path: str | os.PathLike, arrays: Mapping[str, Pairs]) -> None:
    """Write ``arrays[kind][i][k]`` for every kind and pair (i, k) atomically."""
    named = {
        f"{kind}_{i:05d}_{k:05d}": np.ascontiguousarray(array)
        for kind, pairs in arrays.items()
        for i, per_k in pairs.items()
        for k, array in per_k.items()
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **named)


def read_pairs(path: str | os.PathLike, kind: str, i: int) -> dict[int, np.ndarray]:
    """The arrays of one kind for frame i, by earlier frame k; a missing, corrupt or non-finite file,
    or one without frame i, raises with its path."""
    path = Path(path)
    prefix = f"{kind}_{i:05d}_"
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {int(name[len(prefix) :]): archive[name] for name in archive.files if name.startswith(prefix)}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{path} cannot be read as a pair file: {exc}") from exc
    if not arrays:
        raise InputError(f"{path} holds no {kind} arrays of frame {i} (delete it to rebuild)")
    bad = [k for k, a in arrays.items() if a.dtype.kind == "f" and not np.isfinite(a).all()]
    if bad:
        raise InputError(f"{path} holds non-finite {kind} values (frames {i} and {bad[0]})")
    return arrays
