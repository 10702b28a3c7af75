"""Segmentation figures: the kmeans fallback against hand-drawn masks, and label flicker over time.

Usage: python benchmarks/segmentation.py [--data ../shared/data] [--size 384]

1. Adjusted Rand index (ARI) of ``kmeans`` labels against the hand-drawn masks of Luan et al.'s
   10 photo pairs (``style_pairs``), with as many clusters as the pair's masks have regions,
   colour only (``position_weight: 0``, the method before) and with the default position weight:
   per image (regions), and over the pair (regions *and* which region of the photo goes with
   which region of the reference, what the style loss relies on).
2. Label flicker on ``../shared/data/sequences`` with ``kmeans`` (clusters fitted on the first
   frame): the share of reliable pixels whose label differs from the previous frame's warped
   along the flow, frame by frame and with the temporal fusion of ``segmentation.temporal_weight``.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from photostyle.config import defaults
from photostyle.consistency import reliable_weights
from photostyle.flow import compute_flow, flow_options
from photostyle.images import read_rgb, resize_longest
from photostyle.label_fusion import fuse_scores, label_flicker
from photostyle.metrics import adjusted_rand_index
from photostyle.segmentation import fit_clusters, kmeans_scores, labels_from_scores, resize_labels, snap_mask

REPO = Path(__file__).resolve().parents[1]
PAIRS = (1, 4, 11, 14, 17, 26, 30, 43, 53, 59)


def config() -> dict:
    """The schema's defaults (those of a run)."""
    return defaults()


def kmeans_labels(reference: np.ndarray, photo: np.ndarray, k: int, position_weight: float):
    clusters = fit_clusters(reference, photo, k, position_weight)
    return (labels_from_scores(kmeans_scores(image, clusters, image is reference)) for image in (reference, photo))


def ari_table(pairs_dir: Path, size: int, position_weight: float) -> None:
    print(f"## kmeans against the hand-drawn masks of style_pairs (longest side {size} px), ARI\n")
    print("| pair | regions | per image, colour only | per image, position weight "
          f"{position_weight:g} | pair, colour only | pair, position weight {position_weight:g} |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    totals = []
    snapping = config()["segmentation"]["snap_distance"], config()["segmentation"]["max_unmatched"]
    for pair in PAIRS:
        photos, masks = [], []
        for kind, name in (("style", f"tar{pair}"), ("input", f"in{pair}")):
            photo = resize_longest(read_rgb(pairs_dir / kind / f"{name}.png"), size)
            mask = snap_mask(read_rgb(pairs_dir / "segmentation" / f"{name}.png"), name, None, *snapping)
            photos.append(photo)
            masks.append(resize_labels(mask, photo.shape[1], photo.shape[0]))
        k = len(set(np.unique(masks[0])) | set(np.unique(masks[1])))
        row = []
        for weight in (0.0, position_weight):
            labels = list(kmeans_labels(*photos, k, weight))
            per_image = np.mean([adjusted_rand_index(lab, mask) for lab, mask in zip(labels, masks, strict=True)])
            joint = adjusted_rand_index(
                np.concatenate([x.ravel() for x in labels]), np.concatenate([m.ravel() for m in masks])
            )
            row.append((per_image, joint))
        totals.append(row)
        print(f"| {pair} | {k} | {row[0][0]:.3f} | {row[1][0]:.3f} | {row[0][1]:.3f} | {row[1][1]:.3f} |")
    mean = np.mean(np.array(totals), axis=0)
    print(f"| **mean** | | **{mean[0][0]:.3f}** | **{mean[1][0]:.3f}** | **{mean[0][1]:.3f}** | **{mean[1][1]:.3f}** |")


def flicker_table(sequences_dir: Path, settings: dict) -> None:
    segmentation, consistency = settings["segmentation"], settings["consistency"]
    weight = segmentation["temporal_weight"]
    print(f"\n## Label flicker with kmeans ({segmentation['classes']} classes, temporal_weight {weight:g})\n")
    print("| sequence | pairs | frame by frame | fused | ratio |")
    print("|---|---|---|---|---|")
    sequences = {
        "sintel_alley_1_raft_demo": sorted(sequences_dir.glob("sintel_alley_1_raft_demo/*.png")),
        "fbms_marple8": sorted(sequences_dir.glob("fbms_marple8/frames/*.png")),
        "davis_bike_cutie": sorted(sequences_dir.glob("davis_bike_cutie/images/*.jpg")),
    }
    for name, paths in sequences.items():
        frames = [resize_longest(read_rgb(path), settings["input"]["size"] * 2) for path in paths]
        clusters = fit_clusters(frames[0], frames[0], segmentation["classes"], segmentation["position_weight"])
        scores = [kmeans_scores(frame, clusters, reference=False) for frame in frames]
        raw, fused = [], []
        previous_raw = previous_fused = labels_from_scores(scores[0])
        carried = scores[0]
        for (earlier, later), score in zip(itertools.pairwise(frames), scores[1:], strict=True):
            backward = compute_flow(later, earlier, **flow_options(settings["flow"], settings["models"]))
            forward = compute_flow(earlier, later, **flow_options(settings["flow"], settings["models"]))
            reliable = reliable_weights(forward=forward, backward=backward, frames=(later, earlier), **consistency)
            carried = fuse_scores(score, carried, backward, reliable, weight)
            raw_labels, fused_labels = labels_from_scores(score), labels_from_scores(carried)
            raw.append(label_flicker(raw_labels, previous_raw, backward, reliable))
            fused.append(label_flicker(fused_labels, previous_fused, backward, reliable))
            previous_raw, previous_fused = raw_labels, fused_labels
        print(
            f"| {name} | {len(raw)} | {np.mean(raw):.4f} | {np.mean(fused):.4f} | {np.mean(fused) / np.mean(raw):.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--size", type=int, default=384)
    args = parser.parse_args()
    settings = config()
    ari_table(args.data / "style_pairs", args.size, settings["segmentation"]["position_weight"])
    flicker_table(args.data / "sequences", settings)


if __name__ == "__main__":
    main()
