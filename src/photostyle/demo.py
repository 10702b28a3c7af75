"""Offline demo inputs: a clip filmed by a virtual camera over a bundled photo, and a graded reference.

The photo is scikit-image's ``rocket.jpg`` (NASA, public domain), which ships inside the
scikit-image wheel, so the demo needs no download. The camera pans and zooms slowly along a
known path; the reference is another crop of the same photo graded to a sunset look.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from photostyle.atomic import atomic_path
from photostyle.images import write_rgb
from photostyle.video import run_ffmpeg

CLIP_NAME = "rocket_pan.mp4"
STYLE_NAME = "rocket_sunset.png"
FPS = 25
N_FRAMES = 16
SIZE = (320, 200)  # width, height of the clip


def camera_path(index: int) -> np.ndarray:
    """2×3 affine map from photo to frame for frame ``index``: pan right and down, slow zoom in."""
    t = index / (N_FRAMES - 1)
    scale = 0.62 + 0.08 * t
    x0, y0 = 150.0 + 90.0 * t, 150.0 + 25.0 * t  # photo point at the frame's top-left corner
    return np.array([[scale, 0.0, -scale * x0], [0.0, scale, -scale * y0]], np.float64)


def make_clip(photo: np.ndarray) -> list[np.ndarray]:
    """The clip's frames (RGB uint8) rendered with sub-pixel accuracy along ``camera_path``."""
    return [
        cv2.warpAffine(photo, camera_path(i), SIZE, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        for i in range(N_FRAMES)
    ]


def sunset_grade(photo: np.ndarray) -> np.ndarray:
    """A warm, low-sun colour grade: orange highlights, violet shadows, more contrast."""
    x = photo.astype(np.float32) / 255.0
    luma = x @ np.array([0.299, 0.587, 0.114], np.float32)
    shadows = np.array([0.35, 0.12, 0.45], np.float32)
    highlights = np.array([1.0, 0.62, 0.25], np.float32)
    curve = np.clip((luma - 0.5) * 1.3 + 0.5, 0, 1)[..., None]
    graded = shadows * (1 - curve) + highlights * curve
    return np.rint(np.clip(0.8 * graded + 0.2 * x, 0, 1) * 255).astype(np.uint8)


def write_clip(frames: list[np.ndarray], path: Path) -> None:
    """Encode frames to H.264 mp4 with a 440 Hz tone as audio (so that audio copying is exercised)."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, frame in enumerate(frames, start=1):
            write_rgb(Path(tmp) / f"frame_{i:05d}.png", frame)
        with atomic_path(path) as out:
            run_ffmpeg(
                ["-framerate", str(FPS), "-i", str(Path(tmp) / "frame_%05d.png"),
                 "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={N_FRAMES / FPS}",
                 "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "12", "-c:a", "aac", "-shortest", str(out)]
            )  # fmt: skip


def ensure_demo_inputs(folder: str | Path) -> tuple[Path, Path]:
    """Write the demo clip and reference into ``folder`` unless they are already there."""
    folder = Path(folder)
    clip, style = folder / CLIP_NAME, folder / STYLE_NAME
    photo = None
    if not clip.is_file():
        photo = skimage.data.rocket()
        write_clip(make_clip(photo), clip)
    if not style.is_file():
        photo = skimage.data.rocket() if photo is None else photo
        crop = photo[40:400, 60:600][:, ::-1]  # another view of the scene, mirrored
        write_rgb(style, sunset_grade(cv2.resize(crop, (360, 240), interpolation=cv2.INTER_AREA)))
    return clip, style
