"""RAFT optical flow (Teed & Deng, 2020) through torchvision, with the workflow's weight rules.

Weights come from ``models.raft.path`` (sha256-checked against ``models.raft.sha256`` when
given), else torchvision's official file for the chosen model (``flow.raft_model``: large or
small) with torch.hub's hash check; else the error names ``models.raft.path``. RAFT never runs
on random weights in the workflow: its flow would be noise, worse than any CPU method.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models import optical_flow

from photostyle.device import resolve_device
from photostyle.errors import InputError
from photostyle.weights import available, load_state_dict

log = logging.getLogger(__name__)

MODELS = {
    "large": (optical_flow.raft_large, optical_flow.Raft_Large_Weights.DEFAULT.url),
    "small": (optical_flow.raft_small, optical_flow.Raft_Small_Weights.DEFAULT.url),
}


def _model_entry(raft_model: str):
    if raft_model not in MODELS:
        raise InputError(f"flow.raft_model must be one of {sorted(MODELS)}, not {raft_model!r}")
    return MODELS[raft_model]


def raft_available(raft_model: str, settings: dict) -> bool:
    """Whether RAFT weights are at hand without a download (``settings`` = the config's ``models.raft``)."""
    return available(_model_entry(raft_model)[1], settings.get("path"))


@functools.lru_cache(maxsize=2)
def load_raft(raft_model: str, path: str | None, sha256: str | None, device: str) -> torch.nn.Module:
    """RAFT in eval mode on ``device``, loaded once per process."""
    build, url = _model_entry(raft_model)
    state, source = load_state_dict("models.raft", url, path, sha256)
    model = build(weights=None, progress=False)
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise InputError(f"models.raft.path: {source} is not a RAFT-{raft_model} state dict: {exc}") from exc
    log.info("RAFT-%s weights from %s on %s", raft_model, source, device)
    return model.eval().to(device)


def raft_flow(frame_a: np.ndarray, frame_b: np.ndarray, raft_model: str, settings: dict, device: str) -> np.ndarray:
    """Flow from ``frame_a`` to ``frame_b`` (H×W×3 uint8 RGB) as H×W×2 float32, by RAFT's last update."""
    target = resolve_device(device)
    model = load_raft(raft_model, settings.get("path"), settings.get("sha256"), str(target))
    h, w = frame_a.shape[:2]
    pad = (0, -w % 8, 0, -h % 8)  # RAFT works on 1/8 resolution: sides must be multiples of 8
    images = [
        F.pad(torch.from_numpy(frame).to(target).permute(2, 0, 1)[None].float() / 127.5 - 1.0, pad, mode="replicate")
        for frame in (frame_a, frame_b)
    ]
    with torch.inference_mode():
        flow = model(*images)[-1][0, :, :h, :w]
    return np.ascontiguousarray(flow.permute(1, 2, 0).cpu().numpy(), dtype=np.float32)
