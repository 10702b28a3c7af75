"""Optical flow and consistency weights against ground truth, all methods in one run.

Usage: python benchmarks/flow.py [--data ../shared/data] [--raft-path FILE --raft-model large]

Prints, per flow method: end-point error (all and non-occluded pixels) and wall time on MPI-Sintel
alley_1 frame 2→3, clean and final pass; the mean colour error after warping (0-255, pixels whose
flow stays in the frame) on the long-range pairs davis_bike_cutie 0→3 and sintel_alley_1_raft_demo
16→24, with the ratio of our large-motion method to the best OpenCV method; the colour error on
reliable pixels (default weights) of consecutive pairs of davis_bike_cutie and fbms_marple8. Then,
per variant of the consistency check, occlusion precision / recall / F1 of the unreliable pixels
against Sintel's occlusion mask (scored on pixels whose true flow stays in the frame: Sintel's
mask does not mark pixels that leave it), and the agreement of Ruder et al.'s check, fed the DeepFlow
flows shipped with fbms_marple8, with the weights shipped there.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np

from photostyle.config import defaults as schema_defaults
from photostyle.consistency import RUDER, reliable_weights
from photostyle.flow import compute_flow, read_flo, warp
from photostyle.images import read_gray, read_rgb

REPO = Path(__file__).resolve().parents[1]
OPENCV = {
    "deepflow": {"method": "deepflow"},
    "dis-ultrafast": {"method": "dis", "dis_preset": "ultrafast"},
    "dis-fast": {"method": "dis", "dis_preset": "fast"},
    "dis-medium": {"method": "dis", "dis_preset": "medium"},
    "farneback": {"method": "farneback"},
}
OURS = {"fusion": {"method": "fusion"}}
VARIANTS = {
    "ruder": {},
    "ruder, no motion boundary": {"motion_boundary": None},
    "ruder + coverage 0.7": {"coverage": 0.7},
    "ruder + colour 20": {"colour": 20.0},
    "ruder + dilate 1": {"dilate": 1},
    "no boundary + coverage 0.7 + colour 20": {"motion_boundary": None, "coverage": 0.7, "colour": 20.0},
    "no boundary + coverage 0.9 + colour 20": {"motion_boundary": None, "coverage": 0.9, "colour": 20.0},
    "no boundary + coverage 0.7 + colour 40": {"motion_boundary": None, "coverage": 0.7, "colour": 40.0},
    "no boundary + coverage 0.7 + dilate 1": {"motion_boundary": None, "coverage": 0.7, "dilate": 1},
}


def timed_flow(a: np.ndarray, b: np.ndarray, options: dict) -> tuple[np.ndarray, float]:
    """The flow a→b and its wall time in seconds."""
    start = time.perf_counter()
    flow = compute_flow(a, b, **options)
    return flow, time.perf_counter() - start


def inside(flow: np.ndarray) -> np.ndarray:
    """Pixels whose flow target lies in the frame."""
    h, w = flow.shape[:2]
    xs = np.arange(w)[None, :] + flow[..., 0]
    ys = np.arange(h)[:, None] + flow[..., 1]
    return (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)


def colour_error(a: np.ndarray, b: np.ndarray, flow: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean absolute RGB difference (0-255) between a and b warped along the flow a→b."""
    diff = np.abs(warp(b, flow).astype(np.float32) - a.astype(np.float32)).mean(axis=2)
    return float(diff[inside(flow) if where is None else where].mean())


def prf(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of a binary prediction."""
    hits = float((predicted & truth).sum())
    precision, recall = hits / max(predicted.sum(), 1), hits / max(truth.sum(), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--raft-path", help="RAFT weights file: adds the raft method to the tables")
    parser.add_argument("--raft-model", default="large", choices=["large", "small"])
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    methods = {**OPENCV, **OURS}
    if args.raft_path:
        methods["raft"] = {
            "method": "raft",
            "raft_model": args.raft_model,
            "models": {"raft": {"path": args.raft_path}},
            "device": args.device,
        }

    sintel = args.data / "flow_gt" / "sintel_alley_1"
    truth = read_flo(sintel / "gt" / "frame_0002.flo")
    occluded = read_gray(sintel / "gt" / "occlusions_frame_0002.png") > 127
    scored = inside(truth)  # Sintel's mask leaves out pixels that leave the frame
    passes = {p: [read_rgb(sintel / p / f"frame_000{n}.png") for n in (2, 3)] for p in ("clean", "final")}
    flows: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    print("## End-point error on sintel_alley_1 2→3 (px) and seconds per 1024×436 pair\n")
    print("| method | clean EPE all | clean EPE non-occl. | final EPE all | final EPE non-occl. | s/pair |")
    print("|---|---|---|---|---|---|")
    for name, options in methods.items():
        row, times = [], []
        for p, (a, b) in passes.items():
            forward, seconds = timed_flow(a, b, options)
            flows[name, p] = forward, compute_flow(b, a, **options)
            error = np.linalg.norm(forward - truth, axis=2)
            row += [f"{error.mean():.3f}", f"{error[~occluded].mean():.3f}"]
            times.append(seconds)
        print(f"| {name} | {' | '.join(row)} | {min(times):.2f} |")

    print("\n## Colour error after warping, long-range pairs (0-255, pixels that stay in the frame)\n")
    long_pairs = {
        "davis_bike_cutie 0→3": [
            args.data / "sequences" / "davis_bike_cutie" / "images" / f"0000{n}.jpg" for n in (0, 3)
        ],
        "sintel raft_demo 16→24": [
            args.data / "sequences" / "sintel_alley_1_raft_demo" / f"frame_00{n}.png" for n in (16, 24)
        ],
    }
    print(f"| method | {' | '.join(long_pairs)} |")
    print("|---|" + "---|" * len(long_pairs))
    errors: dict[str, list[float]] = {}
    frames = {pair: [read_rgb(path) for path in paths] for pair, paths in long_pairs.items()}
    no_flow = [colour_error(a, b, np.zeros((*a.shape[:2], 2), np.float32)) for a, b in frames.values()]
    print(f"| no flow | {' | '.join(f'{e:.2f}' for e in no_flow)} |")
    for name, options in methods.items():
        errors[name] = [colour_error(a, b, compute_flow(a, b, **options)) for a, b in frames.values()]
        print(f"| {name} | {' | '.join(f'{e:.2f}' for e in errors[name])} |")
    best = [min(errors[name][n] for name in OPENCV) for n in range(len(long_pairs))]
    ratios = [errors["fusion"][n] / best[n] for n in range(len(long_pairs))]
    print(f"| fusion ÷ best OpenCV | {' | '.join(f'{r:.2f}' for r in ratios)} |")

    print("\n## Colour error on reliable pixels of consecutive pairs (default weights), share reliable\n")
    sequences = {
        "davis_bike_cutie": sorted((args.data / "sequences" / "davis_bike_cutie" / "images").glob("*.jpg")),
        "fbms_marple8": sorted((args.data / "sequences" / "fbms_marple8" / "frames").glob("*.png")),
    }
    print(f"| method | {' | '.join(sequences)} |")
    print("|---|" + "---|" * len(sequences))
    defaults = schema_defaults()["consistency"]
    for name, options in methods.items():
        cells = []
        for paths in sequences.values():
            seq = [read_rgb(path) for path in paths]
            errs, shares = [], []
            for earlier, later in itertools.pairwise(seq):
                backward, forward = compute_flow(later, earlier, **options), compute_flow(earlier, later, **options)
                weights = reliable_weights(forward, backward, frames=(later, earlier), **defaults) > 0.5
                errs.append(colour_error(later, earlier, backward, weights))
                shares.append(weights.mean())
            cells.append(f"{np.mean(errs):.2f} ({np.mean(shares):.2f})")
        print(f"| {name} | {' | '.join(cells)} |")

    print("\n## Occlusion detection against Sintel's mask (precision / recall / F1 of unreliable pixels)\n")
    print("| check | flow | clean P | clean R | clean F1 | final P | final R | final F1 |")
    print("|---|---|---|---|---|---|---|---|")
    for variant, options in {"default (config.yaml)": defaults, **VARIANTS}.items():
        for name in ("deepflow", "fusion", *(["raft"] if args.raft_path else [])):
            cells = []
            for p, (a, b) in passes.items():
                to_3, to_2 = flows[name, p]  # weights of frame 2 against frame 3
                weights = reliable_weights(forward=to_2, backward=to_3, frames=(a, b), **{**RUDER, **options})
                cells += [f"{v:.3f}" for v in prf((weights < 0.5)[scored], occluded[scored])]
            print(f"| {variant} | {name} | {' | '.join(cells)} |")

    print("\n## Ruder et al.'s check on the DeepFlow flows shipped with fbms_marple8 vs the weights shipped there\n")
    marple = args.data / "sequences" / "fbms_marple8"
    for i in range(2, 6):
        later, earlier = (read_rgb(marple / "frames" / f"marple8_0{n}.png") for n in (i, i - 1))
        backward = read_flo(marple / "flow_deepflow_backward" / f"backward_{i}_{i - 1}.flo")
        weights = reliable_weights(compute_flow(earlier, later, "deepflow"), backward) > 0.5
        shipped = read_gray(marple / "reliability_backward" / f"reliable_{i}_{i - 1}.png") > 127
        print(f"- reliable_{i}_{i - 1}: {100 * (weights == shipped).mean():.2f} % of pixels agree")


if __name__ == "__main__":
    main()
