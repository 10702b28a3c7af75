"""The whole workflow on a user's own inputs, each in its own folder: a frames folder with hand-drawn
masks, two shots back to back in chunks, network segmentation with an edited reference mask. Marked slow
(minutes). Apart from tests/test_workflow.py so that `make test`'s two workers share the workflow runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from photostyle.config import schema_file
from photostyle.images import read_rgb
from photostyle.video import probe_video
from tests.test_workflow import snakemake

pytestmark = pytest.mark.slow


def test_own_frames_folder_with_hand_drawn_masks(shared, tmp_path):
    """A user's run: a folder of frames (crops of a shared photo, panning), its colour masks, and
    a reference with its mask (Luan et al.'s pair 1)."""
    from photostyle.images import read_gray, write_rgb
    from photostyle.segmentation import LEGEND

    pairs = shared / "style_pairs"
    photo, mask = read_rgb(pairs / "input" / "in1.png"), read_rgb(pairs / "segmentation" / "in1.png")
    for n in range(4):  # the camera pans right by 6 px per frame
        window = np.s_[100:420, 6 * n : 6 * n + 480]
        write_rgb(tmp_path / "frames" / f"shot_{n:03d}.jpg", photo[window])
        write_rgb(tmp_path / "masks" / f"shot_{n:03d}.png", mask[window])
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "runs.tsv").write_text(
        "run\tvideo\tstyle\tstyle_mask\tmasks\n"
        f"skyline\tframes\t{pairs / 'style' / 'tar1.png'}\t{pairs / 'segmentation' / 'tar1.png'}\tmasks\n"
    )
    (tmp_path / "config" / "config.yaml").write_text(
        "demo: false\ninput: {size: 96, folder_fps: 12}\nsegmentation: {method: masks}\n"
        "stylize: {iterations: 5}\nmodels: {allow_random_weights: true}\n"
        # J without 1: frame 2 starts cold with no earlier frame, 3 and 4 warm from i - 2; blocks of 3 and 1 frames
        "temporal: {offsets: [2]}\nframes_per_job: 3\n"
    )
    snakemake(tmp_path, "--cores", "2", "--configfile", "config/config.yaml")
    run = tmp_path / "results" / "skyline"
    names = list(LEGEND)
    for labels in (run / "segmentation" / "reference.png", run / "segmentation" / "frame_00003.png"):
        assert {names[k] for k in np.unique(read_gray(labels))} == {"green", "black", "white"}
    assert read_rgb(run / "stylized" / "frame_00004.png").shape == (64, 96, 3)  # optimised at the working size
    info = probe_video(run / "skyline.mp4")  # delivered at the frames' own size
    assert (info.n_frames, info.fps, info.width, info.height) == (4, 12, 480, 320)


def test_a_shot_cut_restarts_the_temporal_term_and_chunks_blend_their_seams(tmp_path):
    """Two shots back to back (a pan over the astronaut, then over the coffee cup: a cut at frame
    6), stylised in chunks of 3 frames that start 2 frames early: chunks start at frames 1, 4, 7;
    warm-up versions of frames 2, 3 (for chunk 4) and 5, 6 (for chunk 7)."""
    import skimage

    from photostyle.cuts import Cuts
    from photostyle.images import write_rgb

    astronaut, coffee = skimage.data.astronaut(), skimage.data.coffee()
    pans = [(astronaut, 5), (coffee, 3)]  # 6 px per frame
    shots = [image[80:176, 6 * n : 6 * n + 144] for image, count in pans for n in range(count)]
    for n, frame in enumerate(shots):
        write_rgb(tmp_path / "frames" / f"shot_{n:03d}.png", np.ascontiguousarray(frame))
    write_rgb(tmp_path / "style.png", np.ascontiguousarray(astronaut[::4, ::4, ::-1]))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "runs.tsv").write_text("run\tvideo\tstyle\ntwo\tframes\tstyle.png\n")
    config = {
        "demo": False,
        "frames_per_job": 4,
        "input": {"size": 72, "folder_fps": 12},
        "stylize": {"iterations": 3, "chunk_frames": 3, "chunk_overlap": 2, "threads": 1},
        "models": {"allow_random_weights": True},
    }
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "--cores", "2", "--configfile", "config/config.yaml")
    run = tmp_path / "results" / "two"
    assert Cuts.read(run / "cuts.json").starts == [6]

    def log(name: str) -> str:
        return (run / "logs" / name).read_text()

    def evaluations(i: int) -> list[dict]:
        return json.loads((run / "losses" / f"frame_{i:05d}.json").read_text())["evaluations"]

    # frame 6 starts the new shot: tied to none of the frames before the cut, no temporal term
    assert "not tied to frames [5, 4, 2]" in log("stylize_frame/frame_00006.log")
    assert all("temporal" not in e for e in evaluations(6)) and all("temporal" in e for e in evaluations(5))
    # the seam before chunk 7 moves to the cut: frame 5 keeps its own chain's look, and from frame 6
    # on both chains start at the cut, so the final frame 6 is the warm-up version
    assert "weight 0.000 of its warm-up version" in log("stylize_frame/frame_00005.log")
    assert np.array_equal(read_rgb(run / "stylized/frame_00006.png"), read_rgb(run / "warmup/frame_00006.png"))
    assert np.array_equal(
        read_rgb(run / "optimised/frame_00006.png"), read_rgb(run / "warmup_optimised/frame_00006.png")
    )
    # the seam before chunk 4 is blended over frames 2 and 3; chunk 4 starts from their warm-up versions
    assert "weight 0.333 of its warm-up version" in log("stylize_frame/frame_00002.log")
    assert "weight 0.667 of its warm-up version" in log("stylize_frame/frame_00003.log")
    assert not (run / "warmup/frame_00004.png").exists() and not (run / "warmup/frame_00001.png").exists()
    assert probe_video(run / "two.mp4").n_frames == 8


def test_network_segmentation_end_to_end_and_an_edited_reference_mask(model_folder, tmp_path):
    """segmentation.method: network on a random-weight SegFormer saved in a folder (the real loading
    path); then the reference's colour picture, edited, is given back as the run's style_mask."""
    from photostyle.demo import ensure_demo_inputs
    from photostyle.images import read_gray, write_rgb

    clip, style = ensure_demo_inputs(tmp_path / "inputs")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "runs.tsv").write_text(f"run\tvideo\tstyle\nclip\t{clip}\t{style}\n")
    config = {
        "demo": False,
        "input": {"size": 64, "last_frame": 4},
        "segmentation": {"method": "network", "model": str(model_folder), "size": 64},
        "stylize": {"iterations": 3},
        "models": {"allow_random_weights": True},
    }
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "--cores", "2", "--configfile", "config/config.yaml")
    seg = tmp_path / "results" / "clip" / "segmentation"
    schema = yaml.safe_load(schema_file().read_text())
    legend = {tuple(g["colour"]) for g in schema["properties"]["segmentation"]["properties"]["groups"]["default"]}
    picture = read_rgb(seg / "reference_colour.png")
    assert {tuple(int(v) for v in c) for c in np.unique(picture.reshape(-1, 3), axis=0)} <= legend
    for i in range(1, 5):
        assert read_gray(seg / f"frame_{i:05d}.png").max() < len(legend)
        assert read_rgb(seg / f"overlay_{i:05d}.png").shape == (40, 64, 3)
    assert (
        "label flicker on reliable pixels" in (tmp_path / "results/clip/logs/frame_labels/frame_00004.log").read_text()
    )
    assert probe_video(tmp_path / "results" / "clip" / "clip.mp4").n_frames == 4

    edited = read_rgb(style)[:, :, :1].repeat(3, axis=2) * 0  # a user paints the reference: sky on top, ground below
    edited[: edited.shape[0] // 2] = (0, 255, 255)
    edited[edited.shape[0] // 2 :] = (255, 255, 0)
    write_rgb(tmp_path / "edited.png", edited)
    (tmp_path / "config" / "runs.tsv").write_text(f"run\tvideo\tstyle\tstyle_mask\nclip\t{clip}\t{style}\tedited.png\n")
    plan = snakemake(tmp_path, "-n", "--cores", "2", "--configfile", "config/config.yaml").stdout
    assert "segment_reference" in plan and "segment_frame " not in plan  # frames keep their network scores
    snakemake(tmp_path, "--cores", "2", "--configfile", "config/config.yaml")
    reference = read_gray(seg / "reference.png")
    assert set(np.unique(reference[: reference.shape[0] // 2 - 1])) == {0}  # sky
    assert set(np.unique(reference[reference.shape[0] // 2 + 1 :])) == {5}  # ground
