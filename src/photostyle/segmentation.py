"""Label maps that pair regions of the reference with regions of each frame.

Methods: ``none`` (one class), ``masks`` (hand-drawn colour masks in the colour code of
Luan et al., snapped to the nearest legend colour) and ``kmeans`` (colour clusters fitted
once per run on the reference and the first frame; every frame is assigned to those same
centres, so class ids agree across reference and frames and do not flicker).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import cv2
import numpy as np

from photostyle.errors import InputError

METHODS = ("none", "masks", "kmeans")

# Colour code of Luan et al.'s masks (deep-photo-styletransfer README, ExtractMask).
LEGEND: dict[str, tuple[int, int, int]] = {
    "blue": (0, 0, 255),
    "green": (0, 255, 0),
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "red": (255, 0, 0),
    "yellow": (255, 255, 0),
    "grey": (128, 128, 128),
    "lightblue": (0, 255, 255),
    "purple": (255, 0, 255),
}


def snap_mask(rgb: np.ndarray, name: str, snap_distance: float = 60.0, max_unmatched: float = 0.05) -> np.ndarray:
    """Label map (legend index per pixel) of a colour mask, each pixel snapped to a legend colour.

    Hand-drawn masks are not exactly quantised: anti-aliased edges between two regions hold
    blends (black-white edges pass through grey). A legend colour therefore counts only where
    it forms a solid region (pixels within ``snap_distance / 3`` of it that survive a 5×5
    erosion, at least 0.01 % of the mask); each pixel goes to the nearest such colour. Pixels
    farther than ``snap_distance`` from every legend colour are tolerated up to a share
    ``max_unmatched``; beyond that the mask uses colours outside the legend and is refused.
    """
    legend = np.array(list(LEGEND.values()), np.float32)
    pixels = rgb.reshape(-1, 3).astype(np.float32)
    dist = np.sqrt(((pixels[:, None, :] - legend[None, :, :]) ** 2).sum(axis=2))
    nearest, nearest_dist = dist.argmin(axis=1), dist.min(axis=1)
    far = nearest_dist > snap_distance
    if far.mean() > max_unmatched:
        colours, counts = np.unique(rgb.reshape(-1, 3)[far], axis=0, return_counts=True)
        top = colours[np.argsort(counts)[::-1][:5]]
        raise InputError(
            f"mask {name}: {100 * far.mean():.1f} % of pixels are farther than "
            f"segmentation.snap_distance={snap_distance:g} from every legend colour "
            f"(for example RGB {', '.join(str(tuple(int(v) for v in c)) for c in top)}); "
            f"use only the legend colours {', '.join(LEGEND)}"
        )
    core = (nearest_dist < snap_distance / 3).reshape(rgb.shape[:2])
    nearest = nearest.reshape(rgb.shape[:2])
    kernel = np.ones((5, 5), np.uint8)
    solid = [
        k for k in range(len(legend)) if cv2.erode((core & (nearest == k)).astype(np.uint8), kernel).mean() >= 1e-4
    ]
    if not solid:
        raise InputError(f"mask {name}: no region of a single legend colour ({', '.join(LEGEND)})")
    labels = np.array(solid)[dist[:, solid].argmin(axis=1)]
    return labels.reshape(rgb.shape[:2]).astype(np.uint8)


def resize_labels(labels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a label map without inventing labels (nearest neighbour)."""
    if labels.shape[:2] == (height, width):
        return labels
    return cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)


@dataclass(frozen=True)
class ColourClusters:
    """k-means centres in standardised Lab, with the colour statistics each side is standardised by."""

    centres: np.ndarray  # k × 3
    reference_stats: np.ndarray  # 2 × 3 (mean, std)
    frame_stats: np.ndarray  # 2 × 3 (mean, std)

    def to_json(self) -> str:
        return json.dumps(
            {
                "method": "kmeans",
                "centres": self.centres.tolist(),
                "reference_stats": self.reference_stats.tolist(),
                "frame_stats": self.frame_stats.tolist(),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> ColourClusters:
        data = json.loads(text)
        return cls(*(np.array(data[key], np.float32) for key in ("centres", "reference_stats", "frame_stats")))


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def _stats(lab: np.ndarray) -> np.ndarray:
    return np.stack([lab.mean(axis=0), lab.std(axis=0) + 1e-3])


def fit_clusters(reference: np.ndarray, first_frame: np.ndarray, k: int, seed: int = 0) -> ColourClusters:
    """Fit k colour clusters jointly on the reference and the first frame.

    Each image's Lab colours are standardised by its own mean and spread first, so that
    regions correspond by relative tone (the bright sky of a sunset and the bright sky of a
    noon frame) rather than by absolute colour, which the style is about to change anyway.
    Centres are sorted by lightness so that the ids are reproducible.
    """
    ref_lab, frame_lab = _lab(reference), _lab(first_frame)
    ref_stats, frame_stats = _stats(ref_lab), _stats(frame_lab)
    samples = np.concatenate([(ref_lab - ref_stats[0]) / ref_stats[1], (frame_lab - frame_stats[0]) / frame_stats[1]])
    rng = np.random.default_rng(seed)
    if len(samples) > 200_000:
        samples = samples[rng.choice(len(samples), 200_000, replace=False)]
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
    _, _, centres = cv2.kmeans(samples.astype(np.float32), k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    centres = centres[np.argsort(centres[:, 0])]
    return ColourClusters(centres.astype(np.float32), ref_stats.astype(np.float32), frame_stats.astype(np.float32))


def assign_clusters(rgb: np.ndarray, clusters: ColourClusters, reference: bool) -> np.ndarray:
    """Label map of an image under fitted clusters, lightly median-filtered against speckle."""
    stats = clusters.reference_stats if reference else clusters.frame_stats
    lab = (_lab(rgb) - stats[0]) / stats[1]
    dist = ((lab[:, None, :] - clusters.centres[None]) ** 2).sum(axis=2)
    labels = dist.argmin(axis=1).reshape(rgb.shape[:2]).astype(np.uint8)
    return cv2.medianBlur(labels, 5)


def class_masks(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """One-hot float32 masks (n_classes × H × W) of a label map."""
    return (labels[None] == np.arange(n_classes, dtype=labels.dtype)[:, None, None]).astype(np.float32)


def reference_labels(
    method: str,
    style: np.ndarray,
    settings: dict,
    style_mask: tuple[np.ndarray, str] | None = None,
    first_frame: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """Label map of the (working-size) reference and the JSON that frames are segmented by.

    ``settings`` is the config's ``segmentation`` section; ``style_mask`` is (RGB mask at the
    reference's source size, its file name) for method ``masks``; ``first_frame`` is needed by ``kmeans``.
    """
    height, width = style.shape[:2]
    if method == "none":
        return np.zeros((height, width), np.uint8), json.dumps({"method": "none", "classes": ["all"]})
    if method == "masks":
        mask, name = style_mask
        labels = snap_mask(mask, name, settings["snap_distance"], settings["max_unmatched"])
        return resize_labels(labels, width, height), json.dumps({"method": "masks", "classes": list(LEGEND)})
    if method == "kmeans":
        clusters = fit_clusters(style, first_frame, settings["classes"])
        return assign_clusters(style, clusters, reference=True), clusters.to_json()
    raise InputError(f"segmentation.method must be one of {list(METHODS)}, not {method!r}")


def frame_labels(
    method: str,
    frame: np.ndarray,
    settings: dict,
    mask: tuple[np.ndarray, str] | None = None,
    classes_json: str | None = None,
) -> np.ndarray:
    """Label map of one (working-size) frame, with the same class ids as the reference."""
    height, width = frame.shape[:2]
    if method == "none":
        return np.zeros((height, width), np.uint8)
    if method == "masks":
        rgb, name = mask
        labels = snap_mask(rgb, name, settings["snap_distance"], settings["max_unmatched"])
        return resize_labels(labels, width, height)
    if method == "kmeans":
        return assign_clusters(frame, ColourClusters.from_json(classes_json), reference=False)
    raise InputError(f"segmentation.method must be one of {list(METHODS)}, not {method!r}")
