"""Reading and writing images (RGB frames, label maps) with clear errors and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from photostyle.atomic import atomic_path
from photostyle.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def image_size(path: str | os.PathLike, what: str = "image") -> tuple[int, int]:
    """(width, height) from the file header alone; a missing or non-image file raises, naming it.

    Used at start-up for the frames of a folder: decoding thousands of frames would slow every
    start-up, and a frame that is truncated nonetheless fails in its own ``frames`` job.
    """
    with _open(path, what) as img:
        return img.size


def read_rgb(path: str | os.PathLike, what: str = "image") -> np.ndarray:
    """Read an image as H×W×3 uint8 RGB, fully decoded (a truncated file raises, naming it).

    EXIF orientation is applied. Greyscale images are converted to RGB (a black-and-white
    reference is legitimate). An alpha channel is dropped when fully opaque and refused
    otherwise: transparent pixels have no colour to transfer. 16-bit greyscale is scaled to 8 bits.
    """
    with _open(path, what) as opened:
        try:
            opened.load()
        except (OSError, SyntaxError) as exc:
            raise InputError(f"{what} {path} is not a readable image: {exc}") from exc
        img = ImageOps.exif_transpose(opened)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = (np.asarray(img, np.float64) / 257.0).clip(0, 255).round().astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA"):
        if np.asarray(img.getchannel("A")).min() < 255:
            raise InputError(
                f"{what} {path} has transparent pixels (alpha channel); flatten it onto a background first"
            )
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), np.uint8))


def _open(path: str | os.PathLike, what: str) -> Image.Image:
    """Open an image (header only) or raise an InputError naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist")
    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"{what} {path} is not a readable image: {exc}") from exc


def write_rgb(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write an H×W×3 uint8 RGB image atomically (format from the suffix)."""
    _write(path, np.ascontiguousarray(rgb[:, :, ::-1]))


def read_gray(path: str | os.PathLike, what: str = "image") -> np.ndarray:
    """Read a single-channel 8-bit image (label map or weight map) as H×W uint8."""
    path = Path(path)
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None or data.ndim != 2 or data.dtype != np.uint8:
        raise InputError(f"{what} {path} is missing or not an 8-bit single-channel image")
    return data


def write_gray(path: str | os.PathLike, gray: np.ndarray) -> None:
    """Write an H×W uint8 image (label map, weight map) atomically."""
    if gray.dtype != np.uint8 or gray.ndim != 2:
        raise ValueError("write_gray expects an H×W uint8 array")
    _write(path, gray)


def _write(path: str | os.PathLike, data: np.ndarray) -> None:
    """Encode in memory, then write through Python, so that a full disk raises ENOSPC."""
    ok, encoded = cv2.imencode(Path(path).suffix, data)
    if not ok:
        raise ValueError(f"cannot encode an image of shape {data.shape} as {path}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(encoded.tobytes())


def resize_longest(rgb: np.ndarray, longest: int | None) -> np.ndarray:
    """Resize so that the longest side is ``longest`` (None: keep), both sides even.

    Even sides are what H.264 in yuv420p needs, so every stage works at the size that is
    finally encoded. Area interpolation when shrinking, cubic when enlarging.
    """
    h, w = rgb.shape[:2]
    target_w, target_h = working_shape(w, h, longest)
    if (target_w, target_h) == (w, h):
        return rgb
    interp = cv2.INTER_AREA if target_w * target_h < w * h else cv2.INTER_CUBIC
    return cv2.resize(rgb, (target_w, target_h), interpolation=interp)


def working_shape(width: int, height: int, longest: int | None) -> tuple[int, int]:
    """(width, height) at working size: longest side ``longest`` (None: unchanged), even sides."""
    scale = 1.0 if not longest else longest / max(width, height)
    return (max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2)))
