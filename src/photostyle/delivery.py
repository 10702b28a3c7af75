"""Delivery at the video's own resolution: the optimiser works at the working size, the written
frames have the source's size (``encode.size``).

The method's photorealism assumption is that the output is, locally, an affine function of the
input's colours. So each working-size output is described by its local affine colour maps
(frame → output, the guided filter's, ``colour.local_affine_maps``, with a small window so that
they reproduce the output); resized to the delivered size and applied to the source frame at that
size, they give the look of the optimisation with the detail of the source (fast guided
upsampling, He & Sun 2015; the bilateral-grid variant of Chen et al. 2016 is the same idea).
Nothing at full resolution is cached: the rules decode the source, apply the maps and encode in one
stream (``Stream``, ``write_video``), so a 4K clip needs no gigabytes of PNGs.

``delivery_options`` and ``delivered_shape`` are torch-free (the Snakefile plans with them).
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from photostyle.colour import local_affine_maps
from photostyle.images import read_rgb, working_shape
from photostyle.video import decoded_frames, video_writer

if TYPE_CHECKING:
    import torch

SOURCE, WORKING = "source", "working"


def delivery_options(encode: dict) -> dict:
    """What the delivery of a frame reads of the config besides its size (the delivery rules'
    params, so that a change reruns them): the maps' window radius in working-size pixels and ε."""
    return {"radius": encode["map_radius"], "eps": encode["map_eps"]}


def delivered_shape(width: int, height: int, size: str | int | None, working_size: int | None) -> tuple[int, int]:
    """(width, height) of the written frames for a source of width × height.

    ``source``: the source's own size; H.264 in yuv420p (what players read) needs even sides, so an
    odd side loses its last column or row (cropped, not resampled). ``working``: the working size.
    A number: that longest side (even sides, as the working size). None: the source's size."""
    if size == WORKING:
        return working_shape(width, height, working_size)
    if size in (SOURCE, None):
        return max(2, width - width % 2), max(2, height - height % 2)
    return working_shape(width, height, int(size))


def capped_shape(width: int, height: int, longest: int | None) -> tuple[int, int]:
    """width × height, brought down (never up) to the longest side ``longest`` (None: unchanged)."""
    if longest is None or max(width, height) <= longest:
        return width, height
    return working_shape(width, height, longest)


def at_shape(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """A source frame at width × height, or with at most one more row and column (an odd side, which
    the caller crops after the maps are applied, so that they stay aligned with the frame they were
    fitted on): else resized, area when shrinking, cubic when enlarging."""
    h, w = rgb.shape[:2]
    if (w - w % 2, h - h % 2) == (width, height):
        return rgb
    interp = cv2.INTER_AREA if width * height < w * h else cv2.INTER_CUBIC
    return cv2.resize(rgb, (width, height), interpolation=interp)


def fit_maps(frame: np.ndarray, output: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The local affine maps (H×W×4×3) of a working-size frame → its output (both uint8 RGB)."""
    return local_affine_maps(frame / np.float32(255.0), output / np.float32(255.0), radius, eps)


def apply_at(maps: np.ndarray, frame: np.ndarray, device: str | torch.device = "cpu") -> np.ndarray:
    """The frame (uint8 RGB at any size) recoloured by the maps of its working-size version,
    bilinearly resized to its size (half-pixel centres, as the frames' own resizing).

    On the CPU the maps are resized by OpenCV (threaded, 0.06 s to 3840×2160 where torch's
    ``interpolate`` takes 0.34 s here) and applied by torch (threaded); on a GPU both on the GPU.
    At 3840×2160 the resized maps are 400 MB of float32. Returns uint8 RGB."""
    import torch
    import torch.nn.functional as F

    height, width = frame.shape[:2]
    device = torch.device(device)
    flat = np.ascontiguousarray(maps.reshape(*maps.shape[:2], 12), dtype=np.float32)
    with torch.no_grad():
        if device.type == "cpu":
            grid = torch.from_numpy(cv2.resize(flat, (width, height), interpolation=cv2.INTER_LINEAR))
        else:
            grid = torch.from_numpy(flat).to(device).permute(2, 0, 1)[None]
            grid = F.interpolate(grid, size=(height, width), mode="bilinear", align_corners=False)
            grid = grid[0].permute(1, 2, 0)
        rgb = torch.from_numpy(np.require(frame, np.uint8, ["C", "W"])).to(device).float().div_(255.0)
        out = grid[..., 9:12].clone()  # offset b, then Aᵀ's rows: out = b + Σ_d rgb_d · Aᵀ[d]
        for d in range(3):
            out.addcmul_(rgb[..., d : d + 1], grid[..., 3 * d : 3 * d + 3])
        return out.mul_(255.0).round_().clamp_(0.0, 255.0).to(torch.uint8).cpu().numpy()


def deliver_frame(
    source: np.ndarray, frame: np.ndarray, output: np.ndarray, shape: tuple[int, int], options: dict, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """(source frame at ``shape``, stylised frame at ``shape``) from the source frame and the
    working-size frame and output. At the working size itself the output is returned as it is."""
    width, height = shape
    if (width, height) == (frame.shape[1], frame.shape[0]):
        return frame, output
    source = at_shape(source, width, height)
    delivered = apply_at(fit_maps(frame, output, options["radius"], options["eps"]), source, device)
    return source[:height, :width], delivered[:height, :width]


def source_frames(source: str | os.PathLike, positions: Sequence[int | str]) -> Iterator[np.ndarray]:
    """The selected source frames in order, decoded once each: a video streamed from the first
    position's keyframe (``positions`` are presentation timestamps), or image files (paths)."""
    if not positions:
        return
    if not isinstance(positions[0], int):
        for path in positions:
            yield read_rgb(path, "frame")
        return
    yield from decoded_frames(source, positions)


def prefetched(items: Iterable, depth: int = 2) -> Iterator:
    """``items`` produced by a background thread, ``depth`` ahead: decoding and PNG reading (which
    release the GIL) overlap the maps and the encoder. An error in the thread is raised here."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def produce() -> None:
        try:
            for item in items:
                buffer.put(item)
            buffer.put(done)
        except BaseException as exc:  # handed over to the consumer
            buffer.put(exc)

    threading.Thread(target=produce, daemon=True).start()
    while (item := buffer.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


@dataclass(frozen=True)
class Stream:
    """What a delivery rule streams: per frame the source position, the working-size frame and its
    stylised frame files."""

    source: str
    positions: Sequence[int | str]
    frames: Sequence[str]
    stylized: Sequence[str]

    def pairs(self, shape: tuple[int, int], options: dict, device: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(source, delivered) at ``shape`` for every frame in turn; the source is decoded only when
        ``shape`` is not the working size."""
        working = read_rgb(self.frames[0], "frame").shape[1::-1]
        if tuple(shape) == tuple(working):
            sources: Iterable = itertools.repeat(None)  # never read
        else:
            sources = source_frames(self.source, self.positions)
        inputs = zip(sources, self.frames, self.stylized, strict=False)  # sources may be endless
        loaded = ((s, read_rgb(f, "frame"), read_rgb(o, "stylised frame")) for s, f, o in inputs)
        for source, frame, output in prefetched(loaded):
            yield deliver_frame(source, frame, output, shape, options, device)


def write_video(
    output: str | os.PathLike,
    stream: Stream,
    shape: tuple[int, int],
    options: dict,
    device: str | torch.device,
    encoding: dict,
    side_by_side: bool = False,
) -> int:
    """Deliver ``stream`` at ``shape`` into an H.264 mp4: the stylised frames, or source | stylised
    side by side. ``encoding``: fps, audio (an ``AudioClip`` or None), crf, preset. Returns the
    number of frames; nothing is left under ``output``'s name unless every frame is in."""
    width, height = shape
    size = (2 * width if side_by_side else width, height)
    with video_writer(output, *size, encoding["fps"], encoding["audio"], encoding["crf"], encoding["preset"]) as video:
        for source, delivered in stream.pairs(shape, options, device):
            video.write(np.hstack([source, delivered]) if side_by_side else delivered)
    return video.frames
