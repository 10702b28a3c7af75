"""Label maps that pair regions of the reference with regions of each frame.

Methods: ``none`` (one class), ``masks`` (hand-drawn colour masks in the colour code of
Luan et al., snapped to the nearest legend colour), ``kmeans`` (colour clusters fitted once
per run on the reference and the first frame; every frame is assigned to those same centres)
and ``network`` (ADE20K scene parsing summed into the label groups of the config, see
``scene_parsing``; an edited reference segmentation in the group legend may replace the
network's). Frames get class *scores*, which ``label_fusion`` stabilises over time before
they become labels.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from photostyle.errors import InputError

log = logging.getLogger(__name__)

METHODS = ("none", "masks", "kmeans", "network")

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


def snap_mask(
    rgb: np.ndarray,
    name: str,
    legend: dict[str, tuple[int, int, int]] | None,
    snap_distance: float,
    max_unmatched: float,
) -> np.ndarray:
    """Label map (legend index per pixel) of a colour mask, each pixel snapped to a legend colour.

    ``legend`` defaults to Luan et al.'s colour code. Hand-drawn masks are not exactly
    quantised: anti-aliased edges between two regions hold blends (black-white edges pass
    through grey). A legend colour therefore counts only where it forms a solid region (pixels
    within ``snap_distance / 3`` of it that survive a 5×5 erosion, at least 0.01 % of the mask);
    each pixel goes to the nearest such colour. Pixels farther than ``snap_distance`` from every
    legend colour are tolerated up to a share ``max_unmatched``; beyond that the mask uses
    colours outside the legend and is refused, naming them with their pixel counts.
    """
    legend = LEGEND if legend is None else legend
    colours = np.array(list(legend.values()), np.float32)
    pixels = rgb.reshape(-1, 3).astype(np.float32)
    dist = np.sqrt(((pixels[:, None, :] - colours[None, :, :]) ** 2).sum(axis=2))
    nearest, nearest_dist = dist.argmin(axis=1), dist.min(axis=1)
    far = nearest_dist > snap_distance
    if far.mean() > max_unmatched:
        unknown, counts = np.unique(rgb.reshape(-1, 3)[far], axis=0, return_counts=True)
        top = np.argsort(counts)[::-1][:5]
        examples = ", ".join(f"RGB {tuple(int(v) for v in unknown[t])} ({counts[t]} px)" for t in top)
        raise InputError(
            f"mask {name}: {int(far.sum())} pixels ({100 * far.mean():.1f} %) are farther than "
            f"segmentation.snap_distance={snap_distance:g} from every legend colour, for example {examples}; "
            f"use only the legend colours {', '.join(f'{k} {v}' for k, v in legend.items())}"
        )
    core = (nearest_dist < snap_distance / 3).reshape(rgb.shape[:2])
    nearest = nearest.reshape(rgb.shape[:2])
    kernel = np.ones((5, 5), np.uint8)
    solid = [
        k for k in range(len(colours)) if cv2.erode((core & (nearest == k)).astype(np.uint8), kernel).mean() >= 1e-4
    ]
    if not solid:
        raise InputError(f"mask {name}: no region of a single legend colour ({', '.join(legend)})")
    labels = np.array(solid)[dist[:, solid].argmin(axis=1)]
    return labels.reshape(rgb.shape[:2]).astype(np.uint8)


def group_legend(settings: dict) -> dict[str, tuple[int, int, int]]:
    """Group name → legend colour, in the order of ``segmentation.groups`` (the label ids)."""
    groups = settings["groups"]
    names = [group["name"] for group in groups]
    if len(set(names)) != len(names):
        raise InputError(f"segmentation.groups: a group name appears twice in {names}")
    colours = [tuple(group["colour"]) for group in groups]
    if len(set(colours)) != len(colours):
        raise InputError("segmentation.groups: two groups share a colour; each needs its own legend colour")
    if settings["default_group"] not in names:
        raise InputError(f"segmentation.default_group: {settings['default_group']!r} is not a group of {names}")
    return dict(zip(names, colours, strict=True))


def class_groups(id2label: dict[int, str], settings: dict) -> np.ndarray:
    """Group index of each class id of a network (classes no group lists go to the default group)."""
    names = list(group_legend(settings))
    owner: dict[str, int] = {}
    for index, group in enumerate(settings["groups"]):
        for name in group["classes"]:
            if name in owner:
                raise InputError(
                    f"segmentation.groups: class {name!r} is in both {names[owner[name]]} and {names[index]}"
                )
            owner[name] = index
    labels = {int(i): str(label).strip() for i, label in id2label.items()}
    unknown = sorted(set(owner) - set(labels.values()))
    if unknown:
        log.warning("segmentation.groups: the model has no class named %s (ignored)", ", ".join(map(repr, unknown)))
    default = names.index(settings["default_group"])
    return np.array([owner.get(labels[i], default) for i in range(len(labels))], np.int64)


def resize_labels(labels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a label map without inventing labels (nearest neighbour)."""
    if labels.shape[:2] == (height, width):
        return labels
    return cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)


@dataclass(frozen=True)
class ColourClusters:
    """k-means centres in standardised Lab (+ weighted position), with the colour statistics each
    side is standardised by."""

    centres: np.ndarray  # k × 3, or k × 5 with position
    reference_stats: np.ndarray  # 2 × 3 (mean, std)
    frame_stats: np.ndarray  # 2 × 3 (mean, std)
    position_weight: float = 0.0

    def to_json(self) -> str:
        return json.dumps(
            {
                "method": "kmeans",
                "centres": self.centres.tolist(),
                "reference_stats": self.reference_stats.tolist(),
                "frame_stats": self.frame_stats.tolist(),
                "position_weight": self.position_weight,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> ColourClusters:
        data = json.loads(text)
        arrays = (np.array(data[key], np.float32) for key in ("centres", "reference_stats", "frame_stats"))
        return cls(*arrays, position_weight=float(data.get("position_weight", 0.0)))


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def _stats(lab: np.ndarray) -> np.ndarray:
    return np.stack([lab.mean(axis=0), lab.std(axis=0) + 1e-3])


def _features(rgb: np.ndarray, stats: np.ndarray, position_weight: float) -> np.ndarray:
    """Per pixel: Lab standardised by ``stats``, and with a position weight, (x / W, y / H) times it."""
    lab = (_lab(rgb) - stats[0]) / stats[1]
    if position_weight <= 0:
        return lab
    h, w = rgb.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    position = np.stack([xs / w, ys / h], axis=-1).reshape(-1, 2) * position_weight
    return np.concatenate([lab, position], axis=1).astype(np.float32)


def fit_clusters(
    reference: np.ndarray, first_frame: np.ndarray, k: int, position_weight: float = 0.0, seed: int = 0
) -> ColourClusters:
    """Fit k clusters jointly on the reference and the first frame.

    Each image's Lab colours are standardised by its own mean and spread first, so that
    regions correspond by relative tone (the bright sky of a sunset and the bright sky of a
    noon frame) rather than by absolute colour, which the style is about to change anyway.
    ``position_weight`` > 0 adds the pixel's relative position (sky is on top in both), which
    makes regions follow the hand-drawn masks of Luan et al.'s pairs better (see
    ``benchmarks/segmentation.py``). Centres are sorted by lightness so that the ids are reproducible.
    """
    ref_stats, frame_stats = _stats(_lab(reference)), _stats(_lab(first_frame))
    samples = np.concatenate(
        [_features(reference, ref_stats, position_weight), _features(first_frame, frame_stats, position_weight)]
    )
    rng = np.random.default_rng(seed)
    if len(samples) > 200_000:
        samples = samples[rng.choice(len(samples), 200_000, replace=False)]
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
    _, _, centres = cv2.kmeans(samples.astype(np.float32), k, None, criteria, 10, cv2.KMEANS_PP_CENTERS)
    centres = centres[np.argsort(centres[:, 0])]
    return ColourClusters(
        centres.astype(np.float32), ref_stats.astype(np.float32), frame_stats.astype(np.float32), position_weight
    )


def kmeans_scores(rgb: np.ndarray, clusters: ColourClusters, reference: bool) -> np.ndarray:
    """Soft assignment (K×H×W, summing to 1) of an image to fitted clusters, smoothed against speckle.

    Each pixel's score for cluster k is exp(−d_k² / 2) (d_k: distance to centre k in the
    features of ``fit_clusters``), normalised over the clusters and averaged over a 5×5 window,
    so that isolated pixels follow their neighbourhood and labels can be fused over time.
    """
    stats = clusters.reference_stats if reference else clusters.frame_stats
    features = _features(rgb, stats, clusters.position_weight)
    dist = ((features[:, None, :] - clusters.centres[None]) ** 2).sum(axis=2)
    scores = np.exp(-0.5 * (dist - dist.min(axis=1, keepdims=True)))
    scores /= scores.sum(axis=1, keepdims=True)
    scores = scores.T.reshape(len(clusters.centres), *rgb.shape[:2]).astype(np.float32)
    return np.stack([cv2.blur(channel, (5, 5)) for channel in scores])


def class_masks(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """One-hot float32 masks (n_classes × H × W) of a label map."""
    return (labels[None] == np.arange(n_classes, dtype=labels.dtype)[:, None, None]).astype(np.float32)


def labels_from_scores(scores: np.ndarray) -> np.ndarray:
    """Label map (uint8) of the most probable class at each pixel of K×H×W scores."""
    return scores.argmax(axis=0).astype(np.uint8)


def colourise(labels: np.ndarray, colours: list[tuple[int, int, int]]) -> np.ndarray:
    """RGB picture of a label map in legend colours."""
    return np.asarray(colours, np.uint8)[labels]


def overlay(frame: np.ndarray, labels: np.ndarray, colours: list[tuple[int, int, int]]) -> np.ndarray:
    """The frame half-blended with its label colours (for the report)."""
    return ((frame.astype(np.uint16) + colourise(labels, colours)) // 2).astype(np.uint8)


# Legend colours of k-means clusters in pictures (their ids carry no meaning): 32 colours of the
# turbo colour map in bit-reversed order, so that the first few clusters get distant colours.
_TURBO = cv2.applyColorMap(np.arange(4, 256, 8, dtype=np.uint8)[:, None], cv2.COLORMAP_TURBO).reshape(-1, 3)[:, ::-1]
CLUSTER_COLOURS = [tuple(int(v) for v in _TURBO[int(f"{k:05b}"[::-1], 2)]) for k in range(32)]


@dataclass(frozen=True)
class Classes:
    """What the label ids shared by the reference and the frames mean: names, legend colours,
    and for ``kmeans`` the fitted clusters that every frame is assigned to."""

    method: str
    names: list[str]
    colours: list[tuple[int, int, int]]
    clusters: ColourClusters | None = None

    def to_json(self) -> str:
        data = {"method": self.method, "classes": self.names, "colours": [list(c) for c in self.colours]}
        if self.clusters is not None:
            data["kmeans"] = json.loads(self.clusters.to_json())
        return json.dumps(data, indent=1)

    @classmethod
    def of_run(cls, settings: dict, classes_json: str | None = None) -> Classes:
        """The classes of a run: from the settings alone, except ``kmeans`` (its fitted clusters,
        from the ``classes.json`` that segment_reference wrote)."""
        method = settings["method"]
        if method == "kmeans":
            return cls.from_json(classes_json)
        if method == "none":
            return cls("none", ["all"], [(128, 128, 128)])
        if method not in ("masks", "network"):
            raise InputError(f"segmentation.method must be one of {list(METHODS)}, not {method!r}")
        legend = LEGEND if method == "masks" else group_legend(settings)
        return cls(method, list(legend), list(legend.values()))

    @classmethod
    def from_json(cls, text: str) -> Classes:
        data = json.loads(text)
        clusters = ColourClusters.from_json(json.dumps(data["kmeans"])) if "kmeans" in data else None
        return cls(data["method"], data["classes"], [tuple(c) for c in data["colours"]], clusters)


def reference_segmentation(
    method: str,
    style: np.ndarray,
    settings: dict,
    style_mask: tuple[np.ndarray, str] | None = None,
    first_frame: np.ndarray | None = None,
    scene_parser=None,
) -> tuple[np.ndarray, Classes]:
    """Label map of the (working-size) reference and the classes frames are segmented into.

    ``settings`` is the config's ``segmentation`` section. ``style_mask`` is (RGB mask at the
    reference's source size, its file name): required by ``masks`` (Luan et al.'s legend), and
    for ``network`` an edited reference segmentation in the group legend that replaces the
    network's. ``first_frame`` is needed by ``kmeans``, ``scene_parser`` by ``network``.
    """
    height, width = style.shape[:2]
    if method == "kmeans":
        clusters = fit_clusters(style, first_frame, settings["classes"], settings["position_weight"])
        labels = labels_from_scores(kmeans_scores(style, clusters, reference=True))
        names = [f"cluster {k}" for k in range(settings["classes"])]
        return labels, Classes("kmeans", names, CLUSTER_COLOURS[: settings["classes"]], clusters)
    classes = Classes.of_run({**settings, "method": method})
    if method == "none":
        return np.zeros((height, width), np.uint8), classes
    if style_mask is not None:
        mask, name = style_mask
        legend = dict(zip(classes.names, classes.colours, strict=True))
        labels = snap_mask(mask, name, legend, settings["snap_distance"], settings["max_unmatched"])
        return resize_labels(labels, width, height), classes
    return labels_from_scores(scene_parser.group_probabilities(style, settings["size"])), classes


def frame_scores(
    frame: np.ndarray,
    settings: dict,
    classes: Classes,
    mask: tuple[np.ndarray, str] | None = None,
    scene_parser=None,
) -> np.ndarray:
    """Class scores (K×H×W float32, summing to 1 per pixel) of one working-size frame, in the
    class ids of ``classes``: one-hot for ``none`` and ``masks`` (``mask`` = its RGB mask and
    file name), soft for ``kmeans`` and ``network`` (``scene_parser``)."""
    height, width = frame.shape[:2]
    if classes.method == "none":
        return np.ones((1, height, width), np.float32)
    if classes.method == "masks":
        rgb, name = mask
        labels = snap_mask(rgb, name, LEGEND, settings["snap_distance"], settings["max_unmatched"])
        return class_masks(resize_labels(labels, width, height), len(classes.names))
    if classes.method == "kmeans":
        return kmeans_scores(frame, classes.clusters, reference=False)
    return scene_parser.group_probabilities(frame, settings["size"])
