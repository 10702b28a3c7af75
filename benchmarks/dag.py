"""Scale of the DAG: a dry run of the default workflow on a folder of N small frames.

    .venv/bin/python benchmarks/dag.py [--frames 3000] [--profile] [--set KEY=VALUE ...] [--after-keyframes]

Writes the frames (24×16 PNGs) and a one-run sample sheet to a temporary folder, then times
`snakemake -n --cores 2` there, as a user would start a long video, and the same with
`--quiet rules` (no listing of every job), and prints the wall times and the number of jobs.
With --profile, also the 15 costliest functions of a cProfile of the dry run. ``--set`` changes
config keys (YAML values), e.g. ``--set stylize.mode=propagate``: a dry run then plans up to the
keyframes checkpoint (the jobs after it are planned once it has run). ``--after-keyframes`` then
writes what the frames, cuts and keyframes jobs would have left (the frames, no cut, a keyframe every
``stylize.keyframe_every`` frames) and times the dry run again: Snakemake's planning once the
checkpoint has run. Use it with ``stylize.keyframe_min_reliable=0`` (else the flows, which it does not
write, would rerun the checkpoint).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

from photostyle.config import changed, complete
from photostyle.cuts import Cuts
from photostyle.keyframes import KeyframePlan
from photostyle.paths import SNAKEFILE

REPO = Path(__file__).resolve().parents[1]


def write_input(folder: Path, n_frames: int, settings: dict) -> None:
    """n_frames small frames of a moving colour ramp, a reference, a sample sheet and a config with
    ``settings`` (dotted keys)."""
    frames = folder / "frames"
    frames.mkdir()
    ramp = np.tile(np.linspace(0, 255, 24, dtype=np.uint8), (16, 1))
    for i in range(n_frames):
        moved = np.roll(ramp, i, axis=1)
        cv2.imwrite(str(frames / f"{i:05d}.png"), np.stack([moved, ramp, 255 - moved], axis=-1))
    cv2.imwrite(str(folder / "style.png"), np.full((16, 24, 3), (40, 90, 200), np.uint8))
    (folder / "runs.tsv").write_text(f"run\tvideo\tstyle\nlong\t{frames}\t{folder / 'style.png'}\n")
    shipped = complete(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    config = changed({"runs": str(folder / "runs.tsv"), "demo": False, "input.size": None, **settings}, shipped)
    (folder / "config").mkdir()
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))


def write_keyframes_outputs(folder: Path, n_frames: int) -> None:
    """The outputs of the run's frames, cuts and keyframes jobs: the frames copied, no shot cut, a
    keyframe every ``stylize.keyframe_every`` frames; the plan written last, so that it is newest."""
    config = yaml.safe_load((folder / "config" / "config.yaml").read_text())
    run = folder / "results" / "long"
    (run / "frames").mkdir(parents=True)
    for i, source in enumerate(sorted((folder / "frames").glob("*.png")), start=1):
        shutil.copy(source, run / "frames" / f"frame_{i:05d}.png")
    Cuts([0.0] * (n_frames - 1), config["temporal"]["cut_threshold"]).write(run / "cuts.json")
    time.sleep(1)  # file times of one second's resolution
    KeyframePlan(tuple(range(1, n_frames + 1, config["stylize"]["keyframe_every"])), (), n_frames).write(
        run / "keyframes.json"
    )


def dry_run(folder: Path, profile: bool, *options: str) -> tuple[float, int, str]:
    """Wall time, job count and (with profile) the cProfile summary of `snakemake -n [options]`."""
    python = [sys.executable, *(["-m", "cProfile", "-s", "cumulative"] if profile else [])]
    command = [*python, "-m", "snakemake", "--snakefile", str(REPO / SNAKEFILE), "-n", "--cores", "2", *options]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"dry run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    total = re.search(r"^total\s+(\d+)$", result.stdout, flags=re.M)
    summary = result.stdout[result.stdout.index("Ordered by") :] if profile else ""
    return seconds, int(total.group(1)), "\n".join(summary.splitlines()[:25])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary of the dry run")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config changes")
    parser.add_argument(
        "--after-keyframes", action="store_true", help="propagate mode: also plan once the keyframes checkpoint ran"
    )
    args = parser.parse_args()
    settings = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in args.set)}
    folder = Path(tempfile.mkdtemp(prefix="dag_"))
    try:
        write_input(folder, args.frames, settings)
        stages = [""] + (["after the keyframes checkpoint"] if args.after_keyframes else [])
        for stage in stages:
            if stage:
                write_keyframes_outputs(folder, args.frames)
            for options in [(), ("--quiet", "rules")]:
                seconds, jobs, summary = dry_run(folder, args.profile, *options)
                shown = " ".join(["snakemake -n", *options, *args.set, *([f"({stage})"] if stage else [])])
                print(
                    f"{shown}, {args.frames} frames: {jobs} jobs, {seconds:.1f} s "
                    f"({1000 * seconds / jobs:.2f} ms per job)"
                )
                if summary:
                    print(summary)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
