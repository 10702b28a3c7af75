"""``photostyle run``: help, one-line refusals of bad arguments (exit 2), the run config it writes,
the profile it reads, its error line and summary; one slow end-to-end run of the console script."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import call

from photostyle import cli
from photostyle.images import write_rgb
from photostyle.inputs import Run, read_runs
from photostyle.video import probe_video, run_ffmpeg

REPO = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).parent / "photostyle"


@pytest.fixture
def inputs(tmp_path, monkeypatch, photo) -> tuple[Path, Path]:
    """A placeholder video file and a real reference photo; the current folder is tmp_path."""
    monkeypatch.chdir(tmp_path)
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not checked before the arguments are")
    style = tmp_path / "style.png"
    write_rgb(style, photo)
    return video, style


def test_help_lists_every_option(capsys):
    code, out, _ = call(["--help"], capsys)
    assert code == 0 and "run" in out
    code, out, _ = call(["run", "--help"], capsys)
    assert code == 0
    for option in ["VIDEO", "--style IMAGE", "--style-mask PNG", "--out FILE", "--cores N", "--profile DIR", "--set"]:
        assert option in out


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["missing.mp4", "--style", "style.png"], "video missing.mp4 does not exist"),
        (["clip.mp4", "--style", "missing.png"], "--style missing.png"),
        (["clip.mp4"], "--style"),
        (["clip.mp4", "--style", "style.png", "--style-mask", "missing.png"], "--style-mask missing.png"),
        (["clip.mp4", "--style", "style.png", "--set", "input.sizes=3"], "unknown key input.sizes"),
        (["clip.mp4", "--style", "style.png", "--set", "colour=3"], "unknown key colour"),
        (["clip.mp4", "--style", "style.png", "--set", "input.size=abc"], "input.size=abc: input.size must be integer"),
        (["clip.mp4", "--style", "style.png", "--set", "input.size=8"], "input.size: 8 is less than the minimum"),
        (["clip.mp4", "--style", "style.png", "--set", "temporal.offsets=[0]"], "temporal.offsets[0]"),
        (["clip.mp4", "--style", "style.png", "--set", "flow.method=magic"], "flow.method: 'magic' is not one of"),
        (["clip.mp4", "--style", "style.png", "--set", "input.size"], "--set input.size: expected KEY=VALUE"),
        (["clip.mp4", "--style", "style.png", "--set", "temporal.offsets=[1,"], "not valid YAML"),
        (["clip.mp4", "--style", "style.png", "--set", "demo=true"], "demo is set by photostyle run"),
        (["clip.mp4", "--style", "style.png", "--cores", "0"], "--cores"),
        (["clip.mp4", "--style", "style.png", "--out", "styled.mov"], "--out styled.mov"),
        (["clip.mp4", "--style", "style.png", "--out", "clip.mp4"], "--out clip.mp4 is the input video"),
        (["clip.mp4", "--style", "style.png", "--profile", "nowhere"], "--profile nowhere"),
        (["clip.mp4", "--style", "style.png", "--style-mask", "style.png"], "segmentation.method=network"),
        (["clip.mp4", "--style", "style.png", "--set", "models.vgg19.path=vgg.pth"], "models.vgg19.path"),
        # not a video: refused before any job (weights asked for at random: the official file cannot be downloaded here)
        (["clip.mp4", "--style", "style.png", "--set", "models.allow_random_weights=true"], "clip.mp4"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(inputs, capsys, tmp_path, arguments, named):
    code, _, err = call(["run", *arguments], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert named in err and "Traceback" not in err
    assert not (tmp_path / cli.WORK_FOLDER).exists()  # refused before anything is written


def test_a_profile_with_an_unknown_key_is_one_line(inputs, capsys, tmp_path):
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text("cores: 1\nno-such-option: 3\n")
    args = cli.build_parser().parse_args(["run", "clip.mp4", "--style", "style.png"])
    with pytest.raises(cli.UsageError, match="--profile profile: unrecognized arguments: --no-such-option"):
        cli.parse_snakemake_args(tmp_path / "work", args.cores, "profile")


def test_profiles_are_read_as_snakemake_reads_them(tmp_path):
    default = cli.parse_snakemake_args(tmp_path, None, None)
    assert default.rerun_incomplete and default.show_failed_logs and default.directory == tmp_path
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.yaml").write_text("cores: 1\nkeep-going: true\nretries: 2\n")
    mine = cli.parse_snakemake_args(tmp_path, None, str(tmp_path / "mine"))
    assert (mine.cores, mine.keep_going, mine.retries, mine.rerun_incomplete) == (1, True, 2, False)
    assert cli.parse_snakemake_args(tmp_path, 3, str(tmp_path / "mine")).cores == 3  # --cores wins
    slurm = cli.parse_snakemake_args(tmp_path, None, str(cli.SNAKEFILE.parent / "profiles" / "slurm"))
    assert slurm.executor == "slurm" and slurm.groups["flow_forward"] == "flow"  # the job groups reach execute()
    assert slurm.group_components["flow"] == 10


def test_the_documented_cluster_command_keeps_the_slurm_profile_whole(monkeypatch):
    """Snakemake applies the workflow's profiles/default after any --profile, so its keys would win;
    the documented command turns it off (README, profiles/README.md)."""
    from snakemake.cli import parse_args

    command = "--profile profiles/slurm --workflow-profile none"
    for doc in ("README.md", "profiles/README.md"):
        assert f"snakemake {command}" in (cli.SNAKEFILE.parent / doc).read_text(), doc
    monkeypatch.chdir(cli.SNAKEFILE.parent)
    _, slurm = parse_args(command.split())
    assert (slurm.cores, slurm.keep_going, slurm.resources["mem_mb"].value) == (8, True, 16000)
    assert "gpu" not in slurm.resources and slurm.default_resources["runtime"].value == 10
    _, both = parse_args(["--profile", "profiles/slurm"])  # what the workflow profile does to it
    assert (both.keep_going, list(both.resources)) == (False, ["gpu"])
    _, local = parse_args([])  # a workstation: profiles/default, one GPU job at a time
    assert local.rerun_incomplete and local.resources["gpu"].value == 1


def test_run_config_is_the_schema_defaults_with_the_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = cli.run_config(["input.size=256", "temporal.offsets=[1, 2]", "models.vgg19.path=w/vgg.pth"])
    assert config["demo"] is False and config["models"]["allow_random_weights"] is False
    assert config["input"] == {"first_frame": 1, "last_frame": None, "step": 1, "size": 256, "folder_fps": 25}
    assert config["temporal"]["offsets"] == [1, 2]
    assert config["models"]["vgg19"]["path"] == str(tmp_path / "w" / "vgg.pth")  # the workflow runs elsewhere
    assert cli.run_config(["input={size: 64}"])["input"]["step"] == 1  # a section replaced whole keeps defaults


def test_run_files_are_a_sample_sheet_and_a_valid_config(tmp_path):
    entry = Run("my_clip", str(tmp_path / "my clip.mp4"), str(tmp_path / "style.png"))
    cli.write_run_files(tmp_path, entry, cli.run_config(["input.size=64"]))
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    assert config["input"]["size"] == 64 and config["demo"] is False
    assert read_runs(config["runs"]) == [entry]
    assert cli.run_name(Path("/videos/My holiday (2).mov")) == "My_holiday_2"


def test_a_job_error_becomes_one_line(tmp_path):
    log = tmp_path / "logs" / "stylize_frame" / "frame_00001.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "2026-11-26 14:40:15,001 INFO photostyle: starting\n"
        "2026-11-26 14:40:15,448 ERROR photostyle: InputError: models.vgg19: weights are not available\n"
        "Traceback (most recent call last):\n"
    )
    error = RuntimeError("At least one job did not complete successfully.")
    assert cli.workflow_error(error, tmp_path / "logs", 0) == "models.vgg19: weights are not available"
    assert cli.workflow_error(error, tmp_path / "none", 0) == f"RuntimeError: {error}"


def test_summary_shows_outputs_and_the_numeric_metrics(tmp_path):
    videos = [tmp_path / "out.mp4", tmp_path / "out_side_by_side.mp4"]
    text = cli.summary(videos, tmp_path / "work", 75.2, 6, tmp_path / "metrics.json")
    assert str(videos[0]) in text and str(videos[1]) in text and "1 min 15 s" in text and "metrics" not in text
    metrics = {"frames": 6, "temporal": {"warping_error": {"ratio": 0.44567}}, "note": "x", "ok": True}
    metrics["style"] = {"classes": {"sky": {"output": 3.0}}}  # per-class details stay in the file
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    text = cli.summary(videos, tmp_path / "work", 3, 6, tmp_path / "metrics.json")
    assert "temporal.warping_error.ratio: 0.4457" in text and "frames: 6" in text
    assert "note" not in text and "ok" not in text and "sky" not in text


def write_clip(path: Path, n_frames: int) -> None:
    """A small H.264 clip: a window panning over a synthetic gradient with blobs."""
    y, x = np.mgrid[0:120, 0:160]
    scene = np.stack([x * 1.5, y * 2.0, 255 - x - y / 2], axis=-1) % 256
    scene[((x - 60) ** 2 + (y - 50) ** 2) < 300] = (250, 240, 30)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n_frames):
            write_rgb(
                Path(tmp) / f"f_{i:03d}.png", np.ascontiguousarray(scene[10 + i : 58 + i, 20 + 3 * i : 84 + 3 * i])
            )
        run_ffmpeg(["-framerate", "25", "-i", str(Path(tmp) / "f_%03d.png"), "-pix_fmt", "yuv420p", str(path)])


@pytest.mark.slow
def test_one_command_stylises_a_video(tmp_path, photo):
    write_clip(tmp_path / "clip.mp4", 6)
    write_rgb(tmp_path / "sunset.png", photo)
    out = tmp_path / "made" / "OUT.mp4"
    command = [str(CONSOLE_SCRIPT), "run", "clip.mp4", "--style", "sunset.png", "--out", str(out), "--cores", "2"]
    command += ["--set", "models.allow_random_weights=true", "--set", "input.size=48", "--set", "stylize.iterations=2"]
    command += ["--set", "temporal.offsets=[1]"]  # fewer flow jobs: the test stays under two minutes
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for video in (out, tmp_path / "made" / "OUT_side_by_side.mp4"):
        assert probe_video(video).n_frames == 6
    assert probe_video(tmp_path / "made" / "OUT_side_by_side.mp4").width == 2 * probe_video(out).width
    assert str(out) in result.stdout and "6 frames" in result.stdout
    assert "6/6" in result.stderr  # the progress bar reached the end
    assert (tmp_path / "made" / cli.WORK_FOLDER / "results" / "clip" / "clip.mp4").is_file()
