"""The torch device a job runs on, from the config's ``device`` key (shared by every network)."""

from __future__ import annotations

import torch

from photostyle.errors import InputError


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU is an error naming ``device``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device: cuda was asked for, but torch sees no CUDA GPU (use auto or cpu)")
    if name not in ("cpu", "cuda"):
        raise InputError(f"device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)
