"""``photostyle run VIDEO --style IMAGE``: the whole workflow for one video in one command;
``photostyle metrics --frames DIR --stylized DIR``: a run's figures for any stylised clip.

For video makers who do not want to write a sample sheet and a config: the command writes both
into a work folder beside the output (``photostyle_run/config/``, ``photostyle.run_config``), runs the
Snakefile there as ``snakemake`` would, through Snakemake's command-line API (``photostyle.runner``; with
the workflow's ``workflow/profiles/default`` or the ``--profile`` given), shows a progress bar over the stylised
frames instead of Snakemake's log (``photostyle.progress``), and copies the two videos to ``--out``.
``--dry-run`` prints the jobs Snakemake would run, per stage and rule, and writes none of the run's files
(only Snakemake's bookkeeping, in an existing work folder's .snakemake/); ``--unlock``
removes the lock a killed run left on the work folder (never done on its own: a live run's lock looks
the same). Bad arguments are one line on stderr and exit code 2, checked before anything is written (the
output's folder must be writable); a failed run prints the workflow's own error in one line and the path
of the full log, and exits with 1. The workflow's files come from a source checkout or from the installed
package (``photostyle.paths``), so a plain ``pip install .`` runs it too.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.metadata
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from photostyle import progress
from photostyle.atomic import atomic_path
from photostyle.errors import InputError
from photostyle.inputs import Run, check_models, plan_run
from photostyle.paths import workflow_root
from photostyle.run_config import UsageError, run_config, write_run_files
from photostyle.runner import WorkflowFailed, plan_workflow, run_workflow, snakemake_args, unlock_workflow
from photostyle.video import probe_video

WORK_FOLDER = "photostyle_run"
SCORING_KEYS = ("flow.", "consistency.", "models.", "device=")  # what photostyle metrics computes flows with


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
    parser.add_argument("--version", action="version", version=f"photostyle {version()}")
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
        help="a Snakemake profile (folder with config.yaml) to use instead of workflow/profiles/default, "
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
    instead = run.add_mutually_exclusive_group()
    instead.add_argument(
        "--dry-run",
        action="store_true",
        help="plan the run without running it (Snakemake's dry run): print how many jobs of each stage would run, "
        "given what the work folder holds from earlier runs; writes none of the run's files",
    )
    instead.add_argument(
        "--unlock",
        action="store_true",
        help=f"remove the lock on {WORK_FOLDER}/ that a run killed without cleaning up (kill -9, a power cut) "
        "left, then stop; a run refuses to start while it is there. Only when no other photostyle run uses that "
        "folder: a live run's lock looks the same, which is why it is never removed on its own",
    )
    metrics = commands.add_parser(
        "metrics",
        help="score any stylised clip as a run is scored (metrics.json)",
        description="Compute the figures of a run's metrics.json (warping error and flicker of the stylised and "
        "the input frames, local-affine residual, SSIM, style distance per class) for the stylised frames of "
        "--stylized against the input frames of --frames: so that other tools' results are scored the same way. "
        "Flows and consistency weights are computed between the input frames with a run's settings.",
        epilog="Example: photostyle metrics --frames clip/ --stylized other_tool/ --style sunset.jpg "
        "--out other_tool.json. Figures: src/photostyle/clip_metrics.py.",
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


def version() -> str:
    """The installed distribution's version (pyproject.toml's), as pip recorded it."""
    try:
        return importlib.metadata.version("photostyle")
    except importlib.metadata.PackageNotFoundError:  # imported from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``photostyle`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return run(args) if args.command == "run" else score(args)
    except UsageError as exc:
        print(f"photostyle {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except WorkflowFailed as exc:
        print(f"photostyle {args.command}: error: {exc}", file=sys.stderr)
        return 1
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
    """Check the arguments, write the run's config, run the workflow, copy the videos, summarise; or only
    plan the run (``--dry-run``), or unlock the work folder (``--unlock``)."""
    try:
        workflow_root()
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    video, style, mask, out = check_files(args)
    config = run_config(args.settings)
    if mask and config["segmentation"]["method"] != "network":
        raise UsageError("--style-mask is used only with --set segmentation.method=network")
    workdir = out.parent / WORK_FOLDER
    snakemake_args(workdir, args.cores, args.profile)  # a bad profile is refused before anything is written
    entry = Run(run_name(video), str(video), str(style), str(mask) if mask else None)
    n_frames = count_frames(entry, config)
    frame_rule = progress.FRAME_RULES[config["stylize"]["mode"]]
    if args.dry_run:
        with config_file(entry, config) as configfile:
            stats = plan_workflow(workdir, args.cores, args.profile, configfile)
        print(plan_summary(stats, workdir, n_frames, frame_rule, out))
        return 0
    if args.unlock:
        return unlock(workdir, entry, config, args.profile)
    write_run_files(workdir, entry, config)
    results, log, start = workdir / "results" / entry.run, workdir / "photostyle.log", time.time()
    try:
        run_workflow(workdir, args.cores, args.profile, n_frames, frame_rule, log)
    except WorkflowFailed as exc:
        print(f"photostyle run: error: {failure_line(str(exc), workdir)}", file=sys.stderr)
        print(f"photostyle run: the full log is {log}", file=sys.stderr)
        return 1
    videos = [out, out.with_name(f"{out.stem}_side_by_side.mp4")]
    copy(results / f"{entry.run}.mp4", videos[0])
    copy(results / f"{entry.run}_side_by_side.mp4", videos[1])
    print(summary(videos, workdir, time.time() - start, n_frames, results / "metrics.json"))
    return 0


def failure_line(error: str, workdir: Path) -> str:
    """A failed run's error line; Snakemake's refusal of a locked work folder says what to do."""
    if error.startswith("LockException"):
        return (
            f"{workdir} is locked: another photostyle run uses it, or one was killed; if none runs, rerun with --unlock"
        )
    return error


@contextlib.contextmanager
def config_file(entry: Run, config: dict) -> Iterator[Path]:
    """The run's config and sample sheet in a temporary folder (for a dry run or an unlock, which leave
    the work folder's as they are); yields the config file."""
    with tempfile.TemporaryDirectory(prefix="photostyle-") as tmp:
        write_run_files(Path(tmp), entry, config)
        yield Path(tmp) / "config" / "config.yaml"


def unlock(workdir: Path, entry: Run, config: dict, profile: str | None) -> int:
    """``--unlock``: Snakemake's unlock of the work folder, if there is one."""
    if not workdir.is_dir():
        print(f"photostyle run: nothing to unlock: {workdir} does not exist")
        return 0
    with config_file(entry, config) as configfile:
        unlock_workflow(workdir, profile, configfile)
    print(f"photostyle run: unlocked {workdir}; run the same command without --unlock to resume")
    return 0


def plan_summary(stats: dict[str, int], workdir: Path, n_frames: int, frame_rule: str, out: Path) -> str:
    """What a dry run found (``stats``: jobs per rule): the jobs per stage and rule, the frames to stylise
    (``frame_rule``'s jobs), where the videos would go."""
    side_by_side = out.with_name(f"{out.stem}_side_by_side.mp4")
    if not stats:
        return f"photostyle run --dry-run: nothing to do in {workdir}; the videos would be copied to {out}"
    lines = [
        f"photostyle run --dry-run: {stats['total']} jobs would run in {workdir}, "
        f"{stats.get(frame_rule, 0)} of the {n_frames} frames stylised:"
    ]
    stages: dict[str, list[str]] = {}
    for name, count in stats.items():
        if name not in ("total", progress.TARGET_RULE):
            stages.setdefault(progress.stage_of(name), []).append(f"{name} {count}")
    lines += [f"  {stage + ':':<19}{', '.join(stages[stage])}" for stage in progress.in_pipeline_order(set(stages))]
    if "keyframes" in stats:  # the checkpoint that chooses the keyframes (stylize.mode: propagate)
        lines.append(
            "  + the keyframes' jobs (Laplacian, stylisation, propagation), planned once rule keyframes has run"
        )
    lines.append(f"  then the videos would be copied to {out} and {side_by_side}")
    return "\n".join(lines)


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
    style = image_file("--style", args.style, "reference image")
    mask = image_file("--style-mask", args.style_mask, "mask") if args.style_mask else None
    out = (args.out or Path(f"{run_name(video)}_styled.mp4")).expanduser().resolve()
    if out.suffix.lower() != ".mp4":
        raise UsageError(f"--out {args.out}: the output is an H.264 .mp4 file; give a name ending in .mp4")
    if out == video:
        raise UsageError(f"--out {args.out} is the input video")
    if out.is_dir():
        raise UsageError(f"--out {args.out} is a folder; give the video's file name")
    check_writable(out.parent, f"--out {args.out}" if args.out else f"output {out}")
    return video, style, mask, out


def image_file(option: str, path: Path, what: str) -> Path:
    """The absolute path of an image argument, which must be a file."""
    resolved = path.expanduser().resolve()
    if resolved.is_dir():
        raise UsageError(f"{option} {path} is a folder, not an image")
    if not resolved.is_file():
        raise UsageError(f"{option} {path}: the {what} does not exist")
    return resolved


def check_writable(folder: Path, option: str) -> None:
    """The output's folder (where the work folder goes too) exists or can be made, and files can be written
    there: tried with a file in it or, while it does not exist, in the nearest folder above that does
    (as root, os.access says yes even for /proc)."""
    existing = next(parent for parent in [folder, *folder.parents] if parent.exists())
    if not existing.is_dir():
        raise UsageError(f"{option}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:  # ENOENT: a pseudo-filesystem such as /proc
        reason = "" if exc.errno == errno.ENOENT else f" ({exc.strerror})"
        raise UsageError(f"{option}: cannot write in the folder {existing}{reason}") from None


def run_name(video: Path) -> str:
    """A run name (results folder) from the video's name: unsafe characters become ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", video.name if video.is_dir() else video.stem).strip("_.-") or "video"


def copy(source: Path, target: Path) -> None:
    """Copy a result video to where the user asked for it, never leaving a half-written file."""
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def summary(videos: list[Path], workdir: Path, seconds: float, n_frames: int, metrics: Path) -> str:
    """The closing report: where the videos are, how long it took, and the run's metrics if any."""
    minutes, rest = divmod(round(seconds), 60)
    lines = [f"photostyle: {n_frames} frames, done in " + (f"{minutes} min {rest} s" if minutes else f"{rest} s")]
    sizes = [probe_video(video) for video in videos]
    lines += [f"  output:        {videos[0]} ({sizes[0].width}x{sizes[0].height})"]
    lines += [f"  side by side:  {videos[1]} ({sizes[1].width}x{sizes[1].height})"]
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
