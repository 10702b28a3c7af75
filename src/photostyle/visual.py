"""Pictures for the report: optical flow in the Middlebury colour coding (torchvision's), panels
side by side with titles, and a legend of class colours. Images are H×W×3 uint8 RGB."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

BACKGROUND = (255, 255, 255)
BORDER = (160, 160, 160)
FONT = cv2.FONT_HERSHEY_SIMPLEX
DARKER = 0.75  # vectors longer than the scale of the coding: their full colour, darkened (Baker et al.'s code)


def flow_to_colour(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """H×W×2 flow (x, y) as an RGB picture in the Middlebury coding (Baker et al., "A Database and
    Evaluation Methodology for Optical Flow", IJCV 2011): the direction is the hue, the length the
    saturation (white: no motion; full colour at ``max_magnitude``, default the longest vector of
    the field). Vectors beyond ``max_magnitude`` are darkened; unknown (non-finite or > 1e9)
    vectors are black.

    The colours are torchvision's ``flow_to_image``, which always scales by the longest vector and
    knows neither unknown vectors nor a fixed scale: here unknown vectors are zeroed, longer ones
    cut to ``max_magnitude``, and one vector of length ``max_magnitude`` is added to set the scale
    (measured: the same picture as Baker et al.'s coding computed in float64, within 1 level)."""
    import torch
    from torchvision.utils import flow_to_image

    flow = np.asarray(flow, np.float64)
    shape = flow.shape[:2]
    vectors = flow.reshape(-1, 2).copy()
    unknown = ~np.isfinite(vectors).all(axis=1) | (np.abs(vectors) > 1e9).any(axis=1)
    vectors[unknown] = 0.0
    radius = np.hypot(vectors[:, 0], vectors[:, 1])
    scale = max_magnitude if max_magnitude else max(float(radius.max(initial=0.0)), 1e-12)
    beyond = radius > scale
    vectors[beyond] *= (scale / radius[beyond])[:, None]
    vectors = np.concatenate([vectors, [[scale, 0.0]]]) / scale  # the added vector sets the scale
    coded = flow_to_image(torch.from_numpy(vectors.T.astype(np.float32)[:, None, :]))
    picture = coded[:, 0, :-1].T.numpy().copy()
    picture[beyond] = np.floor(picture[beyond] * DARKER).astype(np.uint8)
    picture[unknown] = 0
    return picture.reshape(*shape, 3)


def colour_key(size: int = 64) -> np.ndarray:
    """The coding itself: a disc whose pixel at offset (x, y) from the centre shows the colour of
    the flow (x, y), full colour on the rim; white around it."""
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    field = np.stack([x - c, y - c], axis=-1)
    picture = flow_to_colour(field, max_magnitude=c)
    picture[np.hypot(x - c, y - c) > c] = BACKGROUND
    return picture


def to_rgb(image: np.ndarray) -> np.ndarray:
    """A grey (H×W) or RGB image as RGB uint8."""
    image = np.asarray(image)
    return np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image


def enlarge(image: np.ndarray, min_height: int) -> np.ndarray:
    """The image scaled up by the smallest whole factor that makes it at least ``min_height``
    high (nearest neighbour: every pixel stays a visible square); unchanged if already as high."""
    factor = max(1, -(-min_height // image.shape[0]))
    return image if factor == 1 else np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def _text(canvas: np.ndarray, text: str, left: int, top: int, width: int, height: int) -> None:
    """Black text in the box (left, top, width, height), centred, shrunk to fit its width."""
    scale = height / 40
    (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
    if w > width:
        scale *= width / w
        (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
    origin = (left + max((width - w) // 2, 0), top + (height + h - base) // 2)
    cv2.putText(canvas, text, origin, FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)


def panels(
    images: Sequence[np.ndarray], titles: Sequence[str] | None = None, gap: int = 6, min_height: int = 0
) -> np.ndarray:
    """Images side by side on white, each under its title (when given), all at the height of the
    tallest (others are resized, keeping their aspect), enlarged to ``min_height`` when smaller."""
    images = [to_rgb(image) for image in images]
    height = max(image.shape[0] for image in images)
    images = [
        image
        if image.shape[0] == height
        else cv2.resize(
            image, (round(image.shape[1] * height / image.shape[0]), height), interpolation=cv2.INTER_NEAREST
        )
        for image in images
    ]
    images = [enlarge(image, min_height) for image in images]
    height = images[0].shape[0]
    band = max(24, height // 8) if titles else 0
    width = sum(image.shape[1] for image in images) + gap * (len(images) + 1)
    canvas = np.full((height + band + 2 * gap, width, 3), BACKGROUND, np.uint8)
    left = gap
    for n, image in enumerate(images):
        if titles:
            _text(canvas, titles[n], left, gap, image.shape[1], band)
        canvas[gap + band : gap + band + height, left : left + image.shape[1]] = image
        cv2.rectangle(canvas, (left - 1, gap + band - 1), (left + image.shape[1], gap + band + height), BORDER, 1)
        left += image.shape[1] + gap
    return canvas


def stack(pictures: Sequence[np.ndarray], gap: int = 0) -> np.ndarray:
    """Pictures one below the other, left-aligned on white."""
    width = max(p.shape[1] for p in pictures)
    rows = []
    for p in pictures:
        row = np.full((p.shape[0] + gap, width, 3), BACKGROUND, np.uint8)
        row[: p.shape[0], : p.shape[1]] = p
        rows.append(row)
    return np.concatenate(rows)


def legend(names: Sequence[str], colours: Sequence[Sequence[int]], width: int, row_height: int = 22) -> np.ndarray:
    """A strip with a swatch and the name of each class, as many per row as ``width`` allows."""
    item = 150
    per_row = max(1, width // item)
    rows = -(-len(names) // per_row)
    canvas = np.full((rows * row_height + 4, max(width, item), 3), BACKGROUND, np.uint8)
    for n, (name, colour) in enumerate(zip(names, colours, strict=True)):
        top, left = 2 + (n // per_row) * row_height, 6 + (n % per_row) * item
        swatch = row_height - 6
        cv2.rectangle(canvas, (left, top + 3), (left + swatch, top + 3 + swatch), tuple(int(c) for c in colour), -1)
        cv2.rectangle(canvas, (left, top + 3), (left + swatch, top + 3 + swatch), (0, 0, 0), 1)
        scale = 0.45
        (_, h), _ = cv2.getTextSize(name, FONT, scale, 1)
        origin = (left + swatch + 6, top + (row_height + h) // 2 + 1)
        cv2.putText(canvas, name, origin, FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def flow_picture(
    earlier: np.ndarray, later: np.ndarray, backward: np.ndarray, reliable: np.ndarray, i: int | None = None
) -> np.ndarray:
    """Frames i − 1 and i above; below, the flow i → i − 1 in the Middlebury coding with its key in
    the corner (and the longest vector in pixels in the title), and the consistency weights
    (white: reliable, black: occluded or unreliable). ``i`` numbers the frames in the titles."""
    min_height = 240
    longest = float(np.sqrt((backward.astype(np.float64) ** 2).sum(axis=2)).max())
    coded = enlarge(flow_to_colour(backward), min_height)
    key = colour_key(max(24, min(coded.shape[:2]) // 4))
    corner = coded[4 : 4 + key.shape[0], -key.shape[1] - 4 : -4]
    c = (key.shape[0] - 1) / 2
    y, x = np.mgrid[0 : key.shape[0], 0 : key.shape[1]]
    corner[:] = np.where((np.hypot(x - c, y - c) <= c)[..., None], key, corner)
    weights = np.clip(np.rint(reliable * 255.0), 0, 255).astype(np.uint8)
    now, before = ("i", "i-1") if i is None else (str(i), str(i - 1))
    frames = panels([earlier, later], [f"frame {before}", f"frame {now}"], min_height=min_height)
    motion = panels(
        [coded, weights],
        [f"flow {now} -> {before} (longest {longest:.1f} px)", "reliable pixels (white)"],
        min_height=min_height,
    )
    return stack([frames, motion])


def segmentation_picture(
    image: np.ndarray,
    coloured: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str],
    colours: Sequence[Sequence[int]],
    titles: Sequence[str],
) -> np.ndarray:
    """An image beside its segmentation picture (``labels`` in legend colours, or an overlay), with
    the legend of the classes present in ``labels`` below."""
    top = panels([image, coloured], titles, min_height=240)
    present = [k for k in np.unique(labels) if k < len(names)]
    return stack([top, legend([names[k] for k in present], [colours[k] for k in present], top.shape[1])])


def busiest_window(energy: np.ndarray, width: int, height: int) -> tuple[int, int]:
    """(x, y) of the width × height window with the largest mean ``energy`` (H×W), searched on a
    copy of at most 512 px (the choice, not the content, is coarse)."""
    h, w = energy.shape[:2]
    width, height = min(width, w), min(height, h)
    scale = min(1.0, 512 / max(w, h))
    small = cv2.resize(energy.astype(np.float32), (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    kw, kh = max(1, round(width * scale)), max(1, round(height * scale))
    means = cv2.boxFilter(small, -1, (kw, kh), normalize=True, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    means = means[: max(1, small.shape[0] - kh + 1), : max(1, small.shape[1] - kw + 1)]
    y, x = np.unravel_index(int(np.argmax(means)), means.shape)
    return min(round(x / scale), w - width), min(round(y / scale), h - height)


def detail_window(image: np.ndarray, width: int, height: int) -> tuple[int, int]:
    """(x, y) of the width × height window of an RGB image with the most fine detail (mean gradient
    magnitude of the luminance): where a 100 % crop shows what resolution brings."""
    luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return busiest_window(np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1)), width, height)


def crop_panels(
    images: Sequence[np.ndarray], titles: Sequence[str], width: int = 400, height: int = 300
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The same width × height window of images of one size (at 100 %, where the first has the most
    detail) side by side under their titles, and the window (x, y, width, height)."""
    x, y = detail_window(images[0], width, height)
    width, height = min(width, images[0].shape[1]), min(height, images[0].shape[0])
    crops = [image[y : y + height, x : x + width] for image in images]
    return panels(crops, titles), (x, y, width, height)
