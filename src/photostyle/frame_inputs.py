"""Frame i's inputs to the objective: the frame, the reference, both label maps, the Laplacian
coefficients, and the earlier stylised frames it is tied to, each warped onto it.

``assemble`` is the one place that decides which earlier frames frame i is tied to: the frames
i − j (j in J) of its own shot (a shot cut resets the temporal term), each the optimiser's output
of that frame (not its post-processed version) warped along the backward flow, weighted by its
long-term weights c_long; the nearest one's reliable weights decide the warm start. The workflow's
``stylize_frame`` and ``sequence`` (benchmarks, comparisons) both call it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from photostyle.flow import warp
from photostyle.matting import MattingCoefficients, matting_coefficients
from photostyle.segmentation import resize_labels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Previous:
    """An earlier stylised frame warped onto this one, with its long-term weights c_long."""

    warped: np.ndarray  # H×W×3 float32 in [0, 1]
    weight: np.ndarray  # H×W float32 in [0, 1]

    @classmethod
    def of(cls, output: np.ndarray, backward: np.ndarray, weight: np.ndarray) -> Previous:
        """An earlier output (H×W×3 uint8) warped along the backward flow, bicubic: a bilinear warp
        blurs, and along a chain the blur of every step adds up and fades the stylised texture."""
        warped = warp(output.astype(np.float32) / 255.0, backward, interpolation=cv2.INTER_CUBIC)
        return cls(np.clip(warped, 0.0, 1.0), weight)


@dataclass(frozen=True)
class FrameInputs:
    """Everything the objective of one frame is built from, at one size."""

    content: np.ndarray  # H×W×3 uint8
    style: np.ndarray  # h×w×3 uint8
    content_labels: np.ndarray  # H×W class ids
    style_labels: np.ndarray  # h×w class ids
    coefficients: MattingCoefficients
    previous: list[Previous] = field(default_factory=list)
    reliable: np.ndarray | None = None  # H×W weights against previous[0]'s frame (the warm start's trust)

    def scaled(self, scale: float) -> FrameInputs:
        """The same inputs at ``scale`` × their size (the Laplacian rebuilt from the resized frame)."""
        if scale == 1.0:
            return self

        def size(image: np.ndarray) -> tuple[int, int]:
            return max(round(image.shape[1] * scale), 3), max(round(image.shape[0] * scale), 3)

        def area(image: np.ndarray, like: np.ndarray) -> np.ndarray:
            return cv2.resize(image, size(like), interpolation=cv2.INTER_AREA)

        content = area(self.content, self.content)
        return FrameInputs(
            content=content,
            style=area(self.style, self.style),
            content_labels=resize_labels(self.content_labels, *size(self.content)),
            style_labels=resize_labels(self.style_labels, *size(self.style)),
            coefficients=matting_coefficients(content, self.coefficients.eps, self.coefficients.radius),
            previous=[Previous(area(p.warped, self.content), area(p.weight, self.content)) for p in self.previous],
            reliable=None if self.reliable is None else area(self.reliable, self.content),
        )


def assemble(
    frame: np.ndarray,
    style: np.ndarray,
    labels: np.ndarray,
    style_labels: np.ndarray,
    coefficients: MattingCoefficients,
    *,
    i: int,
    earlier: Sequence[int],
    shot_start: int,
    optimised: Callable[[int], np.ndarray],
    backward: Mapping[int, np.ndarray],
    reliable: Mapping[int, np.ndarray],
    long: Mapping[int, np.ndarray],
) -> FrameInputs:
    """Frame i's inputs, tied to those frames k of ``earlier`` (k < i) that are in its shot (k ≥
    ``shot_start``), nearest first.

    ``optimised(k)`` gives frame k's optimisation output (H×W×3 uint8; called only for the frames
    tied); ``backward[k]`` is the flow i → k, ``reliable[k]`` and ``long[k]`` frame i's weights
    (H×W float in [0, 1]) against frame k: c and c_long. Frame numbers may be 0- or 1-based, as
    long as all of them are.
    """
    tied = sorted((k for k in earlier if k >= shot_start), reverse=True)
    dropped = [k for k in sorted(earlier, reverse=True) if k not in tied]  # nearest first, as tied
    if dropped:
        log.info("frame %d is in the shot that starts at frame %d: not tied to frames %s", i, shot_start, dropped)
    return FrameInputs(
        content=frame,
        style=style,
        content_labels=labels,
        style_labels=style_labels,
        coefficients=coefficients,
        previous=[Previous.of(optimised(k), backward[k], long[k]) for k in tied],
        reliable=reliable[tied[0]] if tied else None,  # of the warm start's frame
    )
