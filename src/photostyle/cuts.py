"""Shot cuts: the frames where a new shot starts, from the colour histograms of consecutive frames.

Within a shot, camera and object motion move pixels around but barely change the distribution of
colours; at a cut it jumps. The distance between consecutive frames is the Bhattacharyya distance
(0: same distribution, 1: disjoint) of their 8×8×8-bin HSV histograms (OpenCV). On the shared
sequences at 192 px it stays ≤ 0.09 within a shot and is ≥ 0.72 between the last frame of one
sequence and the first of another (measured when this module was written; tests/test_cuts.py checks
that shots stay under half the default threshold, 0.4, and that the cut is found).

A cut resets the temporal term: frame i is tied only to the stylised frames of its own shot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from photostyle.atomic import write_text
from photostyle.errors import InputError

BINS = [8, 8, 8]  # hue, saturation, value
RANGES = [0, 180, 0, 256, 0, 256]  # OpenCV's 8-bit HSV: hue in 0..179


def histogram(frame: np.ndarray) -> np.ndarray:
    """Normalised HSV histogram of an H×W×3 uint8 RGB frame."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
    counts = cv2.calcHist([hsv], [0, 1, 2], None, BINS, RANGES)
    return counts / counts.sum()


@dataclass
class Cuts:
    """Distances between consecutive frames (``distances[n]``: frames n + 1 and n + 2, 1-based),
    the threshold, and the frames (1-based) that start a new shot."""

    distances: list[float]
    threshold: float

    @property
    def starts(self) -> list[int]:
        return [n + 2 for n, d in enumerate(self.distances) if d > self.threshold]

    def shot_start(self, i: int) -> int:
        """First frame (1-based) of the shot that frame i is in."""
        return max([1, *(s for s in self.starts if s <= i)])

    def to_json(self) -> str:
        return json.dumps({"threshold": self.threshold, "starts": self.starts, "distances": self.distances}, indent=1)

    @classmethod
    def read(cls, path: str | os.PathLike) -> Cuts:
        """Cuts from a file written by ``write``; an unreadable file raises, naming it."""
        try:
            with open(path) as handle:
                data = json.load(handle)
            return cls([float(d) for d in data["distances"]], float(data["threshold"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path} cannot be read as a shot-cut file: {exc}") from exc

    def write(self, path: str | os.PathLike) -> None:
        write_text(path, self.to_json() + "\n")


def detect_cuts(frames: Iterable[np.ndarray], threshold: float) -> Cuts:
    """The histogram distance of each pair of consecutive frames (read one at a time) and the cuts
    where it exceeds ``threshold`` (1 or more: no cut is ever found)."""
    distances, previous = [], None
    for frame in frames:
        current = histogram(frame)
        if previous is not None:
            distances.append(float(cv2.compareHist(previous, current, cv2.HISTCMP_BHATTACHARYYA)))
        previous = current
    return Cuts(distances, threshold)
