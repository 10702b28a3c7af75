"""Dense optical flow between frames, Middlebury ``.flo`` files, and backward warping.

Convention: a flow computed from frame_a to frame_b maps pixel p of frame_a to p + w(p) in
frame_b, so ``warp(frame_b, flow)`` reproduces frame_a.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from photostyle.atomic import atomic_path
from photostyle.errors import InputError

FLO_TAG = 202021.25
DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
METHODS = ("deepflow", "dis", "farneback")


def compute_flow(frame_a: np.ndarray, frame_b: np.ndarray, method: str = "deepflow", **options) -> np.ndarray:
    """Flow from ``frame_a`` to ``frame_b`` (H×W×3 uint8 RGB) as H×W×2 float32 (x, y).

    Methods: ``deepflow`` (OpenCV's DeepFlow, the method of Ruder et al.), ``dis`` (fast;
    option ``dis_preset``: ultrafast|fast|medium) and ``farneback``.
    """
    if frame_a.shape != frame_b.shape:
        raise ValueError(f"frames differ in size: {frame_a.shape} vs {frame_b.shape}")
    gray_a = cv2.cvtColor(frame_a, cv2.COLOR_RGB2GRAY)
    gray_b = cv2.cvtColor(frame_b, cv2.COLOR_RGB2GRAY)
    if method == "deepflow":
        flow = cv2.optflow.createOptFlow_DeepFlow().calc(gray_a, gray_b, None)
    elif method == "dis":
        preset = options.get("dis_preset", "medium")
        if preset not in DIS_PRESETS:
            raise InputError(f"flow.dis_preset must be one of {sorted(DIS_PRESETS)}, not {preset!r}")
        dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])
        flow = dis.calc(gray_a, gray_b, None)
    elif method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(gray_a, gray_b, None, 0.5, 5, 15, 5, 7, 1.5, 0)
    else:
        raise InputError(f"flow.method must be one of {list(METHODS)}, not {method!r}")
    return np.ascontiguousarray(flow, dtype=np.float32)


def warp(image: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """Backward-warp ``image`` with ``flow``: out(p) = image(p + flow(p)), bilinear."""
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = grid_x + flow[:, :, 0]
    map_y = grid_y + flow[:, :, 1]
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=border)


def write_flo(path: str | os.PathLike, flow: np.ndarray) -> None:
    """Write a Middlebury ``.flo`` file (float32, x then y per pixel) atomically."""
    h, w = flow.shape[:2]
    header = np.array([FLO_TAG], np.float32).tobytes() + np.array([w, h], np.int32).tobytes()
    with atomic_path(path) as tmp:
        tmp.write_bytes(header + np.ascontiguousarray(flow, dtype=np.float32).tobytes())  # a full disk raises ENOSPC


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """Read a Middlebury ``.flo`` file as H×W×2 float32; a bad file raises with its path."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"flow file {path} cannot be read: {exc}") from exc
    if len(raw) < 12 or np.frombuffer(raw[:4], np.float32)[0] != FLO_TAG:
        raise InputError(f"flow file {path} is not a Middlebury .flo file")
    w, h = (int(v) for v in np.frombuffer(raw[4:12], np.int32))
    if w <= 0 or h <= 0 or len(raw) != 12 + 8 * w * h:
        raise InputError(f"flow file {path} is truncated or has a bad header ({w}×{h})")
    flow = np.frombuffer(raw[12:], np.float32).reshape(h, w, 2).copy()
    if not np.isfinite(flow).all():
        raise InputError(f"flow file {path} holds non-finite values")
    return flow
