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

READ_ERRORS = (RuntimeError, ValueError, OSError, EOFError, KeyError, TypeError, pickle.UnpicklingError)
TORCH_FORMATS = (b"PK\x03\x04", b"\x80")  # what torch.save writes: a zip archive, or a pickle before PyTorch 1.6
SIGNATURES = {  # first bytes of files given as weights by mistake: what the error calls them
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x89HDF": "an HDF5 file, read only as models.vgg16.path and named .h5",
}


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
        if reader is None:
            return torch_load(key, file), f"file {file}"
        try:
            return reader(file), f"file {file}"
        except READ_ERRORS as exc:
            raise InputError(f"{key}.path: {file} is not a readable weights file: {first_line(exc)}") from exc
    import torch

    try:
        state = torch.hub.load_state_dict_from_url(url, check_hash=True, progress=False, map_location="cpu")
    except Exception as exc:  # network errors, hash mismatch, corrupt download: all mean "no weights"
        raise InputError(
            f"{key}: weights are not available: downloading {url} failed ({exc}). "
            f"Download that file elsewhere and set {key}.path to it."
        ) from exc
    return state, f"torchvision {url}"


def torch_load(key: str, file: Path) -> dict:
    """``torch.load`` of the file of config section ``key``; a file that torch.save did not write is an
    InputError in one line that says what it looks like (torch's own message is a paragraph about
    ``weights_only`` whatever the file is)."""
    import torch

    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except READ_ERRORS as exc:
        with open(file, "rb") as handle:
            head = handle.read(8)
        why = next((what for magic, what in SIGNATURES.items() if head.startswith(magic)), None)
        if not head:
            why = "the file is empty"
        elif why is None and not head.startswith(TORCH_FORMATS):
            why = "neither the zip archive that torch.save writes nor a pickle"
        elif why is None and isinstance(exc, pickle.UnpicklingError):  # weights_only refused what it holds
            why = "it holds Python objects besides tensors, e.g. a whole model: torch.save its state_dict() instead"
        raise InputError(f"{key}.path: {file} is not a PyTorch weights file ({why or first_line(exc)})") from exc


def first_line(exc: Exception) -> str:
    """An exception's message in one line (its first), else its type's name."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


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
