"""Pretrained weights for the networks: a configured local file, else torchvision's official URL.

One rule for every network (VGG-19, RAFT): ``models.<net>.path`` wins when set (its sha256
checked when ``models.<net>.sha256`` is given); otherwise torch.hub downloads the official file
once, checks the hash prefix in its name and caches it under ``$TORCH_HOME``; when neither works
the error names ``models.<net>.path``. torch is imported only where a PyTorch file is read or
looked for, so that the start-up check of another format (HED's Keras file) runs without it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path

from photostyle.errors import InputError


def load_state_dict(
    key: str,
    url: str,
    path: str | None = None,
    sha256: str | None = None,
    reader: Callable[[Path], dict] | None = None,
) -> tuple[dict, str]:
    """The state dict for config section ``key`` (e.g. ``models.raft``) and a description of its source;
    ``reader`` reads a local file of another format than PyTorch's (default: ``torch.load``)."""
    if path:
        file = Path(os.path.expanduser(path))
        if not file.is_file():
            raise InputError(f"{key}.path: weights file {file} does not exist")
        if sha256:
            digest = _sha256(file)
            if not digest.startswith(sha256.lower()):
                raise InputError(f"{key}.sha256: weights file {file} has sha256 {digest[:16]}…, expected {sha256}…")
        try:
            if reader is not None:
                return reader(file), f"file {file}"
            import torch

            return torch.load(file, map_location="cpu", weights_only=True), f"file {file}"
        except (RuntimeError, ValueError, OSError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as exc:
            kind = "readable weights file" if reader is not None else "PyTorch state dict"
            raise InputError(f"{key}.path: {file} is not a {kind}: {exc}") from exc
    import torch

    try:
        state = torch.hub.load_state_dict_from_url(url, check_hash=True, progress=False, map_location="cpu")
    except Exception as exc:  # network errors, hash mismatch, corrupt download: all mean "no weights"
        raise InputError(
            f"{key}: weights are not available: downloading {url} failed ({exc}). "
            f"Download that file elsewhere and set {key}.path to it."
        ) from exc
    return state, f"torchvision {url}"


def available(url: str, path: str | None = None) -> bool:
    """Whether weights are at hand without a download: the configured file, or torch.hub's cached copy."""
    if path:
        return Path(os.path.expanduser(path)).is_file()
    import torch

    return (Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)).is_file()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
