"""Scale of the DAG: a dry run of the default workflow on a folder of N small frames.

    .venv/bin/python benchmarks/dag.py [--frames 3000] [--profile] [--set KEY=VALUE ...]

Writes the frames (24×16 PNGs) and a one-run sample sheet to a temporary folder, then times
`snakemake -n --cores 2` there, as a user would start a long video, and the same with
`--quiet rules` (no listing of every job), and prints the wall times and the number of jobs.
With --profile, also the 15 costliest functions of a cProfile of the dry run. ``--set`` changes
config keys (YAML values), e.g. ``--set stylize.mode=propagate``: a dry run then plans up to the
keyframes checkpoint (the jobs after it are planned once it has run).
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


def dry_run(folder: Path, profile: bool, *options: str) -> tuple[float, int, str]:
    """Wall time, job count and (with profile) the cProfile summary of `snakemake -n [options]`."""
    python = [sys.executable, *(["-m", "cProfile", "-s", "cumulative"] if profile else [])]
    command = [*python, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n", "--cores", "2", *options]
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
    args = parser.parse_args()
    settings = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in args.set)}
    folder = Path(tempfile.mkdtemp(prefix="dag_"))
    try:
        write_input(folder, args.frames, settings)
        for options in [(), ("--quiet", "rules")]:
            seconds, jobs, summary = dry_run(folder, args.profile, *options)
            shown = " ".join(["snakemake -n", *options, *args.set])
            print(
                f"{shown}, {args.frames} frames: {jobs} jobs, {seconds:.1f} s ({1000 * seconds / jobs:.2f} ms per job)"
            )
            if summary:
                print(summary)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
