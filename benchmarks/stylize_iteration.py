"""Seconds per evaluation of the stylisation objective beside one bare VGG-19 pass, at given sizes.

Usage: python benchmarks/stylize_iteration.py [--sizes 192 256 512] [--threads 2] [--device cpu]

Inputs are the demo's (scikit-image's rocket photo and its sunset-graded crop), segmented with
4 k-means classes, with two previous frames for the temporal term. Random VGG-19 weights: the
time does not depend on the weight values.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
import skimage.data
import torch

from photostyle.demo import make_clip, sunset_grade
from photostyle.device import resolve_device
from photostyle.images import resize_longest
from photostyle.matting import matting_laplacian
from photostyle.segmentation import fit_clusters, kmeans_scores, labels_from_scores
from photostyle.stylize import Objective, Previous, Settings, to_tensor
from photostyle.vgg import VGGFeatures, load_vgg19


def seconds(step, repeat: int) -> float:
    """Mean wall time of ``step`` over ``repeat`` calls, after one warm-up call."""
    step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeat


def vgg_pass(extractor: VGGFeatures, image: torch.Tensor) -> None:
    """One bare forward and backward pass through the VGG-19 layers the objective uses."""
    image.grad = None
    sum(out.sum() for out in extractor(image).values()).backward()


def evaluation(objective: Objective, image: torch.Tensor) -> None:
    """One evaluation of the objective with its gradient, as L-BFGS does it."""
    image.grad = None
    sum(objective.terms(image).values()).backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[192, 256, 512])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    settings = Settings()
    layers = [*settings.content_layers, *settings.style_layers]
    extractor = VGGFeatures(load_vgg19(None, allow_random=True).features, layers).to(device)
    photo = skimage.data.rocket()
    clip = make_clip(photo)
    print(f"device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'size':>9} {'VGG pass s':>11} {'objective s':>12} {'ratio':>6} {'Laplacian build s':>18}")
    for size in args.sizes:
        frame = resize_longest(clip[5], size)
        style = sunset_grade(resize_longest(photo, size))
        clusters = fit_clusters(style, frame, 4)
        start = time.perf_counter()
        laplacian = matting_laplacian(frame / 255.0)
        build = time.perf_counter() - start
        previous = [Previous(frame / 255.0, np.ones(frame.shape[:2], np.float32))] * 2
        objective = Objective(
            extractor,
            frame,
            style,
            labels_from_scores(kmeans_scores(frame, clusters, reference=False)),
            labels_from_scores(kmeans_scores(style, clusters, reference=True)),
            laplacian,
            previous,
            settings,
            device,
        )
        image = to_tensor(frame, device).requires_grad_(True)
        bare = seconds(partial(vgg_pass, extractor, image), args.repeat)
        full = seconds(partial(evaluation, objective, image), args.repeat)
        shape = f"{frame.shape[1]}x{frame.shape[0]}"
        print(f"{shape:>9} {bare:11.3f} {full:12.3f} {full / bare:6.2f} {build:18.3f}")


if __name__ == "__main__":
    main()
