"""Chunked stylisation: warping error at the seams against elsewhere, and the stylisation's wall time.

    .venv/bin/python benchmarks/chunks.py [--size 192] [--frames 32] [--overlap 4] [--iterations 30]
        [--setups chain,chunks,chunks_serial] [--slurm DIR]

Sintel's alley (``../shared/data/sequences/sintel_alley_1_raft_demo``, 10 frames) played forward
and backward until it is ``--frames`` long, with the reference ``style_pairs/style/tar53.png``,
stylised by the workflow (the shipped config's network: HED's VGG-16, trained for edge detection, not
ImageNet classification; at most ``--iterations`` L-BFGS iterations per frame, the shipped config
otherwise), in the setups named by ``--setups``:

- ``chain``: ``stylize.chunk_frames: 0``, 2 threads per stylisation job, ``--cores 2`` (one job
  at a time: the best one chain does on 2 cores);
- ``chunks``: ``stylize.chunk_frames: frames / 2``, ``chunk_overlap: --overlap``, 1 thread per
  job, ``--cores 2`` (the two chains at the same time);
- ``chunks_serial``: the same jobs with ``--cores 1`` (one at a time);
- ``slurm1`` and ``slurm2``: the same jobs through ``profiles/slurm`` on the SLURM cluster that
  ``tests/slurm/cluster.sh start DIR`` started (``--slurm DIR``), ``--jobs 1`` and ``--jobs 2``.

For each: the stylisation stage's wall time (from the first stylisation job's start to the last
one's end: each output's time minus its job's benchmark seconds), and the warping error (Lai et
al.: flow and occlusions between the input frames) of every pair of consecutive output frames,
averaged over the seam pairs (frame i against i − 1 for i from the first blended frame to the
second chunk's first frame) and over the other pairs. Ratios are against the first setup listed.
Then, per setup, the clip's warping error against the input's (with the run's consistency weights
and with Lai et al.'s plain mask) and the drift figures: SSIM of output to input and style
distance over the first 8 frames and over the last 8.
A rerun resumes in ``--workdir``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import yaml
from workflow_run import REPO, workflow_run

from photostyle.clip_metrics import FrameData, first_and_last
from photostyle.consistency import RUDER
from photostyle.images import read_gray, read_rgb, resize_longest
from photostyle.metrics import warping_error
from photostyle.scoring import flow_to_previous, score_folders
from photostyle.stage_times import read_benchmark
from photostyle.video import list_frame_files

DATA = REPO.parent / "shared" / "data"
SEQUENCE, STYLE = DATA / "sequences" / "sintel_alley_1_raft_demo", DATA / "style_pairs" / "style" / "tar53.png"


# The test cluster's node has 2 CPUs; status checks every 2 s as in tests/test_slurm.py.
SLURM = ["--profile", str(REPO / "profiles" / "slurm"), "--workflow-profile", "none", "--resources", "mem_mb=6000"]
SLURM += ["--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2"]
SETUPS = {  # key: (label, --cores, other options)
    "chain": ("one chain, 2 threads per job, --cores 2", 2, []),
    "chunks": ("2 chunks, 1 thread per job, --cores 2", 2, []),
    "chunks_serial": ("2 chunks, 1 thread per job, --cores 1", 1, []),
    "slurm1": ("2 chunks on SLURM, --jobs 1", 2, [*SLURM, "--jobs", "1"]),
    "slurm2": ("2 chunks on SLURM, --jobs 2", 2, [*SLURM, "--jobs", "2"]),
}


def slurm_environment(cluster: Path) -> dict[str, str]:
    """This process's environment with what ``cluster/env`` exports (SLURM_CONF, the cluster's bin first on PATH)."""
    env = dict(os.environ)
    env["SLURM_CONF"] = str(cluster / "slurm.conf")
    env["PATH"] = f"{cluster / 'bin'}:{env['PATH']}"
    return env


def ping_pong(count: int) -> list[Path]:
    """The sequence's frames forward, backward, forward… (turning points not repeated), ``count`` long."""
    files = list_frame_files(SEQUENCE)
    cycle = files + files[-2:0:-1]
    return [cycle[n % len(cycle)] for n in range(count)]


def stage_seconds(run: Path) -> float:
    """Wall time of the stylisation jobs: last end minus first start."""
    spans = []
    for rule, outputs in (("stylize_frame", "stylized"), ("stylize_warmup", "warmup")):
        for bench in sorted((run / "benchmarks" / rule).glob("frame_*.tsv")):
            end = os.path.getmtime(run / outputs / f"{bench.stem}.png")
            spans.append((end - read_benchmark(bench)["seconds"], end))
    return max(e for _, e in spans) - min(s for s, _ in spans)


def pair_errors(run: Path, config: dict) -> list[float]:
    """Warping error of output frame i against i − 1, for i = 2 … N (index 0: frame 2)."""
    frames = [read_rgb(p, "frame") for p in list_frame_files(run / "frames")]
    outputs = [read_rgb(run / "stylized" / p.name, "stylised frame") / 255.0 for p in list_frame_files(run / "frames")]
    errors = []
    for n in range(1, len(frames)):
        backward, reliable = flow_to_previous(frames[n], frames[n - 1], config)
        errors.append(warping_error(outputs[n - 1], outputs[n], backward, reliable))
    return errors


def drift(run: Path, style: Path, size: int, count: int = 8) -> dict[str, tuple[float, float]]:
    """SSIM and style distance over the first and the last ``count`` frames (``first_and_last``)."""
    frames = list_frame_files(run / "frames")
    labels = sorted((run / "segmentation").glob("frame_*.png"))
    reference = resize_longest(read_rgb(style, "style image"), size)
    reference_labels = read_gray(run / "segmentation" / "reference.png", "label map")
    clip = [
        FrameData(read_rgb(frame), read_rgb(run / "stylized" / frame.name), read_gray(label))
        for frame, label in zip(frames, labels, strict=True)
    ]
    return first_and_last(clip, reference, reference_labels, count)


def clip_scores(run: Path, config: dict) -> tuple[float, float]:
    """The clip's output warping error ÷ the input's, with the run's consistency weights and with
    Lai et al.'s plain mask (Ruder et al.'s two criteria only)."""
    ratios = []
    for consistency in (config["consistency"], RUDER):
        scores = score_folders(run / "frames", run / "stylized", config | {"consistency": consistency})
        ratios.append(scores["temporal"]["warping_error"]["ratio"])
    return ratios[0], ratios[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192, help="working size: longest side in pixels")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--overlap", type=int, default=4, help="stylize.chunk_overlap")
    parser.add_argument("--iterations", type=int, default=30, help="stylize.iterations (the demo's 30)")
    parser.add_argument("--workdir", type=Path, default=REPO / "results" / "chunks")
    parser.add_argument("--setups", default="chain,chunks,chunks_serial", help=f"among {', '.join(SETUPS)}")
    parser.add_argument("--slurm", type=Path, help="folder of a cluster from tests/slurm/cluster.sh start")
    args = parser.parse_args()
    if not SEQUENCE.is_dir():
        sys.exit(f"shared data not found at {DATA} (clone the repository beside ../shared)")
    chosen = args.setups.split(",")
    if unknown := set(chosen) - set(SETUPS):
        sys.exit(f"--setups: unknown {sorted(unknown)}; choose among {', '.join(SETUPS)}")
    if any(name.startswith("slurm") for name in chosen) and not args.slurm:
        sys.exit("--setups slurm1/slurm2 need --slurm DIR (tests/slurm/cluster.sh start DIR)")
    workdir = args.workdir.resolve()
    frames = workdir / "frames"
    frames.mkdir(parents=True, exist_ok=True)
    for n, source in enumerate(ping_pong(args.frames), start=1):
        link = frames / f"frame_{n:05d}{source.suffix}"
        if not link.exists():
            link.symlink_to(source)
    half = args.frames // 2
    seam = range(half + 1 - args.overlap, half + 2)  # frames i whose pair (i, i - 1) crosses the seam
    print(f"{args.frames} frames of {SEQUENCE.name} (forward and backward), working size {args.size}, "
          f"{args.iterations} iterations at most; "
          f"seam pairs: frames {seam.start}-{seam.stop - 1} against the one before\n")  # fmt: skip
    print(f"| setup | workflow wall time (s) | stylisation stage (s) | ÷ {SETUPS[chosen[0]][0]} "
          "| warping error: seam pairs | other pairs | seam ÷ other |\n|---|---|---|---|---|---|---|")  # fmt: skip
    baseline = None
    figures = {}
    for key in chosen:
        label, cores, options = SETUPS[key]
        changes = {"input.size": args.size, "stylize.iterations": args.iterations, "stylize.threads": 1}
        if key == "chain":
            changes["stylize.threads"] = 2
        else:
            changes |= {"stylize.chunk_frames": half, "stylize.chunk_overlap": args.overlap}
        env = slurm_environment(args.slurm) if key.startswith("slurm") else None
        folder = workdir / key
        wall = workflow_run(folder, {"clip": (frames, STYLE)}, changes, cores, options, env)
        run = folder / "results" / "clip"
        config = yaml.safe_load((folder / "config" / "config.yaml").read_text())
        errors = pair_errors(run, config)
        at_seam = [e for i, e in enumerate(errors, start=2) if i in seam]
        other = [e for i, e in enumerate(errors, start=2) if i not in seam]
        stage = stage_seconds(run)
        baseline = baseline or stage
        print(f"| {label} | {wall:.0f} | {stage:.0f} | {stage / baseline:.2f} | {np.mean(at_seam):.5f} "
              f"| {np.mean(other):.5f} | {np.mean(at_seam) / np.mean(other):.2f} |", flush=True)  # fmt: skip
        figures[label] = (*clip_scores(run, config), drift(run, STYLE, args.size))
    print("\n| setup | warping error ÷ input's | plain mask | SSIM: first 8 | last 8 | last ÷ first "
          "| style distance: first 8 | last 8 | last ÷ first |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for label, (ratio, plain, parts) in figures.items():
        (ssim0, style0), (ssim1, style1) = parts["first"], parts["last"]
        print(f"| {label} | {ratio:.2f} | {plain:.2f} | {ssim0:.3f} | {ssim1:.3f} | {ssim1 / ssim0:.3f} "
              f"| {style0:.2f} | {style1:.2f} | {style1 / style0:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
