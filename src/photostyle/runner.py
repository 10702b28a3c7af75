"""How ``photostyle run`` runs the workflow: as the ``snakemake`` command would, through Snakemake's own
command-line API.

``snakemake_args()`` builds the command line (``--snakefile`` and ``--directory`` of the work folder,
``--workflow-profile none``, ``--profile`` with ``workflow/profiles/default`` unless another is given, ``--cores``)
and parses it with ``snakemake.cli.parse_args``, so that a profile means what it means to ``snakemake
--profile`` (key names, aliases, ``profile.v9+.yaml``…). ``snakemake()`` hands it to
``snakemake.cli.args_to_api``, which turns every setting into Snakemake's API calls, with the logger
plugin of ``photostyle.progress`` registered and selected by ``--logger photostyle``; file descriptors 1
and 2 go to a log meanwhile. ``run_workflow()`` runs the workflow with the plugin's progress bar on a
copy of the terminal's stderr and the work folder's log; ``plan_workflow()`` is Snakemake's dry run,
whose job stats the plugin keeps; ``unlock_workflow()`` is ``snakemake --unlock``. The last two read
the run's config from a file of their own (``--configfile``, replacing the work folder's) and write
their log to a temporary folder, so that they change nothing of a previous run's files.

A failed call is a ``WorkflowFailed`` with one line: the first error a job logged, else the exception
Snakemake reported (which the plugin writes to ``last_error.txt``: ``args_to_api`` returns only
True/False).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from photostyle import progress
from photostyle.paths import DEFAULT_PROFILE, SNAKEFILE, workflow_root
from photostyle.run_config import UsageError

ERROR_FILE = "last_error.txt"  # in the work folder: the error that ended the last failed run (progress plugin)
MISSING_EXECUTOR = re.compile(r"argument --executor/-e: invalid choice: '([\w.-]+)'")  # argparse's words
JOB_ERROR = re.compile(r"^\S+ \S+ ERROR photostyle: (\w+): (.*)$")  # photostyle.logs' line for an uncaught error


class WorkflowFailed(Exception):
    """Snakemake failed; the message is why, in one line."""


def snakemake_args(
    workdir: Path, cores: int | None = None, profile: str | None = None, *options: str
) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Snakemake's parser and its arguments for running the workflow in ``workdir`` with the profile (a
    folder; default: the workflow's ``workflow/profiles/default``), ``cores`` (default: the profile's, else all
    the machine's) and further Snakemake ``options``. A profile Snakemake cannot read is a UsageError."""
    from snakemake.cli import get_profile_dir
    from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

    if profile is not None and get_profile_dir(profile) is None:
        raise UsageError(f"--profile {profile}: no config.yaml (or profile.yaml) found there")
    LoggerPluginRegistry().register_plugin(progress.MODULE, progress)  # before the parser lists the loggers
    root = workflow_root()
    argv = ["--snakefile", str(root / SNAKEFILE), "--directory", str(workdir), "--workflow-profile", "none"]
    argv += ["--profile", profile or str(root / DEFAULT_PROFILE)]
    argv += ["--cores", str(cores)] if cores else []
    parser, args = parse(argv + list(options), profile)
    if args.cores is None and args.jobs is None and runs_locally(args):  # as `snakemake --cores all`
        parser, args = parse([*argv, "--cores", "all", *options], profile)
    return parser, args


def parse(argv: list[str], profile: str | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """``snakemake.cli.parse_args`` without its messages on stderr; its errors name the profile."""
    from snakemake.cli import parse_args

    messages = io.StringIO()
    try:
        with contextlib.redirect_stderr(messages):  # "Using profile …", or argparse's usage block
            return parse_args(argv)
    except SystemExit:
        lines = messages.getvalue().strip().splitlines() or ["not a valid profile"]
        problem = lines[-1].split("error: ", 1)[-1]
        executor = MISSING_EXECUTOR.search(problem)
        if executor:  # Snakemake lists only the executor plugins installed
            problem = (
                f"executor {executor[1]}: its plugin is not installed (pip install snakemake-executor-plugin-"
                f"{executor[1]}; for slurm, photostyle's extra: pip install 'photostyle[slurm]')"
            )
        raise UsageError(f"--profile {profile}: {problem}") from None


def runs_locally(args: argparse.Namespace) -> bool:
    """Whether the jobs run on this machine (local executor) rather than being submitted."""
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

    return ExecutorPluginRegistry().get_plugin(args.executor or "local").common_settings.local_exec


def run_workflow(workdir: Path, cores: int | None, profile: str | None, frames: int, rule: str, log: Path) -> None:
    """Run the workflow in ``workdir`` as ``snakemake`` would, Snakemake's and the jobs' output going to
    ``log`` and a progress bar over the ``frames`` (the jobs of ``rule``) to the terminal."""
    start, error_file = time.time(), workdir / ERROR_FILE
    with output_to(log) as terminal:
        bar = progress.options(frames=frames, rule=rule, fd=terminal, error_file=error_file)
        succeeded = snakemake(workdir, cores, profile, error_file, *bar)
    if not succeeded:
        raise WorkflowFailed(workflow_error(failure(error_file), workdir / "results", start))


def plan_workflow(workdir: Path, cores: int | None, profile: str | None, configfile: Path) -> dict[str, int]:
    """Snakemake's dry run of the workflow with ``configfile`` in ``workdir``, or while that does not exist
    in an empty temporary folder (which plans the same, and leaves no work folder behind): the jobs it
    would run per rule, and ``total``; empty when everything is up to date."""
    with tempfile.TemporaryDirectory(prefix="photostyle-") as tmp:
        stats_file = Path(tmp) / "stats.json"
        where = workdir if workdir.is_dir() else Path(tmp) / "work"
        aside(Path(tmp), where, cores, profile, configfile, "--dry-run", stats_file=stats_file)
        return json.loads(stats_file.read_text()) if stats_file.is_file() else {}


def unlock_workflow(workdir: Path, profile: str | None, configfile: Path) -> None:
    """``snakemake --unlock`` of ``workdir`` with ``configfile``: removes the lock that a run killed
    before it could clean up leaves (the next run would refuse to start)."""
    with tempfile.TemporaryDirectory(prefix="photostyle-") as tmp:
        aside(Path(tmp), workdir, None, profile, configfile, "--unlock")


def aside(
    tmp: Path, workdir: Path, cores: int | None, profile: str | None, configfile: Path, option: str, **plugin: Path
) -> None:
    """``snakemake OPTION`` in ``workdir`` with the config of ``configfile`` alone (not the work folder's),
    its log and error file in ``tmp``, the logger plugin's other ``plugin`` settings; WorkflowFailed when it
    fails."""
    error_file = tmp / ERROR_FILE
    config = ["--configfile", str(configfile), "--replace-workflow-config"]
    with output_to(tmp / "snakemake.log"):
        options = progress.options(error_file=error_file, **plugin)
        succeeded = snakemake(workdir, cores, profile, error_file, option, *config, *options)
    if not succeeded:
        raise WorkflowFailed(failure(error_file))


def snakemake(workdir: Path, cores: int | None, profile: str | None, error_file: Path, *options: str) -> bool:
    """``snakemake OPTIONS`` in ``workdir`` through ``args_to_api``: whether it succeeded; why not goes to
    ``error_file`` (by the logger plugin, which ``options`` must select with it, or here)."""
    from snakemake.cli import args_to_api

    error_file.unlink(missing_ok=True)
    parser, args = snakemake_args(workdir, cores, profile, *options)
    try:
        return args_to_api(args, parser)  # False when it failed: Snakemake logged why
    except Exception as exc:  # before Snakemake's own reporting started
        error_file.write_text(progress.error_line(type(exc).__name__, str(exc)) + "\n")
        return False


def failure(error_file: Path) -> str:
    """The error of a failed call, as the logger plugin (or ``snakemake()``) wrote it."""
    return error_file.read_text().strip() if error_file.is_file() else "the workflow failed"


@contextlib.contextmanager
def output_to(log: Path) -> Iterator[int]:
    """Send file descriptors 1 and 2 (every job's output) and Python's sys.stdout and sys.stderr (Snakemake's
    log: not fds 1 and 2 where Python runs in-process, as in a notebook or under pytest) to ``log``; yield a
    file descriptor of the terminal's stderr, for the progress bar."""
    streams = sys.stdout, sys.stderr  # what was written to them before goes to the terminal, after to the log
    for stream in streams:
        stream.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.dup(2)
    with open(log, "w", buffering=1) as handle, contextlib.redirect_stdout(handle), contextlib.redirect_stderr(handle):
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            yield terminal
        finally:
            for stream in streams:  # those that kept a reference to them (a logging handler) wrote to fds 1 and 2
                stream.flush()
            for fd, original in zip((1, 2), saved, strict=True):
                os.dup2(original, fd)
                os.close(original)
            os.close(terminal)


def workflow_error(error: str, results: Path, since: float) -> str:
    """One line for a failed run: the first error a job logged (a ``*.log`` under ``results``) since
    ``since`` (a time.time()), else ``error``, Snakemake's."""
    logs = results.rglob("*.log") if results.is_dir() else []
    logged = sorted((path.stat().st_mtime, path) for path in logs if path.stat().st_mtime >= since)
    for _, path in logged:
        for line in path.read_text(errors="replace").splitlines():
            match = JOB_ERROR.match(line)
            if match:
                return match[2] if match[1] == "InputError" else f"{match[1]}: {match[2]}"
    return error
