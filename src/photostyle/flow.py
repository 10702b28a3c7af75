"""Dense optical flow between frames, Middlebury ``.flo`` files, and backward warping.

Convention: a flow computed from frame_a to frame_b maps pixel p of frame_a to p + w(p) in
frame_b, so ``warp(frame_b, flow)`` reproduces frame_a.

Methods: ``fusion`` (ours, the default: large motion on the CPU, see ``fusion_flow``), ``raft``
(torchvision's RAFT, best on a GPU, see ``photostyle.raft``), ``deepflow`` (OpenCV's DeepFlow,
the method of Ruder et al.; fails beyond ≈20 px), ``dis`` (fast) and ``farneback``; ``auto`` is
resolved by ``resolve_method`` before any flow is computed.
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
METHODS = ("auto", "fusion", "raft", "deepflow", "dis", "farneback")
# fusion: DIS smoothness weights of the two proposals, neighbour offsets (px) tried at each
# pixel and rounds of that propagation, side of the window that scores a flow by colour.
FUSION_ALPHAS = (20.0, 5.0)
FUSION_SHIFTS = (4, 16, 48)
FUSION_ROUNDS = 2
FUSION_WINDOW = 5


def resolve_method(method: str, models: dict | None, raft_model: str) -> str:
    """The method ``auto`` stands for: ``raft`` when its weights are at hand without a download, else ``fusion``."""
    if method not in METHODS:
        raise InputError(f"flow.method must be one of {list(METHODS)}, not {method!r}")
    if method != "auto":
        return method
    from photostyle.raft import raft_available  # torch is imported only where RAFT may run

    return "raft" if raft_available(raft_model, (models or {}).get("raft") or {}) else "fusion"


def flow_options(flow: dict, models: dict) -> dict:
    """``compute_flow``'s options from the config's ``flow`` and ``models`` sections: ``auto``
    resolved, and each option only for the method it matters to (so that, as rule params, a
    change to another method's option reruns nothing)."""
    method = resolve_method(flow["method"], models, flow["raft_model"])
    options = {"method": method, "max_side": flow["max_side"]}
    if method == "dis":
        options["dis_preset"] = flow["dis_preset"]
    if method == "raft":
        options |= {"raft_model": flow["raft_model"], "models": {"raft": models["raft"]}}
    return options


def compute_flow(
    frame_a: np.ndarray,
    frame_b: np.ndarray,
    method: str,
    *,
    max_side: int = 0,
    dis_preset: str | None = None,
    raft_model: str | None = None,
    models: dict | None = None,
    device: str = "auto",
) -> np.ndarray:
    """Flow from ``frame_a`` to ``frame_b`` (H×W×3 uint8 RGB) as H×W×2 float32 (x, y).

    ``max_side`` > 0 computes the flow on frames whose longest side is at most that, then
    rescales it to full size. ``models`` (the config's ``models`` section) and ``device`` matter
    to ``raft`` only (with ``raft_model``), ``dis_preset`` to ``dis`` only: each is needed by its
    method (the config's values come through ``flow_options``).
    """
    if frame_a.shape != frame_b.shape:
        raise ValueError(f"frames differ in size: {frame_a.shape} vs {frame_b.shape}")
    method = resolve_method(method, models, raft_model)
    h, w = frame_a.shape[:2]
    if max_side and max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(round(w * scale), 1), max(round(h * scale), 1))
        small = [cv2.resize(frame, size, interpolation=cv2.INTER_AREA) for frame in (frame_a, frame_b)]
        flow = _flow(*small, method, dis_preset, raft_model, models, device)
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
        flow *= np.array([w / size[0], h / size[1]], np.float32)
        return flow
    return _flow(frame_a, frame_b, method, dis_preset, raft_model, models, device)


def _flow(a, b, method, dis_preset, raft_model, models, device) -> np.ndarray:
    """Flow at the frames' own size by a resolved method."""
    if method == "raft":
        from photostyle.raft import raft_flow

        if raft_model is None:
            raise ValueError("flow method raft needs raft_model (flow.raft_model)")
        return raft_flow(a, b, raft_model, (models or {}).get("raft") or {}, device)
    if method == "fusion":
        return fusion_flow(a, b)
    gray_a, gray_b = (cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in (a, b))
    if method == "deepflow":
        flow = cv2.optflow.createOptFlow_DeepFlow().calc(gray_a, gray_b, None)
    elif method == "dis":
        if dis_preset not in DIS_PRESETS:
            raise InputError(f"flow.dis_preset must be one of {sorted(DIS_PRESETS)}, not {dis_preset!r}")
        flow = cv2.DISOpticalFlow_create(DIS_PRESETS[dis_preset]).calc(gray_a, gray_b, None)
    else:
        flow = cv2.calcOpticalFlowFarneback(gray_a, gray_b, None, 0.5, 5, 15, 5, 7, 1.5, 0)
    return np.ascontiguousarray(flow, dtype=np.float32)


def fusion_flow(frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
    """Our large-motion CPU flow: fuse proposals per pixel by local colour fit, propagate, refine.

    1. Proposals: DIS (coarse-to-fine patch search, so it follows large motion) at full
       resolution with a dense patch grid, once with strong and once with weak smoothing.
    2. Fusion: each pixel takes the proposal whose warped colours fit frame_a best over a small
       window (the "fusion move" idea of Lempitsky et al.), so a region where one proposal
       breaks takes the other.
    3. Propagation: each pixel also tries its neighbours' flows a few pixels away (as
       PatchMatch does), which fills in thin structures and fast objects that both missed.
    4. Variational refinement (brightness + gradient constancy, smoothness), which restores
       sub-pixel accuracy and smoothness after the per-pixel choices.
    """
    gray_a, gray_b = (cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in (frame_a, frame_b))
    proposals = [_dis_proposal(gray_a, gray_b, alpha) for alpha in FUSION_ALPHAS]
    flow = _fuse(frame_a, frame_b, proposals)
    h, w = flow.shape[:2]
    for _ in range(FUSION_ROUNDS):
        shifted = [
            cv2.warpAffine(flow, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
            for step in FUSION_SHIFTS
            for dx, dy in ((step, 0), (-step, 0), (0, step), (0, -step))
        ]
        flow = _fuse(frame_a, frame_b, [flow, *shifted])
    refine = cv2.VariationalRefinement_create()
    refine.setFixedPointIterations(10)
    return np.ascontiguousarray(refine.calc(gray_a, gray_b, flow), dtype=np.float32)


def _dis_proposal(gray_a: np.ndarray, gray_b: np.ndarray, alpha: float) -> np.ndarray:
    """DIS-medium down to full resolution (finest scale 0) with patches every 2 px and smoothness ``alpha``."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dis.setFinestScale(0)
    dis.setPatchStride(2)
    dis.setVariationalRefinementAlpha(alpha)
    return dis.calc(gray_a, gray_b, None)


def _fuse(frame_a: np.ndarray, frame_b: np.ndarray, candidates: list[np.ndarray]) -> np.ndarray:
    """Per pixel, the candidate flow with the least colour error of warped frame_b over a window."""
    target = frame_a.astype(np.float32)
    window = (FUSION_WINDOW, FUSION_WINDOW)
    costs = np.stack(
        [
            cv2.boxFilter(np.abs(warp(frame_b, flow).astype(np.float32) - target).sum(axis=2), -1, window)
            for flow in candidates
        ]
    )
    best = np.argmin(costs, axis=0)
    return np.take_along_axis(np.stack(candidates), best[None, :, :, None], axis=0)[0]


def warp(
    image: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE, interpolation: int = cv2.INTER_LINEAR
) -> np.ndarray:
    """Backward-warp ``image`` with ``flow``: out(p) = image(p + flow(p)), bilinear by default
    (``cv2.INTER_NEAREST`` for label maps)."""
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = grid_x + flow[:, :, 0]
    map_y = grid_y + flow[:, :, 1]
    return cv2.remap(image, map_x, map_y, interpolation=interpolation, borderMode=border)


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
