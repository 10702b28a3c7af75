"""Chunked stylisation (``stylize.chunk_frames``): which stylised frames each frame is tied to.

Stylisation is a chain: frame i is tied to the stylised frames i − j (j in J). With chunks of N
frames, the chain restarts at each chunk, so that chunks run in parallel. To hide the seam, the
chunk starting at frame s also stylises the ``overlap`` frames before it, s − overlap … s − 1
("warm-up" versions, a chain of their own from a cold start), and its first frames are tied to
those. The previous chunk, which ends at s − 1, blends its own last ``overlap`` frames towards the
warm-up versions with weights rising linearly to overlap / (overlap + 1): the look moves from one
chain to the other over ``overlap`` frames instead of jumping at s.

Frame numbers are 1-based. A chunk size of 0 means one chain over the clip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from photostyle.errors import InputError


@dataclass(frozen=True)
class Chunks:
    """The chunk plan of a clip of ``n_frames`` frames."""

    size: int  # frames per chunk; 0: one chain
    overlap: int  # warm-up frames before each chunk after the first
    n_frames: int

    def __post_init__(self) -> None:
        if self.size and self.overlap >= self.size:
            raise InputError(
                f"stylize.chunk_overlap ({self.overlap}) must be smaller than stylize.chunk_frames ({self.size})"
            )

    def start(self, i: int) -> int:
        """First frame of frame i's chunk."""
        return (i - 1) // self.size * self.size + 1 if self.size else 1

    def next_start(self, i: int) -> int | None:
        """First frame of the next chunk when frame i is one of its warm-up frames, else None."""
        if not self.size:
            return None
        start = self.start(i) + self.size
        return start if start - self.overlap <= i and start <= self.n_frames else None

    def sources(self, i: int, offsets: list[int], warmup: bool = False) -> list[tuple[int, bool]]:
        """(k, from the warm-up versions) for each k = i − j (j in ``offsets``, nearest first) that
        frame i (its warm-up version with ``warmup``) is tied to."""
        if warmup:
            first = self.next_start(i)
            if first is None:
                raise ValueError(f"frame {i} is not a warm-up frame")
            first -= self.overlap
        else:
            first = self.start(i)
        sources = []
        for k in (i - j for j in sorted(offsets)):
            if k >= first:
                sources.append((k, warmup))
            elif not warmup and first > 1 and k >= first - self.overlap:  # overlap < size: k ≥ 1
                sources.append((k, True))
        return sources

    def seam_weight(self, i: int) -> float:
        """Weight of the next chunk's warm-up version in frame i's output (0 outside the warm-up frames)."""
        start = self.next_start(i)
        return 0.0 if start is None else (i - (start - self.overlap) + 1) / (self.overlap + 1)

    def warmup_frames(self) -> list[int]:
        """Every frame that has a warm-up version."""
        return [i for i in range(1, self.n_frames + 1) if self.next_start(i) is not None]


def seam_weight(i: int, seam: dict | None, shot_start: Callable[[int], int]) -> float:
    """Weight of the next chunk's warm-up version in frame i's output: ``seam["weight"]`` (from
    ``Chunks.seam_weight``), or 0 when a shot starts after frame i and at or before the next
    chunk's first frame ``seam["next_chunk"]`` (the seam moves to the cut); 0 without a seam."""
    if not seam or shot_start(seam["next_chunk"]) > i:
        return 0.0
    return seam["weight"]


def blend(image: np.ndarray, other: np.ndarray, weight: float) -> np.ndarray:
    """(1 − weight) · image + weight · other, for H×W×3 uint8 images."""
    mixed = (1.0 - weight) * image.astype(np.float32) + weight * other.astype(np.float32)
    return np.clip(np.round(mixed), 0, 255).astype(np.uint8)
