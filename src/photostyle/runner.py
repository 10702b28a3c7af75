"""How ``photostyle run`` runs the workflow: as the ``snakemake`` command would, through Snakemake's own
command-line API.

``snakemake_args()`` builds the command line (``--snakefile`` and ``--directory`` of the work folder,
``--workflow-profile none``, ``--profile`` with ``profiles/default`` unless another is given, ``--cores``)
and parses it with ``snakemake.cli.parse_args``, so that a profile means what it means to ``snakemake
--profile`` (key names, aliases, ``profile.v9+.yaml``…). ``run_workflow()`` hands it to
``snakemake.cli.args_to_api``, which turns every setting into Snakemake's API calls, with the progress
bar of ``photostyle.progress`` registered as a logger plugin and selected by ``--logger photostyle``.
File descriptors 1 and 2 go to the work folder's log meanwhile; the bar gets a copy of the terminal's.
A failed run is one line: the first error a job logged, else the exception Snakemake reported (which
the plugin writes to ``last_error.txt`` in the work folder: ``args_to_api`` returns only True/False).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from photostyle import progress
from photostyle.paths import workflow_root
from photostyle.run_config import UsageError

ERROR_FILE = "last_error.txt"  # in the work folder: the error that ended the last failed run (progress plugin)
JOB_ERROR = re.compile(r"^\S+ \S+ ERROR photostyle: (\w+): (.*)$")  # photostyle.logs' line for an uncaught error


def snakemake_args(
    workdir: Path, cores: int | None = None, profile: str | None = None, *options: str
) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Snakemake's parser and its arguments for running the workflow in ``workdir`` with the profile (a
    folder; default: the workflow's ``profiles/default``), ``cores`` (default: the profile's, else all
    the machine's) and further Snakemake ``options``. A profile Snakemake cannot read is a UsageError."""
    from snakemake.cli import get_profile_dir
    from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

    if profile is not None and get_profile_dir(profile) is None:
        raise UsageError(f"--profile {profile}: no config.yaml (or profile.yaml) found there")
    LoggerPluginRegistry().register_plugin(progress.MODULE, progress)  # before the parser lists the loggers
    root = workflow_root()
    argv = ["--snakefile", str(root / "Snakefile"), "--directory", str(workdir), "--workflow-profile", "none"]
    argv += ["--profile", profile or str(root / "profiles" / "default")]
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
        raise UsageError(f"--profile {profile}: {lines[-1].split('error: ', 1)[-1]}") from None


def runs_locally(args: argparse.Namespace) -> bool:
    """Whether the jobs run on this machine (local executor) rather than being submitted."""
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

    return ExecutorPluginRegistry().get_plugin(args.executor or "local").common_settings.local_exec


def run_workflow(workdir: Path, cores: int | None, profile: str | None, frames: int, log: Path) -> str | None:
    """Run the workflow in ``workdir`` as ``snakemake`` would, Snakemake's and the jobs' output going to
    ``log`` and a progress bar over the ``frames`` to the terminal; None, or the error in one line."""
    from snakemake.cli import args_to_api

    start, error_file = time.time(), workdir / ERROR_FILE
    error_file.unlink(missing_ok=True)
    with output_to(log) as terminal:
        parser, args = snakemake_args(workdir, cores, profile, *progress.options(frames, terminal, error_file))
        try:
            succeeded = args_to_api(args, parser)  # False when it failed: Snakemake logged why
        except Exception as exc:  # before Snakemake's own reporting started
            error_file.write_text(progress.error_line(type(exc).__name__, str(exc)) + "\n")
            succeeded = False
    if succeeded:
        return None
    error = error_file.read_text().strip() if error_file.is_file() else "the workflow failed"
    return workflow_error(error, workdir / "results", start)


@contextlib.contextmanager
def output_to(log: Path) -> Iterator[int]:
    """Send file descriptors 1 and 2 (Snakemake's log and every job's output) to ``log``; yield a file
    descriptor of the terminal's stderr, for the progress bar."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.dup(2)
    with open(log, "w") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
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
