"""Block files of pair data: for the frames i of a block of consecutive frames, the flows between
frame i and each earlier frame k (rules flow_forward and flow_backward) and their consistency
weights (rule consistency).

A file, and so a job, per pair would make ~9 jobs per frame; blocks of ``frames_per_job`` frames
keep a long video at a few jobs per frame, which is what bounds the time Snakemake takes to plan
it (``benchmarks/dag.py``). Arrays are kept uncompressed in an ``.npz`` under the names
``{kind}_{i:05d}_{k:05d}`` (frame numbers 1-based).
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
