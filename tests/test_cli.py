"""``photostyle run``: help and version, one-line refusals of bad arguments (exit 2), the run config it
writes, the profile it reads, its error line and summary, the progress bar's logger plugin (fed records
shaped as Snakemake 9's, in chain and propagate mode), ``--dry-run`` and ``--unlock``, the workflow files
of a non-editable install; (slow) end-to-end runs of the console script, editable and installed."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import yaml
from conftest import call
from snakemake_interface_logger_plugins.common import LogEvent

from photostyle import cli, progress, runner
from photostyle.images import write_rgb
from photostyle.inputs import Run, read_runs
from photostyle.paths import SNAKEFILE, workflow_root
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
    options = ["VIDEO", "--style IMAGE", "--style-mask PNG", "--out FILE", "--cores N", "--profile DIR", "--set"]
    for option in [*options, "--dry-run", "--unlock"]:
        assert option in out


def test_version_is_the_installed_distributions(capsys):
    code, out, err = call(["--version"], capsys)
    assert (code, out, err) == (0, f"photostyle {importlib.metadata.version('photostyle')}\n", "")


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


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--style", "."], "--style . is a folder, not an image"),
        (["--style", "style.png", "--out", "/proc/x.mp4"], "--out /proc/x.mp4: cannot write in the folder /proc"),
        (
            ["--style", "style.png", "--out", "clip.mp4/styled.mp4"],
            "--out clip.mp4/styled.mp4: {tmp}/clip.mp4 is a file, not a folder",
        ),
        (
            ["--style", "style.png", "--set", "models.vgg19.path=style.png"],
            "models.vgg19.path: {tmp}/style.png is not a PyTorch weights file (a PNG image)",
        ),
    ],
)
def test_unusable_paths_are_one_line_naming_what_they_are(inputs, capsys, tmp_path, arguments, message):
    code, out, err = call(["run", "clip.mp4", *arguments], capsys)
    assert (code, out, err) == (2, "", f"photostyle run: error: {message.format(tmp=tmp_path.resolve())}\n")
    assert not (tmp_path / cli.WORK_FOLDER).exists()


def test_an_output_folder_still_to_make_is_checked_where_it_would_be_made(tmp_path):
    cli.check_writable(tmp_path / "new" / "deeper", "--out new/deeper/x.mp4")
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "the file is empty"),
        (b"not weights\n" * 10, "neither the zip archive that torch.save writes nor a pickle"),
        (b"\xff\xd8\xff\xe0" + bytes(100), "a JPEG image"),
        (None, "it holds Python objects besides tensors"),  # a whole module, pickled
    ],
)
def test_a_file_that_is_not_pytorch_weights_says_what_it_is(tmp_path, content, why):
    import torch

    from photostyle.errors import InputError
    from photostyle.weights import load_state_dict

    path = tmp_path / "vgg.pth"
    if content is None:
        torch.save(torch.nn.Linear(2, 2), path)
    else:
        path.write_bytes(content)
    with pytest.raises(InputError) as error:
        load_state_dict("models.vgg19", "", str(path))
    message = str(error.value)
    assert message.startswith(f"models.vgg19.path: {path} is not a PyTorch weights file ({why}")
    assert "\n" not in message


def test_a_profile_with_an_unknown_key_is_one_line(inputs, capsys, tmp_path):
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text("cores: 1\nno-such-option: 3\n")
    args = cli.build_parser().parse_args(["run", "clip.mp4", "--style", "style.png"])
    with pytest.raises(UsageError, match="--profile profile: unrecognized arguments: --no-such-option"):
        runner.snakemake_args(tmp_path / "work", args.cores, "profile")


def test_a_profile_whose_executor_is_not_installed_names_the_plugin_and_the_extra(tmp_path):
    """As profiles/slurm does without the [slurm] extra: Snakemake's argparse lists only installed executors."""
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text("executor: nosuch\n")
    with pytest.raises(UsageError) as refused:
        runner.snakemake_args(tmp_path / "work", None, str(tmp_path / "profile"))
    assert "executor nosuch: its plugin is not installed (pip install snakemake-executor-plugin-nosuch" in str(
        refused.value
    )
    assert "pip install 'photostyle[slurm]'" in str(refused.value) and "\n" not in str(refused.value)


def test_profiles_are_read_as_snakemake_reads_them(tmp_path):
    _, default = runner.snakemake_args(tmp_path)
    assert default.rerun_incomplete and default.show_failed_logs and default.directory == tmp_path
    assert Path(default.snakefile) == workflow_root() / SNAKEFILE and default.logger == []
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
    """Snakemake applies the workflow's workflow/profiles/default after any --profile, so its keys would win;
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
    _, local = parse_args([])  # a workstation: workflow/profiles/default, one GPU job at a time
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


def snakemake_log(jobs: list[str], added: frozenset[str] = frozenset()) -> Iterator[logging.LogRecord]:
    """The records Snakemake 9.27 logs while it runs ``jobs`` (their rules, in the order they run): its job
    stats (RUN_INFO) before the first job, without the jobs of the rules in ``added``, which the checkpoint
    (rule keyframes) adds when it has run; then for each job JOB_STARTED, JOB_INFO, JOB_FINISHED and
    PROGRESS. After the checkpoint Snakemake logs "Updating checkpoint dependencies." and no new stats;
    PROGRESS's total grows (snakemake.dag.DAG.update_checkpoint_dependencies, snakemake.scheduling)."""
    planned = [rule for rule in jobs if rule not in added]
    yield log_record("Job stats:…", event=LogEvent.RUN_INFO, stats={**Counter(planned), "total": len(planned)})
    total = len(planned)
    for jobid, rule in enumerate(jobs):
        yield log_record(event=LogEvent.JOB_STARTED, jobs=[jobid])
        yield log_record(f" Rule: {rule}, Jobid: {jobid}", event=LogEvent.JOB_INFO, jobid=jobid, rule_name=rule)
        yield log_record(f"Finished jobid: {jobid} (Rule: {rule})", event=LogEvent.JOB_FINISHED, job_id=jobid)
        yield log_record(event=LogEvent.PROGRESS, done=jobid + 1, total=total)
        if rule == "keyframes":
            yield log_record("Updating checkpoint dependencies.")
            total = len(jobs)


N = 6  # frames
SETUP = ["frames"] * N + ["segment_reference", "flow_forward", "flow_backward", "consistency", "segment_frame"]
SETUP += ["frame_labels"] * N + ["cuts"]
FINISH = ["encode", "side_by_side", "metrics", "metrics_report", "frame_picture", "all"]
CHAIN = [*SETUP, "laplacian", *["stylize_frame"] * N, *FINISH]
# after the checkpoint, two keyframes: their Laplacians, the flow between them, their stylisation, a block each
KEYFRAMES = ["laplacian", "laplacian", "keyframe_pair", "stylize_frame", "stylize_frame", "propagate_block"]
PROPAGATE = [*SETUP, "keyframes", *KEYFRAMES, "propagate_block", *["stylized_frame"] * N, *FINISH]
AFTER_CHECKPOINT = frozenset({"laplacian", "keyframe_pair", "stylize_frame", "propagate_block"})


@pytest.mark.parametrize(
    ("mode", "jobs", "added", "first"),
    [
        ("chain", CHAIN, frozenset(), 0),
        ("chain", ["stylize_frame", "stylize_frame", *FINISH], frozenset(), 4),  # a rerun: 4 frames were done
        ("propagate", PROPAGATE, AFTER_CHECKPOINT, 0),  # keyframes stylised after the checkpoint: not frames
        ("propagate", ["propagate_block", *["stylized_frame"] * 3, *FINISH], frozenset(), 3),  # a rerun
        # were the frame jobs added by the checkpoint, they would not have been done before after all
        ("propagate", PROPAGATE, AFTER_CHECKPOINT | {"stylized_frame"}, N),
    ],
    ids=["chain", "chain rerun", "propagate", "propagate rerun", "propagate, frames after the checkpoint"],
)
def test_the_bar_counts_the_final_frames_never_more_than_planned(tmp_path, mode, jobs, added, first):
    with open(tmp_path / "terminal", "w") as terminal:
        settings = progress.LogHandlerSettings(frames=N, rule=progress.FRAME_RULES[mode], fd=terminal.fileno())
        handler = progress.LogHandler(None, settings)
        counts = []
        for record in snakemake_log(jobs, added):
            handler.handle(record)
            counts.append((handler.bar.n, handler.bar.total))
            assert handler.bar.n <= handler.bar.total == N, record.getMessage()
        handler.close()
    assert counts[0] == (first, N)  # after the job stats: the frames an earlier run made are done
    assert counts[-1] == (N, N)
    assert f"{N}/{N}" in (tmp_path / "terminal").read_text()


def test_the_bar_names_the_stage_of_the_jobs_running(tmp_path):
    shown = {}  # rule: the bar's postfix and count while its job runs
    with open(tmp_path / "terminal", "w") as terminal:
        handler = progress.LogHandler(
            None, progress.LogHandlerSettings(frames=N, rule="stylized_frame", fd=terminal.fileno())
        )
        assert handler.bar.postfix == "starting"
        for record in snakemake_log(PROPAGATE, AFTER_CHECKPOINT):
            handler.handle(record)
            if getattr(record, "event", None) == LogEvent.JOB_INFO:
                shown[record.rule_name] = handler.bar.postfix, handler.bar.n
        stages = {
            "frames": "frames",
            "flow_forward": "optical flow",
            "segment_frame": "segmentation",
            "cuts": "shot cuts",
            "keyframes": "keyframes",
            "laplacian": "Matting Laplacian",
            "stylize_frame": "stylisation",
            "encode": "encoding",
            "metrics_report": "report",
        }
        for rule, stage in stages.items():
            assert shown[rule][0].split("; ")[0] == stage, rule
        assert shown["laplacian"][1] == 0  # no frame stylised yet, but the stage is named
        planned = len(PROPAGATE) - sum(rule in AFTER_CHECKPOINT for rule in PROPAGATE)
        assert shown["keyframes"][0].endswith(f"/{planned} jobs")  # all jobs done of those planned
        assert shown["laplacian"][0].endswith(f"/{len(PROPAGATE)} jobs")  # grown by the checkpoint
        # two jobs at once: both stages, in the pipeline's order, until one finishes
        handler.handle(log_record(event=LogEvent.JOB_INFO, jobid=100, rule_name="segment_frame"))
        handler.handle(log_record(event=LogEvent.JOB_INFO, jobid=101, rule_name="flow_forward"))
        assert handler.bar.postfix.startswith("optical flow, segmentation; ")
        handler.handle(log_record(event=LogEvent.JOB_FINISHED, job_id=101))
        assert handler.bar.postfix.startswith("segmentation; ")
        handler.close()
    assert "optical flow" in (tmp_path / "terminal").read_text()  # drawn on the file descriptor given


def test_every_rule_of_the_workflow_has_a_stage():
    root = workflow_root()
    text = "\n".join(path.read_text() for path in [root / SNAKEFILE, *(root / "workflow" / "rules").glob("*.smk")])
    rules = {a or b for a, b in re.findall(r"^(?:rule|checkpoint) (\w+)|^use rule \w+ as (\w+)", text, re.MULTILINE)}
    assert rules - {progress.TARGET_RULE} == set(progress.STAGE_OF)
    assert set(progress.FRAME_RULES.values()) <= rules


def test_the_logger_plugin_takes_its_settings_through_snakemake(tmp_path):
    """Options through Snakemake's own parser and plugin registry; the error that ends a run in one line."""
    from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

    with open(tmp_path / "terminal", "w") as terminal:
        options = progress.options(frames=6, rule="stylized_frame", fd=terminal.fileno(), error_file=tmp_path / "e.txt")
        _, args = runner.snakemake_args(tmp_path, 1, None, *options)
        assert args.logger == [progress.NAME]
        plugin = LoggerPluginRegistry().get_plugin(progress.NAME)
        handler = plugin.log_handler(None, plugin.get_settings(args))
        assert (handler.bar.total, handler.rule, handler.stats_file) == (6, "stylized_frame", None)
        message = "WorkflowError:\nAt least one job did not complete successfully."
        handler.handle(log_record(message, event=LogEvent.ERROR, exception="WorkflowError", levelno=logging.ERROR))
        handler.close()
    assert "0/6" in (tmp_path / "terminal").read_text()
    assert (tmp_path / "e.txt").read_text() == "WorkflowError: At least one job did not complete successfully.\n"


def test_nothing_to_do_fills_the_bar_and_a_dry_run_keeps_the_job_stats(tmp_path):
    from snakemake.common import NOTHING_TO_BE_DONE_MSG

    with open(tmp_path / "terminal", "w") as terminal:
        nothing = progress.LogHandler(None, progress.LogHandlerSettings(frames=5, fd=terminal.fileno()))
        nothing.handle(log_record(NOTHING_TO_BE_DONE_MSG))
        assert (nothing.bar.n, nothing.bar.total, nothing.bar.postfix, nothing.error) == (5, 5, "up to date", None)
        nothing.close()
    planner = progress.LogHandler(None, progress.LogHandlerSettings(frames=N, stats_file=tmp_path / "stats.json"))
    for record in snakemake_log(CHAIN):
        planner.handle(record)
    planner.close()
    assert planner.bar.disable  # no file descriptor: no bar
    assert json.loads((tmp_path / "stats.json").read_text()) == {**Counter(CHAIN), "total": len(CHAIN)}


def dry_run_project(folder: Path, photo: np.ndarray) -> list[str]:
    """A 3-frame clip and a reference in ``folder``; the arguments of ``photostyle run`` for them (random
    weights, small frames), the output to go to made/."""
    write_clip(folder / "clip.mp4", 3)
    write_rgb(folder / "style.png", photo)
    settings = ["--set", "models.allow_random_weights=true", "--set", "input.size=48"]
    return ["run", "clip.mp4", "--style", "style.png", "--out", "made/out.mp4", *settings]


def test_a_dry_run_prints_the_jobs_per_stage_and_writes_nothing(tmp_path, photo, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    arguments = dry_run_project(tmp_path, photo)
    code, out, err = call([*arguments, "--dry-run"], capsys)
    assert (code, err) == (0, "")
    work = tmp_path / "made" / cli.WORK_FOLDER
    head, *stages, copied = out.splitlines()
    total = re.fullmatch(
        rf"photostyle run --dry-run: (\d+) jobs would run in {work}, 3 of the 3 frames stylised:", head
    )
    assert total, head
    per_rule = [int(count) for line in stages for count in re.findall(r" (\d+)(?:,|$)", line)]
    assert sum(per_rule) + 1 == int(total[1])  # and rule all
    assert "  frames:            frames 3" in stages and len(stages) < 12
    assert any(line.startswith("  stylisation:") and line.endswith("stylize_frame 3") for line in stages)
    assert (
        copied == f"  then the videos would be copied to {work.parent}/out.mp4 and {work.parent}/out_side_by_side.mp4"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4", "style.png"]  # no made/

    code, out, _ = call([*arguments, "--set", "stylize.mode=propagate", "--dry-run"], capsys)
    assert code == 0 and "3 of the 3 frames stylised" in out and "stylized_frame 3" in out
    assert "keyframes 1" in out and "stylize_frame" not in out and "planned once rule keyframes has run" in out

    (work / "config").mkdir(parents=True)  # an earlier run's work folder: its config stays as it is
    (work / "config" / "config.yaml").write_text("input: {size: 32}\n")
    code, out, _ = call([*arguments, "--dry-run"], capsys)
    assert code == 0 and out.startswith(head)
    assert (work / "config" / "config.yaml").read_text() == "input: {size: 32}\n"
    assert not (work / "results").exists()


def test_unlock_removes_the_lock_a_killed_run_left(tmp_path, photo, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    arguments = dry_run_project(tmp_path, photo)
    work = tmp_path / "made" / cli.WORK_FOLDER
    assert call([*arguments, "--unlock"], capsys) == (
        0,
        f"photostyle run: nothing to unlock: {work} does not exist\n",
        "",
    )
    assert not (tmp_path / "made").exists()
    locks = work / ".snakemake" / "locks"  # as a run killed with kill -9 leaves them (snakemake.persistence)
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text("results/clip/clip.mp4\n")
    code, _, err = call(arguments, capsys)  # refused before any job
    assert code == 1 and err.splitlines()[0] == (
        f"photostyle run: error: {work} is locked: another photostyle run uses it, or one was killed; "
        "if none runs, rerun with --unlock"
    )
    code, out, _ = call([*arguments, "--unlock"], capsys)
    assert (code, out) == (0, f"photostyle run: unlocked {work}; run the same command without --unlock to resume\n")
    assert not locks.exists()


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
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, source / name)
    for name in ("src", "workflow", "config", "profiles"):
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
