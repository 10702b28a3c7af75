"""``photostyle metrics``: any two folders of frames scored as a run is (photostyle.scoring)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import call

from photostyle.images import write_gray, write_rgb
from photostyle.video import RANDOM_WEIGHTS_NOTE

N_FRAMES = 5


def write_frames(folder: Path, frames: list[np.ndarray]) -> Path:
    for i, frame in enumerate(frames, start=1):
        write_rgb(folder / f"frame_{i:05d}.png", frame)
    return folder


@pytest.fixture
def clip(photo, tmp_path) -> dict[str, Path]:
    """A camera pan over a photo (3 px per frame), the pan recoloured by one affine colour map
    (steady), the same with its brightness jumping ±12 levels from frame to frame (flickering),
    and a reference photo with a two-class label map."""
    frames = [np.ascontiguousarray(photo[40:136, 20 + 3 * i : 148 + 3 * i]) for i in range(N_FRAMES)]
    matrix = np.array([[0.8, 0.1, 0.0], [0.0, 0.7, 0.2], [0.1, 0.0, 0.6]])
    steady = [np.clip(f @ matrix.T + 30, 0, 255).round().astype(np.uint8) for f in frames]
    jumps = [12 * (-1) ** i for i in range(N_FRAMES)]
    flickering = [np.clip(s.astype(int) + d, 0, 255).astype(np.uint8) for s, d in zip(steady, jumps, strict=True)]
    write_rgb(tmp_path / "sunset.png", np.clip(photo[::2, ::2] @ matrix.T + 30, 0, 255).astype(np.uint8))
    labels = tmp_path / "labels"
    for i, frame in enumerate(frames, start=1):
        write_gray(labels / f"frame_{i:05d}.png", (frame.mean(axis=2) > 100).astype(np.uint8))
    write_gray(labels / "reference.png", (photo[::2, ::2].mean(axis=2) > 100).astype(np.uint8))
    (labels / "classes.json").write_text("{}")  # other files of a run's segmentation/ folder are left alone
    write_rgb(labels / "overlay_00001.png", frames[0])
    # a run's stylized/ folder: its note on random weights is not a frame
    (write_frames(tmp_path / "steady", steady) / RANDOM_WEIGHTS_NOTE).write_text("random weights\n")
    return {
        "frames": write_frames(tmp_path / "frames", frames),
        "steady": tmp_path / "steady",
        "flickering": write_frames(tmp_path / "flickering", flickering),
        "style": tmp_path / "sunset.png",
        "labels": labels,
    }


def test_a_steady_recolouring_scores_as_steady_and_photographic_a_flickering_one_does_not(clip, capsys, tmp_path):
    code, out, err = call(["metrics", "--frames", str(clip["frames"]), "--stylized", str(clip["steady"])], capsys)
    assert code == 0, err
    steady = json.loads(out)  # JSON on stdout without --out
    assert steady["frames"] == N_FRAMES and steady["temporal"]["pairs"] == N_FRAMES - 1
    assert steady["style"] is None  # no --style
    assert steady["photorealism"]["affine_residual"] < 1.0  # one affine colour map: a photograph
    assert steady["temporal"]["warping_error"]["ratio"] < 1.2
    assert abs(steady["temporal"]["flicker"]["excess"]) < 1.0

    out_file = tmp_path / "flickering.json"
    argv = ["metrics", "--frames", str(clip["frames"]), "--stylized", str(clip["flickering"]), "--out", str(out_file)]
    argv += ["--style", str(clip["style"]), "--labels", str(clip["labels"])]
    code, out, err = call(argv, capsys)
    assert code == 0, err
    assert str(out_file) in out and "temporal.flicker.excess" in out  # a summary on stdout
    flickering = json.loads(out_file.read_text())
    assert flickering["temporal"]["flicker"]["excess"] > 15  # ±12 levels each frame: 24 levels between frames
    assert flickering["temporal"]["warping_error"]["output"] > 5 * steady["temporal"]["warping_error"]["output"]
    classes = flickering["style"]["classes"]
    assert set(classes) == {"class 0", "class 1"} and all(c["frames"] == N_FRAMES for c in classes.values())
    # the reference is the photo with the same colour map: the stylised frames are nearer its colours than the input
    assert flickering["style"]["output"] < flickering["style"]["input"]


def test_folders_that_do_not_match_are_refused_in_one_line(clip, capsys, tmp_path):
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    for path in sorted(clip["steady"].iterdir())[:-1]:
        (fewer / path.name).write_bytes(path.read_bytes())
    smaller = write_frames(tmp_path / "smaller", [np.zeros((20, 30, 3), np.uint8)] * N_FRAMES)
    frames = ["metrics", "--frames", str(clip["frames"])]
    cases = {
        (*frames, "--stylized", str(fewer)): f"holds {N_FRAMES} frames but {fewer} holds {N_FRAMES - 1}",
        (*frames, "--stylized", str(smaller)): "frame_00001.png is 30×20, its frame",
        (*frames, "--stylized", str(tmp_path / "nowhere")): "nowhere does not exist",
        (*frames, "--stylized", str(clip["steady"]), "--labels", str(clip["labels"])): "--labels needs --style",
        (*frames, "--stylized", str(clip["steady"]), "--set", "stylize.iterations=3"): "uses only flow.",
        (*frames, "--stylized", str(clip["steady"]), "--set", "flow.method=magic"): "flow.method",
    }
    for argv, message in cases.items():
        code, out, err = call(list(argv), capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)
        assert err.startswith("photostyle metrics: error: ") and not out
