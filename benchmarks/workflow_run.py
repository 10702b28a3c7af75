"""A workflow run for the benchmarks: a folder with a sample sheet and the shipped config, changed."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from photostyle.config import changed, complete
from photostyle.paths import SNAKEFILE

REPO = Path(__file__).resolve().parents[1]


def workflow_run(
    folder: Path,
    videos: dict[str, tuple[Path, Path]],
    changes: dict,
    cores: int = 2,
    options: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> float:
    """Snakemake's default target in ``folder`` for the runs ``videos`` ({run: (video, style)}),
    with the shipped config (not the demo, on the CPU) and ``changes`` ({dotted key: value}), plus
    command-line ``options`` in the environment ``env``; its wall time in seconds. A failure ends
    the benchmark with Snakemake's message."""
    (folder / "config").mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{run}\t{video}\t{style}\n" for run, (video, style) in videos.items())
    (folder / "config" / "runs.tsv").write_text("run\tvideo\tstyle\n" + rows)
    shipped = complete(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    config = changed({"runs": "config/runs.tsv", "demo": False, "device": "cpu", **changes}, shipped)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / SNAKEFILE), "--cores", str(cores)]
    command += ["--configfile", "config/config.yaml", *options]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"the workflow failed in {folder}:\n{result.stderr[-4000:]}")
    return time.perf_counter() - start
