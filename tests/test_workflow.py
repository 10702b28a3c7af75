"""The whole workflow on the default (demo) config, run once in a temporary folder: outputs,
rerun scheduling after config changes, resuming after a killed run. Marked slow (minutes)."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import yaml
from conftest import SNAKEFILE, demo_config, demo_project

from photostyle.images import read_rgb

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE)]
N_FRAMES = 16

pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def scheduled(workdir: Path, changes: dict | None = None) -> dict[str, int]:
    """Rules (with job counts) that a dry run schedules after applying ``changes`` to the config."""
    (workdir / "config" / "changed.yaml").write_text(yaml.safe_dump(demo_config(changes)))
    out = snakemake(workdir, "-n", "--cores", "2", "--configfile", "config/changed.yaml").stdout
    return {} if "Nothing to be done" in out else job_stats(out)


def job_stats(out: str) -> dict[str, int]:
    """Rules and job counts of the "Job stats" table Snakemake prints before it runs."""
    table = out[out.index("Job stats:") :].split("total")[0]
    return {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A finished run of the default config (the offline demo) on random weights in a fresh folder."""
    workdir = tmp_path_factory.mktemp("demo")
    demo_project(workdir)
    plan = snakemake(workdir, "-n", "--cores", "2").stdout
    blocks = -(-N_FRAMES // 10)  # frames_per_job: 10
    expected = {"frames": N_FRAMES, "flow_forward": blocks, "flow_backward": blocks, "consistency": blocks}
    expected |= {"segment_reference": 1, "segment_frame": blocks, "laplacian": blocks}
    expected |= {"stylize_frame": N_FRAMES, "encode": 1, "side_by_side": 1, "all": 1, "metrics": 1}
    expected |= {"metrics_report": 1, "loss_curves": 1, "resolution_picture": 1}
    expected |= {"frame_picture": 3, "segmentation_picture": 3, "reference_picture": 1, "flow_picture": 1}
    for rule, count in expected.items():  # the dry run lists every job
        assert re.search(rf"^{rule}\s+{count}$", plan, flags=re.M), (rule, count, plan)
    started = time.monotonic()
    snakemake(workdir, "--cores", "2")
    print(f"demo workflow: {time.monotonic() - started:.0f} s")
    return workdir


def test_demo_outputs(demo):
    run = demo / "results" / "demo"
    with av.open(str(run / "demo.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 25
        assert container.streams.audio and container.streams.audio[0].codec_context.name == "aac"
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(frames) == N_FRAMES and frames[0].shape == (200, 320, 3)  # the source's size, not the working 192
    stylized = read_rgb(run / "stylized" / "frame_00005.png").astype(int)
    working = cv2.resize(frames[4], (192, 120), interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(working - stylized).mean() < 4  # the mp4 holds the stylised frames, delivered at 320×200
    with av.open(str(run / "demo_side_by_side.mp4")) as container:
        assert container.streams.video[0].codec_context.width == 640
    assert read_rgb(run / "report" / "resolution_00008.png").shape[0] > 200  # 100 % crops of frame 8
    assert "RANDOM" in (run / "stylized" / "RANDOM_WEIGHTS.txt").read_text()
    for i in range(1, N_FRAMES + 1):
        log = (run / "logs" / "stylize_frame" / f"frame_{i:05d}.log").read_text()
        assert "RANDOM VGG-19 WEIGHTS" in log
        totals = [float(v) for v in re.findall(r"total ([0-9.e+-]+)", log)]
        assert totals[-1] < totals[0]
    # the style moved the colours: the output is closer to the reference's mean colour than the input
    reference = read_rgb(demo / "resources" / "demo" / "rocket_sunset.png").reshape(-1, 3).mean(axis=0)
    frame = read_rgb(run / "frames" / "frame_00005.png").reshape(-1, 3).mean(axis=0)
    assert np.abs(stylized.reshape(-1, 3).mean(axis=0) - reference).sum() < np.abs(frame - reference).sum()


def test_nothing_to_rerun_when_nothing_changed(demo):
    assert scheduled(demo) == {}


# the report's rules that read the stylised frames (metrics, loss curves, input | output pictures)
STYLIZED = {"stylize_frame", "encode", "side_by_side", "all", "metrics", "metrics_report", "loss_curves"}
STYLIZED |= {"frame_picture", "resolution_picture"}
DELIVERY = {"encode", "side_by_side", "resolution_picture", "all"}  # written at the source's size
# the rules of the frame pairs' data, and what reads it (label fusion, the report's pictures)
PAIRS = {"flow_forward", "flow_backward", "consistency", "frame_labels", "flow_picture", "segmentation_picture"}


@pytest.mark.parametrize(
    ("changes", "rules"),
    [
        ({"stylize.weights.style": 20.0}, STYLIZED),
        ({"flow.method": "dis"}, PAIRS | STYLIZED),
        ({"flow.dis_preset": "fast"}, set()),  # matters to method dis only
        (
            {"consistency.colour": 30},
            {"consistency", "frame_labels", "flow_picture", "segmentation_picture"} | STYLIZED,
        ),
        ({"segmentation.temporal_weight": 0.3}, {"frame_labels", "segmentation_picture"} | STYLIZED),
        ({"segmentation.fallback": "none"}, STYLIZED),
        ({"segmentation.size": 320}, set()),  # matters to method network only
        (
            {"segmentation.classes": 3},
            {"segment_reference", "segment_frame", "frame_labels", "reference_picture", "segmentation_picture"}
            | STYLIZED,
        ),
        ({"laplacian.eps": 1e-6}, {"laplacian"} | STYLIZED),
        ({"encode.crf": 23}, {"encode", "side_by_side", "all"}),  # the metrics are computed from the frames
        ({"encode.size": "working"}, DELIVERY),  # delivery only: 192×120 instead of 320×200
        ({"encode.map_radius": 3}, DELIVERY),
        ({"encode.side_by_side_size": 160}, {"side_by_side", "all"}),
        # frames 6 and 11 join 1 and 16; the 100 % crop moves from frame 8 to 11
        ({"report.frames": 4}, {"frame_picture", "segmentation_picture", "resolution_picture", "all"}),
        ({"temporal.offsets": [1]}, PAIRS | STYLIZED),  # flows to i - 2 and i - 4 no longer needed
        ({"temporal.offsets": []}, PAIRS | STYLIZED),  # frames stylised on their own, in parallel
        ({"temporal.cut_threshold": 0.9}, {"cuts", "frame_labels", "segmentation_picture"} | STYLIZED),
        ({"stylize.keep_freed_memory": False}, set()),  # speed and memory only
        ({"stylize.chunk_frames": 8}, {"stylize_warmup"} | STYLIZED),  # frames 1-4 stay: see the next test
        # other block files, and what reads them reruns (with the same results)
        ({"frames_per_job": 4}, PAIRS | {"segment_frame"} | STYLIZED),
    ],
)
def test_a_change_reruns_exactly_what_depends_on_it(demo, changes, rules):
    if "stylize_frame" in rules:  # the default config keeps no Laplacian (temp()): stylize_frame needs it rebuilt
        rules = rules | {"laplacian"}
    assert set(scheduled(demo, changes)) == rules


def test_chunks_rerun_only_the_frames_whose_chain_changes(demo):
    """Chunks of 12 frames with 2 warm-up frames: frames 11-12 blend in chunk 2's warm-up versions
    and frames 13-16 start from them; frames 1-10 keep their chain (and their block's Laplacian,
    which a rerun in the block would rebuild and so rerun the block's other frames too)."""
    jobs = scheduled(demo, {"stylize.chunk_frames": 12, "stylize.chunk_overlap": 2})
    assert (jobs["stylize_warmup"], jobs["stylize_frame"], jobs["laplacian"]) == (2, 6, 1)


def test_killed_run_resumes_to_identical_frames(demo, tmp_path):
    run = demo / "results" / "demo"
    last = [run / "stylized" / f"frame_{i:05d}.png" for i in (15, 16)]
    log15 = run / "logs" / "stylize_frame" / "frame_00015.log"
    originals = [path.read_bytes() for path in last]
    for path in [*last, log15]:  # the log too: the kill waits for this run's 5th evaluation of frame 15
        path.unlink()
    target = str(last[1].relative_to(demo))  # the last frame (not the video: encoding is tests/test_faults.py's)
    process = subprocess.Popen(
        [*SNAKEMAKE, "--cores", "2", target], cwd=demo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 900  # generous: the rerun first rebuilds temp() inputs; slow on a busy machine
    while time.monotonic() < deadline and not (log15.exists() and "eval    5" in log15.read_text()):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert "eval    5" in log15.read_text()  # killed mid-optimisation of frame 15 …
    assert not last[0].exists()  # … and no half-written frame under its final name
    snakemake(demo, "--unlock")  # a SIGKILLed Snakemake leaves its lock (README: the documented first step)
    snakemake(demo, "--cores", "2", "--rerun-incomplete", target)
    assert [path.read_bytes() for path in last] == originals  # deterministic: bit-identical on CPU
    assert not [p for p in (run / "stylized").iterdir() if p.name.startswith(".")]


def test_bad_config_fails_before_any_job(demo, tmp_path):
    shutil.copytree(demo / "config", tmp_path / "config")
    cases = {
        "temporal:\n  offsets: [1, 0]\n": "offsets",
        "input:\n  size: '512'\n": "size",
        "colour: red\n": "colour",
        "flow:\n  method: raft9\n": "method",
    }
    for text, key in cases.items():
        (tmp_path / "config" / "bad.yaml").write_text(text)
        result = snakemake(tmp_path, "-n", "--cores", "1", "--configfile", "config/bad.yaml", check=False)
        assert result.returncode != 0 and key in result.stdout + result.stderr, text
    assert not (tmp_path / "results").exists()


def test_propagate_mode_optimises_the_keyframes_and_carries_their_look(demo, tmp_path):
    """The demo in propagate mode (a copy of the finished chain run): only the keyframes are
    optimised, every frame is stylised, the frames between look like the chain's; one keyframe
    every 4 instead of 8 reruns the keyframes that moved or are tied to another, and the blocks; a new
    keyframe scale or tolerance reruns every keyframe and block, not the plan."""
    from photostyle.keyframes import KeyframePlan

    workdir = tmp_path / "demo"
    shutil.copytree(demo, workdir, symlinks=True)
    run = workdir / "results" / "demo"
    chain = {i: read_rgb(run / "stylized" / f"frame_{i:05d}.png").astype(float) for i in range(1, N_FRAMES + 1)}

    def run_with(changes: dict) -> dict[str, int]:
        """Run with ``changes``; the jobs of each rule that ran (their benchmark files)."""
        (workdir / "config" / "changed.yaml").write_text(yaml.safe_dump(demo_config(changes)))
        started = time.time()
        snakemake(workdir, "--cores", "2", "--configfile", "config/changed.yaml")
        files = [path for path in (run / "benchmarks").rglob("*.tsv") if path.stat().st_mtime >= started]
        rules = [path.parent.name if path.parent.name != "benchmarks" else path.stem for path in files]
        return {rule: rules.count(rule) for rule in set(rules)}

    # Laplacians kept: a rebuilt one would rerun the other keyframes of its block (see the chunks test)
    propagate = {"stylize.mode": "propagate", "stylize.keyframe_every": 8, "laplacian.keep": True}
    ran = run_with(propagate)
    plan = KeyframePlan.read(run / "keyframes.json")
    assert plan.keys[0] == 1 and all(b - a <= 8 for a, b in itertools.pairwise(plan.keys))  # or where the flow fails
    assert ran["stylize_frame"] == len(plan.keys) and ran["stylized_frame"] == N_FRAMES and ran["encode"] == 1
    assert sorted(p.name for p in (run / "keyframes").glob("frame_*.png")) == [f"frame_{k:05d}.png" for k in plan.keys]
    frames = {i: read_rgb(run / "frames" / f"frame_{i:05d}.png").astype(float) for i in chain}
    for i in set(chain) - set(plan.keys):
        ours = read_rgb(run / "stylized" / f"frame_{i:05d}.png").astype(float)
        # the look is the chain's, not the input's: a few grey levels from it, tens from the input
        assert np.abs(ours - chain[i]).mean() < 0.3 * np.abs(frames[i] - chain[i]).mean(), i
    first = (run / "keyframes" / "frame_00001.png").stat().st_mtime_ns
    ran = run_with(propagate | {"stylize.keyframe_every": 4})
    new = KeyframePlan.read(run / "keyframes.json")
    moved = [k for k in new.keys if k not in plan.keys or new.previous(k) != plan.previous(k)]
    later = [k for k in new.keys if k >= min(moved)]  # tied along the chain to a keyframe that reran
    assert ran["keyframes"] == 1 and ran["stylize_frame"] == len(later)
    assert (run / "keyframes" / "frame_00001.png").stat().st_mtime_ns == first  # the first keyframe stays
    rescaled = scheduled(workdir, propagate | {"stylize.keyframe_every": 4, "stylize.keyframe_scale": 0.5})
    assert rescaled["stylize_frame"] == len(new.keys) and rescaled["propagate_block"] == len(new.keys)
    assert "keyframes" not in rescaled and "laplacian" not in rescaled
    stricter = scheduled(workdir, propagate | {"stylize.keyframe_every": 4, "stylize.keyframe_tolerance": 1.0e-3})
    assert stricter == rescaled  # the keyframes' stopping rule: the same jobs
