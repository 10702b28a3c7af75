"""The time and peak memory of each stage of a run, from the benchmark files Snakemake writes for
each job (``benchmark:`` of the rules), summed per rule."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np


def read_benchmark(path: str | os.PathLike) -> dict[str, float]:
    """Seconds (``s``) and peak resident memory in MB (``max_rss``; NaN when not measured) of a
    Snakemake benchmark file (several rows, for ``repeat()``, are averaged)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        raise ValueError(f"benchmark file {path} has no measurement")

    def number(text: str | None) -> float:
        try:
            return float(text)
        except (TypeError, ValueError):
            return math.nan

    seconds = [number(row.get("s")) for row in rows]
    rss = [number(row.get("max_rss")) for row in rows]
    return {
        "seconds": float(np.mean(seconds)),
        "max_rss_mb": float(np.nanmax(rss)) if any(map(math.isfinite, rss)) else math.nan,
    }


def stage_times(benchmarks: Mapping[str, Sequence[str | os.PathLike]]) -> dict:
    """Per rule: its jobs, how many have a benchmark file (a job whose output was there before
    Snakemake measured it has none), the sum of their seconds and the largest peak memory (MB);
    and the sum over all rules. Rules without jobs are left out."""
    stages = {}
    for rule, paths in benchmarks.items():
        if not paths:
            continue
        measured = [read_benchmark(path) for path in paths if os.path.isfile(path)]
        rss = [m["max_rss_mb"] for m in measured if math.isfinite(m["max_rss_mb"])]
        stages[rule] = {
            "jobs": len(paths),
            "measured": len(measured),
            "seconds": float(sum(m["seconds"] for m in measured)),
            "max_rss_mb": max(rss) if rss else None,
        }
    return {"stages": stages, "total_seconds": float(sum(s["seconds"] for s in stages.values()))}
