"""The demo through ``profiles/slurm`` on a real one-host SLURM with accounting (tests/slurm/cluster.sh):
the jobs go through the scheduler, grouped as the profile says, and the stylised frames equal those
of a local run. Marked slurm and slow (minutes); CI runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import SNAKEFILE, demo_project

from photostyle.images import read_rgb

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE)]
N_FRAMES = 3
SMALL = {"input": {"size": 48, "last_frame": N_FRAMES}, "stylize": {"iterations": 3}}
# The test node has 2 CPUs: grouped jobs must fit in it; status checks every 2 s instead of the
# plugin's cautious defaults. Everything else comes from the profile as a user would run it.
NODE = ["--cores", "2", "--resources", "mem_mb=6000"]
PROFILE = ["--profile", str(REPO / "profiles" / "slurm"), "--workflow-profile", "none"]  # as README.md says
FORMAT = ["--format=Comment,State"]  # the plugin puts the rule or group name in the job's comment
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2"]

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def installed() -> bool:
    return all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> dict[str, str]:
    """Environment of a running one-node SLURM (started here, stopped afterwards)."""
    if not installed() and os.geteuid() != 0:
        pytest.skip("SLURM is not installed and installing it needs root (tests/slurm/cluster.sh)")
    folder = tmp_path_factory.mktemp("slurm")
    started = subprocess.run([str(CLUSTER), "start", str(folder)], capture_output=True, text=True)
    try:
        assert started.returncode == 0, f"cluster.sh start failed:\n{started.stdout}\n{started.stderr}"
        env = dict(os.environ)
        env["SLURM_CONF"] = str(folder / "slurm.conf")
        env["PATH"] = f"{folder / 'bin'}:{env['PATH']}"
        yield env
    finally:
        subprocess.run([str(CLUSTER), "stop", str(folder)], check=True)


def workdir(root: Path) -> Path:
    """A folder with the default config (on random weights) and a small-demo override, as a user's project folder."""
    root.mkdir()
    demo_project(root)
    (root / "small.yaml").write_text(yaml.safe_dump(SMALL))
    return root


def run(folder: Path, env: dict[str, str], *args: str) -> None:
    command = [*SNAKEMAKE, "--configfile", "small.yaml", *args]
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"


def accounting(env: dict[str, str]) -> dict[str, str]:
    """State of every job the cluster ran, by its comment (the plugin's rule or group name).

    The cluster's database is new (tests/slurm/cluster.sh), so every job since 2000 is this module's;
    without --starttime sacct lists only jobs since midnight, which loses those of a run that crosses it."""
    out = subprocess.run(
        ["sacct", "--allusers", "--allocations", "--noheader", "--parsable2", "--starttime=2000-01-01", *FORMAT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("|") for line in out.splitlines() if line)


def test_demo_runs_through_slurm_grouped_and_equals_a_local_run(cluster, tmp_path):
    on_slurm = workdir(tmp_path / "slurm")
    run(on_slurm, cluster, *PROFILE, *NODE, *FAST_POLLING)

    jobs = accounting(cluster)
    assert jobs, "sacct lists no job: nothing went through the scheduler"
    assert set(jobs.values()) == {"COMPLETED"}, jobs
    # The plugin names a grouped job rule_{group}_{its rules}: each per-frame or per-block stage ran
    # as one job (3 frames, fewer than every group's size); each stylised frame is a job of its own.
    groups = {
        "frames": "frames",
        "flow": "flow_backward_flow_forward",
        "consistency": "consistency",
        "segment": "segment_frame",
        "laplacian": "laplacian",
    }
    for group, rules in groups.items():
        assert f"rule_{group}_{rules}" in jobs, f"no cluster job for group {group}: {sorted(jobs)}"
    rules = ("segment_reference", "cuts", "encode", "side_by_side", "metrics")
    singles = {f"rule_{rule}_wildcards_demo" for rule in rules}
    singles |= {f"rule_stylize_frame_wildcards_demo_{i:05d}" for i in range(1, N_FRAMES + 1)}
    assert singles <= set(jobs), sorted(jobs)
    assert len(jobs) == len(groups) + len(singles), f"local rules or ungrouped frames went to SLURM: {sorted(jobs)}"
    assert (on_slurm / "results" / "demo" / "segmentation" / f"frame_{N_FRAMES:05d}.png").is_file()

    local = workdir(tmp_path / "local")
    run(local, dict(os.environ), "--cores", "2")
    for i in range(1, N_FRAMES + 1):
        name = f"results/demo/stylized/frame_{i:05d}.png"
        assert np.array_equal(read_rgb(on_slurm / name), read_rgb(local / name)), f"{name} differs from the local run"
    assert (on_slurm / "results" / "demo" / "demo.mp4").stat().st_size > 0
    # Propagation mode in the same folder: the keyframes checkpoint, keyframes 1 and 3 optimised, frame 2
    # carried from them by its block's job, all through the scheduler; keyframe 1 (no keyframe before
    # it), stopped by the chain's tolerance, is the same optimisation as the chain's frame 1.
    chain = {i: read_rgb(on_slurm / f"results/demo/stylized/frame_{i:05d}.png") for i in range(1, N_FRAMES + 1)}
    propagate = {"stylize": {"mode": "propagate", "keyframe_every": 2, "keyframe_min_reliable": 0.0}}
    propagate["stylize"]["keyframe_tolerance"] = 1.0e-3  # stylize.tolerance's default
    (on_slurm / "propagate.yaml").write_text(yaml.safe_dump(propagate))
    run(on_slurm, cluster, *PROFILE, *NODE, *FAST_POLLING, "--configfile", "small.yaml", "propagate.yaml")
    jobs = accounting(cluster)
    assert set(jobs.values()) == {"COMPLETED"}, jobs
    expected = {"rule_keyframes_wildcards_demo", "rule_keyframe_pair_wildcards_demo_00003"}
    expected |= {"rule_propagate_block_wildcards_demo_00001", "rule_propagate_block_wildcards_demo_00003"}
    assert expected <= set(jobs), sorted(jobs)
    assert not any("stylized_frame" in name for name in jobs), "stylized_frame is a local rule"
    assert np.array_equal(read_rgb(on_slurm / "results/demo/keyframes/frame_00001.png"), chain[1])
    carried = read_rgb(on_slurm / "results/demo/stylized/frame_00002.png")
    assert not np.array_equal(carried, chain[2])  # carried from keyframes 1 and 3, not optimised
