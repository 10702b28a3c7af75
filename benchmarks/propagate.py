"""Propagation mode against the per-frame chain: seconds of the stylisation stage, temporal and photographic
figures, pulses at keyframes and drift.

    .venv/bin/python benchmarks/propagate.py [--size 192] [--every 4,8,16] [--min-reliable 0.5]
        [--scales 1,0.5] [--frames 32] [--clips name,…] [--sheet docs/propagate.png]
        [--out results/propagate] [--reuse-chain] [--set KEY=VALUE …]
        [--video FILE --segments A-B,… --video-style IMAGE]

Clips: each shared sequence with its reference of ``compare.py`` (``davis_bike_cutie`` 4 frames,
``fbms_marple8`` 5, ``sintel_alley_1_raft_demo`` 10) and ``sintel<N>``, Sintel's alley played forward
and backward to ``--frames`` frames as in ``chunks.py``. Each is prepared once with the schema's
defaults (flows, consistency weights, shot cuts, k-means labels fused along the flow:
``sequence.prepare``), at ``--size`` with **HED's VGG-16 (trained for edge detection, not ImageNet
classification)**, then stylised by the chain (``sequence.stylize_clip``: every frame optimised, J =
{1, 2, 4}) and in propagation mode (``sequence.propagate_clip``) with one keyframe every ``--every``
frames (and wherever less than ``--min-reliable`` of a frame's pixels are carried reliably from the
last keyframe), the keyframes optimised at each of ``--scales`` × the working size
(``stylize.keyframe_scale``). The chain starts from the prepared flows of J; propagation from none: the flows it needs
(frame ↔ keyframe, and t → t − 1 for its refinement, which its workflow jobs compute) count in its seconds.

Columns: seconds of the stylisation stage (the chain's frames, or the keyframes plus propagation
with its flows) per clip and per frame and the ratio to the chain's; keyframes; warping error (Lai
et al.) of the output and its ratio to the input's, with the run's consistency weights and with
Lai et al.'s plain mask (Ruder et al.'s two criteria); style distance (Lab statistics per class);
local-affine residual (0-255); SSIM of the luminance against the input's; pulse: the output's
frame-to-frame change relative to the input's on the pairs into and out of a keyframe, divided by
the same on the other pairs (1 = no pulse; "-" for the chain or without such pairs); drift: SSIM and
style distance over the last 8 frames ÷ the first 8 (clips of at least 16 frames); growth: flicker growing
with the distance from the keyframe (``growth``: per block, the warping error ÷ the input's of its last third
of pairs ÷ that of its first third, plain mask; the worst block / all blocks pooled). Outputs go to
``--out/<clip>/<setup>/`` with their seconds (``seconds.txt``); ``--reuse-chain`` takes the chain's
frames and seconds from there instead of running it again (same settings only). ``--sheet`` puts
frames between keyframes side by side (input | chain | propagation) for the ping-pong clip. ``--set``
changes a config key for both modes (e.g. ``stylize.coarse_scales=[0.5]``). ``--video`` adds segments of a
video as clips named ``<video>_<A>-<B>`` (frames A to B, 1-based, inclusive; e.g. the people clip of
``../shared/data/videos/``), stylised towards ``--video-style``. After each row, the per-pair series of the
output's warping error ÷ the input's with the plain mask (pair i-1 → i), to see flicker grow with the
distance from a keyframe, the output's error per pair in grey levels² (a still stretch's ratio divides by ~0),
and the chain's growth on the same blocks (content moving more late in a block raises it for both).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch
from chunks import SEQUENCE, ping_pong
from compare import DATA, SEQUENCES
from photo_pairs import NETWORK
from workflow_run import REPO

from photostyle.allocator import keep_freed_memory
from photostyle.clip_metrics import FrameData, change, clip_metrics, first_and_last
from photostyle.consistency import RUDER
from photostyle.images import read_rgb, resize_longest, write_rgb
from photostyle.metrics import warping_error
from photostyle.run_config import run_config
from photostyle.scoring import flow_to_previous
from photostyle.sequence import Clip, prepare, propagate_clip, stylize_clip
from photostyle.vgg import VGGFeatures, weights_from_config
from photostyle.video import decoded_frames, list_frame_files, probe_video
from photostyle.visual import panels, stack

DRIFT_FRAMES = 8


def clips(frames: int, video: Path | None, segments: str, video_style: Path | None) -> dict[str, tuple[list, Path]]:
    """Frames (files, or decoded RGB arrays of a video's segments) and reference of every clip."""
    found: dict[str, tuple[list, Path]] = {
        name: (list_frame_files(DATA / folder), DATA / style) for name, (folder, style) in SEQUENCES.items()
    }
    found[f"sintel{frames}"] = (ping_pong(frames), found[SEQUENCE.name][1])
    if video is not None and video_style is not None:
        info = probe_video(video)
        for segment in segments.split(","):
            first, last = (int(value) for value in segment.split("-"))
            positions = [info.pts[i - 1] for i in range(first, last + 1)]
            found[f"{video.stem}_{first}-{last}"] = (list(decoded_frames(video, positions)), video_style)
    return found


def per_pair(clip: Clip, outputs: list[np.ndarray], plain: dict[int, np.ndarray]) -> dict[int, tuple[float, float]]:
    """Warping error of the output and of the input, pair by pair (i - 1 → i, within shots; key i), plain mask."""
    starts = {clip.shot_start(i) for i in range(len(clip.frames))}
    unit = [image.astype(np.float32) / 255 for image in clip.frames]
    stylised = [image.astype(np.float32) / 255 for image in outputs]
    errors = {}
    for i in range(1, len(outputs)):
        if i in starts:
            continue
        backward, visible = clip.backward[i, i - 1], plain[i]
        moved = warping_error(unit[i - 1], unit[i], backward, visible)
        errors[i] = (warping_error(stylised[i - 1], stylised[i], backward, visible), moved)
    return errors


def series(errors: dict[int, tuple[float, float]]) -> str:
    """The per-pair ratios and the output's errors in grey levels², for under a table row."""
    ratios = ", ".join(f"{out / max(moved, 1e-9):.2f}" for out, moved in errors.values())
    levels = ", ".join(f"{out * 255**2:.1f}" for out, _ in errors.values())
    return f"per pair (plain mask): {ratios}\noutput's error per pair (grey levels²): {levels}"


def growth(errors: dict[int, tuple[float, float]], keys: list[int], n: int) -> tuple[float, float] | None:
    """Flicker growing with the distance from a keyframe: per block (a keyframe's pairs up to the
    next keyframe, excluded; at least 6), the output's warping error ÷ the input's over the last third
    of its pairs ÷ the same over the first third (sums over the pairs: a still stretch's pair alone
    divides by ~0). The worst block and all blocks pooled; None without such a block."""
    ends = [*keys[1:], n]
    firsts, lasts, worst = np.zeros(2), np.zeros(2), []  # (output's, input's) error sums
    for k, end in zip(keys, ends, strict=True):
        pairs = [i for i in range(k + 1, end) if i in errors]
        if len(pairs) < 6:
            continue
        third = len(pairs) // 3
        first = np.sum([errors[i] for i in pairs[:third]], axis=0)
        last = np.sum([errors[i] for i in pairs[-third:]], axis=0)
        worst.append((last[0] / max(last[1], 1e-12)) / max(first[0] / max(first[1], 1e-12), 1e-12))
        firsts, lasts = firsts + first, lasts + last
    if not worst:
        return None
    return max(worst), float((lasts[0] / lasts[1]) / (firsts[0] / firsts[1]))


def folder(out: Path, clip: str, setup: str) -> Path:
    """Where a setup's frames of a clip go."""
    return out / clip / setup.replace(", ", "_").replace(" ", "")


def fresh(clip: Clip, short: bool = True) -> Clip:
    """The clip with only the flows ``prepare`` made (each setup computes the others it needs), or
    (``short`` False) without them either: propagation's blocks compute the flows t → t − 1 they
    refine with in their own jobs, so its seconds count them."""
    backward, reliable = (dict(clip.backward), dict(clip.reliable)) if short else ({}, {})
    return dataclasses.replace(clip, backward=backward, reliable=reliable)


def pulse(clip: Clip, outputs: list[np.ndarray], keys: list[int]) -> float | None:
    """Mean output ÷ input frame-to-frame change on the pairs into and out of a keyframe (not a shot
    start) over the same on the other pairs within shots."""
    starts = {clip.shot_start(i) for i in range(len(clip.frames))}
    near, other = [], []
    for i in range(1, len(clip.frames)):
        if i in starts:
            continue
        backward, weights = clip.backward[i, i - 1], clip.reliable[i, i - 1]
        moved = change(clip.frames[i - 1], clip.frames[i], backward, weights)
        ratio = change(outputs[i - 1], outputs[i], backward, weights) / max(moved, 1e-6)
        (near if any(k not in starts and i in (k, k + 1) for k in keys) else other).append(ratio)
    return float(np.mean(near) / np.mean(other)) if near and other else None


def scores(clip: Clip, outputs: list[np.ndarray], plain: dict[int, np.ndarray]) -> dict:
    """The clip's figures with the run's consistency weights, the warping-error ratio with the plain
    mask, and the drift figures."""
    starts = {clip.shot_start(i) for i in range(len(clip.frames))}

    def data(masks: dict[int, np.ndarray]) -> list[FrameData]:
        return [
            FrameData(frame, out, labels, clip.backward.get((i, i - 1)), masks.get(i), cut=i in starts and i > 0)
            for i, (frame, out, labels) in enumerate(zip(clip.frames, outputs, clip.labels, strict=True))
        ]

    names = [f"class {k}" for k in range(256)]
    run = clip_metrics(
        data({i: clip.reliable[i, i - 1] for i in range(1, len(outputs))}), clip.style, clip.style_labels, names
    )
    lai = clip_metrics(data(plain), clip.style, clip.style_labels, names)
    drift = None
    if len(outputs) >= 2 * DRIFT_FRAMES:
        parts = first_and_last(data({}), clip.style, clip.style_labels, DRIFT_FRAMES)
        drift = tuple(last / first for first, last in zip(parts["first"], parts["last"], strict=True))
    return {"run": run, "plain": lai["temporal"]["warping_error"]["ratio"], "drift": drift}


def row(name: str, setup: str, n: int, seconds: float, chain: float, keys: str, figures: dict, pulsed, grown) -> str:
    run = figures["run"]
    warping = run["temporal"]["warping_error"]
    drift = figures["drift"]
    cells = [
        name, setup, str(n), f"{seconds:.0f}", f"{seconds / n:.1f}", f"{seconds / chain:.3f}", keys,
        f"{warping['output']:.5f}", f"{warping['ratio']:.2f}", f"{figures['plain']:.2f}",
        f"{run['style']['output']:.2f}", f"{run['photorealism']['affine_residual']:.2f}",
        f"{run['structure']['ssim']:.3f}", "-" if pulsed is None else f"{pulsed:.2f}",
        "-" if drift is None else f"{drift[0]:.3f} / {drift[1]:.3f}",
        "-" if grown is None else f"{grown[0]:.2f} / {grown[1]:.2f}",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192, help="working size: longest side in pixels")
    parser.add_argument("--every", default="4,8,16", help="keyframe intervals to try")
    parser.add_argument("--min-reliable", type=float, default=0.5, help="a keyframe where less is carried")
    parser.add_argument("--scales", help="keyframe scales to try (default: the schema's stylize.keyframe_scale)")
    parser.add_argument("--frames", type=int, default=32, help="length of the ping-pong Sintel clip")
    parser.add_argument("--clips", help="comma-separated clip names (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "propagate")
    parser.add_argument("--sheet", type=Path, help="PNG of frames between keyframes: input | chain | propagation")
    parser.add_argument("--reuse-chain", action="store_true", help="the chain's frames and seconds from --out")
    parser.add_argument("--video", type=Path, help="a video whose --segments join the clips")
    parser.add_argument("--segments", default="", help="frame ranges of --video, e.g. 300-347,600-647 (1-based)")
    parser.add_argument("--video-style", type=Path, help="the reference of the --video segments")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a config change for both modes (repeatable)"
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA} (clone the repository beside ../shared)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    everies = [int(value) for value in args.every.split(",")]
    config = run_config([*NETWORK, f"input.size={args.size}", *args.set])
    scales = (
        [float(value) for value in args.scales.split(",")] if args.scales else [config["stylize"]["keyframe_scale"]]
    )
    network = weights_from_config(config["models"])
    device = torch.device("cpu")
    stylize_cfg = config["stylize"]
    extractor = VGGFeatures.of(network, [*stylize_cfg["content_layers"], *stylize_cfg["style_layers"]])
    chosen = clips(args.frames, args.video, args.segments, args.video_style)
    names = args.clips.split(",") if args.clips else list(chosen)
    print(f"{time.strftime('%Y-%m-%d')}, {torch.get_num_threads()} threads, device cpu; working size {args.size}; "
          f"features: {network.source}; schema defaults otherwise (stylize.iterations "
          f"{stylize_cfg['iterations']}, J = {config['temporal']['offsets']}); keyframes also where less than "
          f"{args.min_reliable} of the pixels are carried reliably; changed: {args.set or 'nothing'}\n")  # fmt: skip
    print(
        "| clip | setup | frames | stylisation (s) | s/frame | ÷ chain | keyframes | warping error | ÷ input's "
        "| ÷ input's, plain mask | style distance | affine residual | SSIM | pulse | drift: SSIM / style "
        "| growth: worst / pooled |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    sheet = []
    for name in names:
        files, style_file = chosen[name]
        frames = [resize_longest(read_rgb(f, "frame") if isinstance(f, Path) else f, args.size) for f in files]
        style = resize_longest(read_rgb(style_file, "style image"), args.size)
        clip = prepare(frames, style, config)
        plain = {
            i: flow_to_previous(frames[i], frames[i - 1], config | {"consistency": RUDER})[1]
            for i in range(1, len(frames))
        }
        outputs: dict[str, list[np.ndarray]] = {}
        seconds: dict[str, float] = {}
        done = folder(args.out, name, "chain")
        if args.reuse_chain and (done / "seconds.txt").is_file():
            outputs["chain"] = [read_rgb(path) for path in sorted(done.glob("frame_*.png"))]
            seconds["chain"] = float((done / "seconds.txt").read_text())
        else:
            start = time.perf_counter()
            outputs["chain"] = [result.image for result in stylize_clip(extractor, fresh(clip), device)]
            seconds["chain"] = time.perf_counter() - start
        chain = seconds["chain"]
        print(
            row(name, "chain", len(frames), chain, chain, "all", scores(clip, outputs["chain"], plain), None, None),
            flush=True,
        )
        chained = per_pair(clip, outputs["chain"], plain)
        print(series(chained), file=sys.stderr, flush=True)
        for every, scale in itertools.product(everies, scales):
            setup = f"propagate, every {every}, scale {scale:g}"
            start = time.perf_counter()
            result = propagate_clip(extractor, fresh(clip, short=False), device, every, args.min_reliable, scale)
            seconds[setup] = time.perf_counter() - start
            outputs[setup] = result.images
            keys = sorted(result.keyframes)
            figures = scores(clip, result.images, plain)
            pulsed = pulse(clip, result.images, keys)
            errors = per_pair(clip, result.images, plain)
            grown = growth(errors, keys, len(frames))
            cells = (name, setup, len(frames), seconds[setup], chain, str(len(keys)), figures, pulsed, grown)
            print(row(*cells), flush=True)
            same = growth(chained, keys, len(frames))
            print(
                series(errors),
                f"keyframes {keys}; the chain's growth on these blocks: {same}",
                file=sys.stderr,
                flush=True,
            )
            if name == f"sintel{args.frames}" and every == everies[len(everies) // 2] and scale == scales[-1]:
                between = [min(k + every // 2, len(frames) - 1) for k in keys[:3]]
                sheet += [
                    panels(
                        [frames[t], outputs["chain"][t], result.images[t]],
                        [f"frame {t + 1}", "chain", f"propagated (every {every})"],
                    )
                    for t in between
                ]
        for setup, images in outputs.items():
            target = folder(args.out, name, setup)
            target.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(images, start=1):
                write_rgb(target / f"frame_{i:05d}.png", image)
            (target / "seconds.txt").write_text(f"{seconds[setup]:.3f}\n")
    if args.sheet and sheet:
        write_rgb(args.sheet, stack(sheet, gap=4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
