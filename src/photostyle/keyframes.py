"""Keyframes of propagation mode (``photostyle.propagation``): which frames the optimiser stylises, and
the blocks of frames between them.

Keyframes are the first frame of each shot, then one every ``every`` frames, and any frame where the
flow to the last keyframe is reliable on less than ``min_reliable`` of its pixels (the content has
moved on). This module is light (no torch): the workflow's rules import it to plan the jobs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from photostyle.atomic import write_text
from photostyle.errors import InputError


def choose_keyframes(
    n_frames: int,
    shot_starts: Sequence[int],
    every: int,
    reliable_share: Callable[[int, int], float] | None = None,
    min_reliable: float = 0.0,
) -> list[int]:
    """The keyframes (0-based, sorted) of a clip whose shots start at ``shot_starts`` (0-based; 0 is
    always one): each shot's first frame, then every ``every`` frames after the last keyframe, or
    sooner where ``reliable_share(t, k)`` (the share of frame t's pixels the flow t → keyframe k
    carries reliably) falls below ``min_reliable``."""
    starts = {0, *shot_starts}
    chosen: list[int] = []
    for t in range(n_frames):
        if t in starts or t - chosen[-1] >= every:
            chosen.append(t)
        elif min_reliable > 0 and reliable_share is not None and reliable_share(t, chosen[-1]) < min_reliable:
            chosen.append(t)
    return chosen


@dataclass(frozen=True)
class KeyframePlan:
    """Keyframes and shot starts of a clip whose last frame is ``last`` (frame numbers as the caller
    counts them: 0-based in ``sequence``, 1-based in the workflow). A block is a keyframe and the
    frames after it up to the next keyframe: included when it is in the same shot (the block's frames
    take the look of both), else the block ends with the shot."""

    keys: tuple[int, ...]
    shot_starts: tuple[int, ...]
    last: int

    def shot_start(self, i: int) -> int:
        return max([self.keys[0], *(s for s in self.shot_starts if s <= i)])

    def previous(self, k: int) -> int | None:
        """The keyframe before keyframe k in its shot (what k is tied to), or None."""
        before = [key for key in self.keys if key < k]
        return before[-1] if before and before[-1] >= self.shot_start(k) else None

    def block(self, k: int) -> tuple[int, bool]:
        """The last frame of keyframe k's block, and whether it is the next keyframe (same shot)."""
        after = [key for key in self.keys if key > k]
        if not after:
            return self.last, False
        tied = self.shot_start(after[0]) == self.shot_start(k)
        return (after[0], True) if tied else (after[0] - 1, False)

    def key_of(self, i: int) -> int:
        """The keyframe whose block frame i is in (i itself for a keyframe)."""
        return max(key for key in self.keys if key <= i)

    def to_json(self) -> str:
        return json.dumps({"keyframes": list(self.keys), "shot_starts": list(self.shot_starts), "last": self.last})

    def write(self, path: str | os.PathLike) -> None:
        write_text(path, self.to_json() + "\n")

    @classmethod
    def read(cls, path: str | os.PathLike) -> KeyframePlan:
        """The plan ``write`` wrote; an unreadable file raises, naming it."""
        try:
            with open(path) as handle:
                data = json.load(handle)
            return cls(tuple(data["keyframes"]), tuple(data["shot_starts"]), int(data["last"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path} is not a keyframe plan ({exc}); delete it to rebuild") from exc
