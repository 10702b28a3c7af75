"""Scores of any stylised clip, given as two folders of frames, computed as a run's ``metrics.json``
(``photostyle metrics``): so that other tools' results are measured the same way as ours.

The flows i → i − 1 and their consistency weights are computed here between the *input* frames,
with the flow and consistency settings of a run (the config's defaults unless changed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from photostyle.clip_metrics import FrameData, clip_metrics, scored_positions
from photostyle.consistency import flow_pair
from photostyle.errors import InputError
from photostyle.flow import flow_options
from photostyle.images import read_gray, read_rgb
from photostyle.video import RANDOM_WEIGHTS_NOTE, list_frame_files

# A labels folder as a run's segmentation/ holds it: frame_*.png per frame (name order), reference.png.
FRAME_LABELS, REFERENCE_LABELS = "frame_*.png", "reference.png"


def score_folders(
    frames: str | os.PathLike,
    stylized: str | os.PathLike,
    config: dict,
    style: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
) -> dict:
    """The figures of ``metrics.json`` (without the time per stage) for the stylised frames of
    ``stylized`` against the input frames of ``frames`` (both in name order, same count and
    sizes). Style distances need ``style``; per class they need ``labels``, a folder with a
    label map per frame named ``frame_*.png`` and the reference's as ``reference.png`` (a run's
    ``segmentation/`` folder is one), else the whole frame is one class. ``config``: a run's config (its ``flow``,
    ``consistency`` and ``models`` sections are used)."""
    inputs, outputs = list_frame_files(frames), list_frame_files(stylized, ignore=(RANDOM_WEIGHTS_NOTE,))
    if len(inputs) != len(outputs):
        raise InputError(f"{frames} holds {len(inputs)} frames but {stylized} holds {len(outputs)}")
    label_files = None
    if labels is not None:
        label_files = sorted(Path(labels).glob(FRAME_LABELS))
        if len(label_files) != len(inputs):
            raise InputError(f"{labels} holds {len(label_files)} label maps ({FRAME_LABELS}) for {len(inputs)} frames")
    reference = reference_labels = None
    if style is not None:
        reference = read_rgb(style, "style image")
        reference_labels = np.zeros(reference.shape[:2], np.uint8)
        if labels is not None:
            reference_labels = read_gray(Path(labels) / REFERENCE_LABELS, "reference label map")
            if reference_labels.shape != reference.shape[:2]:
                raise InputError(f"{Path(labels) / REFERENCE_LABELS} is not the size of the style image {style}")
    names = [f"class {k}" for k in range(256)] if labels is not None else ["all"]
    scored = scored_positions(len(inputs))
    clip = _frames(inputs, outputs, label_files, config)
    return clip_metrics(clip, reference, reference_labels, names, scored)


def flow_to_previous(frame: np.ndarray, previous: np.ndarray, config: dict) -> tuple[np.ndarray, np.ndarray]:
    """Flow frame → previous (H×W×2; ``previous`` may be any other frame: a keyframe…) and its
    consistency weights in [0, 1], with a run's ``flow``, ``consistency``, ``models`` and ``device``
    settings."""
    options = flow_options(config["flow"], config["models"])
    return flow_pair(frame, previous, options, config["consistency"], config["device"])


def _frames(inputs: list[Path], outputs: list[Path], labels: list[Path] | None, config: dict) -> Iterator[FrameData]:
    """FrameData of each frame in turn, with the flow to the frame before and its weights."""
    previous = None
    for n, (frame_path, output_path) in enumerate(zip(inputs, outputs, strict=True)):
        frame, output = read_rgb(frame_path, "frame"), read_rgb(output_path, "stylised frame")
        if output.shape != frame.shape:
            raise InputError(f"{output_path} is {output.shape[1]}×{output.shape[0]}, its frame {frame_path} "
                             f"{frame.shape[1]}×{frame.shape[0]}")  # fmt: skip
        label_map = read_gray(labels[n], "label map") if labels else np.zeros(frame.shape[:2], np.uint8)
        if label_map.shape != frame.shape[:2]:
            raise InputError(f"{labels[n]} is not the size of its frame {frame_path}")
        data = FrameData(frame, output, label_map)
        if previous is not None:
            data.backward, data.reliable = flow_to_previous(frame, previous, config)
        previous = frame
        yield data
