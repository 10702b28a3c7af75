"""``photostyle run``: help, one-line refusals of bad arguments (exit 2), the run config it writes,
the profile it reads, its error line and summary, the progress bar's logger plugin, the workflow files
of a non-editable install; (slow) end-to-end runs of the console script, editable and installed."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import yaml
from conftest import call

from photostyle import cli, progress, runner
from photostyle.images import write_rgb
from photostyle.inputs import Run, read_runs
from photostyle.paths import workflow_root
from photostyle.run_config import UsageError, run_config, write_run_files
from photostyle.video import probe_video, run_ffmpeg, video_writer

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
    with pytest.raises(UsageError, match="--profile profile: unrecognized arguments: --no-such-option"):
        runner.snakemake_args(tmp_path / "work", args.cores, "profile")


def test_profiles_are_read_as_snakemake_reads_them(tmp_path):
    _, default = runner.snakemake_args(tmp_path)
    assert default.rerun_incomplete and default.show_failed_logs and default.directory == tmp_path
    assert Path(default.snakefile) == workflow_root() / "Snakefile" and default.logger == []
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.yaml").write_text("keep-going: true\nretries: 2\n")
    _, mine = runner.snakemake_args(tmp_path, None, str(tmp_path / "mine"))
    assert (mine.cores, mine.keep_going, mine.retries, mine.rerun_incomplete) == (os.cpu_count(), True, 2, False)
    (tmp_path / "mine" / "config.yaml").write_text("cores: 1\n")
    assert runner.snakemake_args(tmp_path, None, str(tmp_path / "mine"))[1].cores == 1
    assert runner.snakemake_args(tmp_path, 3, str(tmp_path / "mine"))[1].cores == 3  # --cores wins
    _, slurm = runner.snakemake_args(tmp_path, None, str(workflow_root() / "profiles" / "slurm"))
    assert slurm.executor == "slurm" and slurm.groups["flow_forward"] == "flow"  # the job groups reach Snakemake
    assert slurm.group_components["flow"] == 10


def test_the_documented_cluster_command_keeps_the_slurm_profile_whole(monkeypatch):
    """Snakemake applies the workflow's profiles/default after any --profile, so its keys would win;
    the documented command turns it off (README, profiles/README.md)."""
    from snakemake.cli import parse_args

    command = "--profile profiles/slurm --workflow-profile none"
    for doc in ("README.md", "profiles/README.md"):
        assert f"snakemake {command}" in (REPO / doc).read_text(), doc
    monkeypatch.chdir(REPO)
    _, slurm = parse_args(command.split())
    assert (slurm.cores, slurm.keep_going, slurm.resources["mem_mb"].value) == (8, True, 16000)
    assert "gpu" not in slurm.resources and slurm.default_resources["runtime"].value == 10
    _, both = parse_args(["--profile", "profiles/slurm"])  # what the workflow profile does to it
    assert (both.keep_going, list(both.resources)) == (False, ["gpu"])
    _, local = parse_args([])  # a workstation: profiles/default, one GPU job at a time
    assert local.rerun_incomplete and local.resources["gpu"].value == 1


def test_run_config_is_the_schema_defaults_with_the_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = run_config(["input.size=256", "temporal.offsets=[1, 2]", "models.vgg19.path=w/vgg.pth"])
    assert config["demo"] is False and config["models"]["allow_random_weights"] is False
    assert config["input"] == {"first_frame": 1, "last_frame": None, "step": 1, "size": 256, "folder_fps": 25}
    assert config["temporal"]["offsets"] == [1, 2]
    assert config["models"]["vgg19"]["path"] == str(tmp_path / "w" / "vgg.pth")  # the workflow runs elsewhere
    assert run_config(["input={size: 64}"])["input"]["step"] == 1  # a section replaced whole keeps defaults


def test_run_files_are_a_sample_sheet_and_a_valid_config(tmp_path):
    entry = Run("my_clip", str(tmp_path / "my clip.mp4"), str(tmp_path / "style.png"))
    write_run_files(tmp_path, entry, run_config(["input.size=64"]))
    config = yaml.safe_load((tmp_path / "config" / "config.yaml").read_text())
    assert config["input"]["size"] == 64 and config["demo"] is False
    assert read_runs(config["runs"]) == [entry]
    assert cli.run_name(Path("/videos/My holiday (2).mov")) == "My_holiday_2"


def test_a_job_error_becomes_one_line(tmp_path):
    log = tmp_path / "results" / "clip" / "logs" / "stylize_frame" / "frame_00001.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "2026-11-26 14:40:15,001 INFO photostyle: starting\n"
        "2026-11-26 14:40:15,448 ERROR photostyle: InputError: models.vgg19: weights are not available\n"
        "Traceback (most recent call last):\n"
    )
    error = "WorkflowError: At least one job did not complete successfully."
    assert runner.workflow_error(error, tmp_path / "results", 0) == "models.vgg19: weights are not available"
    assert runner.workflow_error(error, tmp_path / "none", 0) == error
    assert runner.workflow_error(error, tmp_path / "results", log.stat().st_mtime + 1) == error  # an older run's


@pytest.mark.parametrize(
    ("exception", "message", "line"),
    [  # the ERROR record's message as snakemake.exceptions.print_exception words it, and the line shown
        (
            "WorkflowError",
            "WorkflowError:\nAt least one job did not complete successfully.",
            "WorkflowError: At least one job did not complete successfully.",
        ),
        ("InputError", 'InputError in file "/w/Snakefile", line 9:\nx.mp4: not a video\n  File', "x.mp4: not a video"),
        (
            "LockException",
            "LockException:\nError: Directory cannot be locked.\nPlease…",
            "LockException: Error: Directory cannot be locked.",
        ),
        (
            "KeyError",
            "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'size'\n",
            "KeyError: 'size'",
        ),
        ("ApiError", "Error: no Snakefile", "ApiError: Error: no Snakefile"),
        (
            "InputFunctionException",
            'InputFunctionException in rule all in file "/w/S", line 4:\nError:\n  ValueError: bad\nWildcards:',
            "InputFunctionException: ValueError: bad",
        ),
    ],
)
def test_snakemake_errors_become_one_line(exception, message, line):
    assert progress.error_line(exception, message) == line


def log_record(message: str = "", **fields) -> logging.LogRecord:
    """A record as Snakemake's logger makes them: a message and the event's fields."""
    return logging.makeLogRecord({"msg": message, "levelno": logging.INFO, **fields})


def test_the_logger_plugin_moves_the_bar_over_the_stylised_frames(tmp_path):
    """Options through Snakemake's own parser and plugin registry, then Snakemake-like records."""
    from snakemake.common import NOTHING_TO_BE_DONE_MSG
    from snakemake_interface_logger_plugins.common import LogEvent
    from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

    with open(tmp_path / "terminal", "w") as terminal:
        options = progress.options(6, terminal.fileno(), tmp_path / "error.txt")
        _, args = runner.snakemake_args(tmp_path, 1, None, *options)
        assert args.logger == [progress.NAME]
        plugin = LoggerPluginRegistry().get_plugin(progress.NAME)
        handler = plugin.log_handler(None, plugin.get_settings(args))
        assert handler.bar.total == 6 and handler.bar.n == 0
        handler.handle(log_record("stats", event=LogEvent.RUN_INFO, stats={"stylize_frame": 4, "flow": 9, "total": 20}))
        assert handler.bar.n == 2  # frames not rerun are done from the start
        handler.handle(log_record(event=LogEvent.JOB_INFO, rule_name="stylize_frame", jobid=7))
        handler.handle(log_record(event=LogEvent.JOB_INFO, rule_name="flow", jobid=8))
        handler.handle(log_record(event=LogEvent.JOB_FINISHED, job_id=8))
        assert handler.bar.n == 2
        handler.handle(log_record(event=LogEvent.JOB_FINISHED, job_id=7))
        assert handler.bar.n == 3
        message = "WorkflowError:\nAt least one job did not complete successfully."
        handler.handle(log_record(message, event=LogEvent.ERROR, exception="WorkflowError", levelno=logging.ERROR))
        handler.close()
    assert "3/6" in (tmp_path / "terminal").read_text()  # drawn on the file descriptor given
    assert (tmp_path / "error.txt").read_text() == "WorkflowError: At least one job did not complete successfully.\n"

    with open(tmp_path / "terminal", "w") as terminal:
        nothing = plugin.log_handler(None, progress.LogHandlerSettings(frames=5, fd=terminal.fileno()))
        nothing.handle(log_record(NOTHING_TO_BE_DONE_MSG))
        assert nothing.bar.n == 5 and nothing.error is None  # all frames were done already: the bar is full
        nothing.close()


def test_summary_shows_outputs_and_the_numeric_metrics(tmp_path):
    videos = [tmp_path / "out.mp4", tmp_path / "out_side_by_side.mp4"]
    for video, width in zip(videos, (64, 128), strict=True):
        with video_writer(video, width, 48, Fraction(25), None, 18) as writer:
            writer.write(np.zeros((48, width, 3), np.uint8))
    text = cli.summary(videos, tmp_path / "work", 75.2, 6, tmp_path / "metrics.json")
    assert f"{videos[0]} (64x48)" in text and f"{videos[1]} (128x48)" in text  # the size written
    assert "1 min 15 s" in text and "metrics" not in text
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


class Installed(NamedTuple):
    """photostyle installed without ``-e``: its prefix, and the environment that imports it from there."""

    prefix: Path
    env: dict[str, str]


def pip_install(tmp: Path, *where: str) -> Path:
    """``pip install WHERE… SOURCE`` (no dependencies: they are .venv's) of a copy of the working tree, so that
    the build's files stay out of the checkout; the copy's folder."""
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "Snakefile"):
        shutil.copy2(REPO / name, source / name)
    for name in ("src", "workflow", "config", "profiles", "envs"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    # --ignore-installed: without it, pip install --prefix uninstalls .venv's editable photostyle first
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--ignore-installed",
    ]
    command += where
    subprocess.run([*command, str(source)], check=True, capture_output=True, timeout=300)
    return source


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """A plain ``pip install .`` into a prefix, laid out as a virtual environment is (bin/, lib/…/site-packages,
    share/), used through PYTHONPATH."""
    tmp = tmp_path_factory.mktemp("installed")
    pip_install(tmp, "--prefix", str(tmp / "prefix"))
    site = tmp / "prefix" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    return Installed(tmp / "prefix", {**os.environ, "PYTHONPATH": str(site)})


PLAN = """
import sys
from fractions import Fraction
from pathlib import Path

import photostyle
from snakemake.cli import args_to_api

from photostyle import runner
from photostyle.inputs import Run
from photostyle.paths import workflow_root
from photostyle.run_config import run_config, write_run_files

print("package", Path(photostyle.__file__).parent)
print("workflow", workflow_root())
work = Path("work").resolve()
config = run_config(["models.allow_random_weights=true", "input.size=48"])
write_run_files(work, Run("clip", str(Path("clip.mp4").resolve()), str(Path("style.png").resolve())), config)
parser, args = runner.snakemake_args(work, 1, None, "--dry-run")
sys.exit(0 if args_to_api(args, parser) else 1)
"""


def test_a_plain_pip_install_carries_the_workflow(installed, tmp_path, photo):
    """Outside the repository, the installed package finds its own copy of the workflow files (under
    <prefix>/share/photostyle, not the checkout's), and Snakemake plans a run with them (a dry run)."""
    write_clip(tmp_path / "clip.mp4", 3)
    write_rgb(tmp_path / "style.png", photo)
    result = subprocess.run(
        [sys.executable, "-c", PLAN], cwd=tmp_path, env=installed.env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines()[:2])
    assert Path(lines["package"]).is_relative_to(installed.prefix / "lib")
    assert Path(lines["workflow"]) == installed.prefix / "share" / "photostyle"
    assert "stylize_frame" in result.stdout and "This was a dry-run" in result.stdout
    console_script = installed.prefix / "bin" / "photostyle"
    result = subprocess.run(
        [str(console_script), "run", "--help"], cwd=tmp_path, env=installed.env, capture_output=True, text=True
    )
    assert result.returncode == 0 and "--style IMAGE" in result.stdout, result.stderr


def test_pip_install_target_finds_the_workflow_beside_the_packages(tmp_path):
    """``pip install --target DIR`` moves share/ into DIR, away from where the RECORD says it is."""
    pip_install(tmp_path, "--target", str(tmp_path / "target"))
    code = "from photostyle.paths import workflow_root; print(workflow_root())"
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "target")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.stdout.strip() == str(tmp_path / "target" / "share" / "photostyle"), result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("install", ["editable", "pip install ."])
def test_one_command_stylises_a_video(tmp_path, photo, request, install):
    """The console script of .venv (editable: the repository's workflow), and that of a plain install
    (``installed``: the workflow files it carries), run from outside the repository."""
    write_clip(tmp_path / "clip.mp4", 6)
    write_rgb(tmp_path / "sunset.png", photo)
    out = tmp_path / "made" / "OUT.mp4"
    installed = request.getfixturevalue("installed") if install != "editable" else None
    script = installed.prefix / "bin" / "photostyle" if installed else CONSOLE_SCRIPT
    command = [str(script), "run", "clip.mp4", "--style", "sunset.png", "--out", str(out), "--cores", "2"]
    command += ["--set", "models.allow_random_weights=true", "--set", "input.size=48", "--set", "stylize.iterations=2"]
    command += ["--set", "temporal.offsets=[1]"]  # fewer flow jobs: the test stays under two minutes
    env = installed.env if installed else None
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for video in (out, tmp_path / "made" / "OUT_side_by_side.mp4"):
        assert probe_video(video).n_frames == 6
    assert probe_video(tmp_path / "made" / "OUT_side_by_side.mp4").width == 2 * probe_video(out).width
    assert str(out) in result.stdout and "6 frames" in result.stdout
    assert "6/6" in result.stderr  # the progress bar reached the end
    assert (tmp_path / "made" / cli.WORK_FOLDER / "results" / "clip" / "clip.mp4").is_file()
