"""The sample sheet and, per run, the plan of frames to stylise, checked before any job runs.

Everything here is cheap (headers, demuxing without decoding) and runs when Snakemake
builds the DAG, so that a bad input fails in seconds with a message naming the file or the
config key, not hours later in some job.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import yaml

from photostyle.errors import InputError
from photostyle.images import read_rgb
from photostyle.segmentation import LEGEND, group_legend, snap_mask
from photostyle.vgg_layout import check_weights
from photostyle.video import (
    VIDEO_SUFFIXES,
    AudioClip,
    check_same_size,
    list_frame_files,
    probe_video,
    select_frames,
)

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
COLUMNS = ("run", "video", "style", "style_mask", "masks")


@dataclass(frozen=True)
class Run:
    """One row of the sample sheet."""

    run: str
    video: str
    style: str
    style_mask: str | None = None
    masks: str | None = None


@dataclass(frozen=True)
class Plan:
    """The frames of one run: where each comes from, the output frame rate, the audio to keep."""

    run: Run
    sources: tuple[int | str, ...]  # per output frame: a pts (video) or an image path (folder)
    fps: Fraction
    width: int  # source size
    height: int
    audio: AudioClip | None
    masks: tuple[str, ...] = ()  # per output frame, when the run has a masks folder

    @property
    def n_frames(self) -> int:
        return len(self.sources)

    @property
    def is_video(self) -> bool:
        return Path(self.run.video).is_file()


def read_runs(path: str | Path) -> list[Run]:
    """Rows of the sample sheet (TSV with a header); names are checked to be safe folder names."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"runs: sample sheet {path} does not exist")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        header = set(reader.fieldnames or ())
        rows = list(reader)
    missing = {"run", "video", "style"} - header
    unknown = header - set(COLUMNS)
    if missing or unknown:
        raise InputError(
            f"runs: sample sheet {path} needs columns run, video, style (optional: style_mask, masks); "
            f"missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    if not rows:
        raise InputError(f"runs: sample sheet {path} has no rows")
    runs = []
    for number, row in enumerate(rows, start=2):
        values = {key: (value or "").strip() or None for key, value in row.items() if key}
        name = values.get("run") or ""
        if not RUN_NAME.fullmatch(name):
            raise InputError(
                f"runs: {path} line {number}: run name {name!r} must be letters, digits, '_', '-' or '.', "
                "starting with a letter or digit (it becomes a folder under results/)"
            )
        for key in ("video", "style"):
            if not values.get(key):
                raise InputError(f"runs: {path} line {number} (run {name}): column {key} is empty")
        runs.append(Run(**{key: values.get(key) for key in COLUMNS}))
    names = [r.run for r in runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"runs: {path} names these runs more than once: {duplicates}")
    return runs


def plan_run(run: Run, input_cfg: dict, segmentation_cfg: dict) -> Plan:
    """Check a run's files and list its frames (``input`` and ``segmentation`` sections of the config).

    Errors name the run of the sample sheet besides the file or key.
    """
    try:
        return _plan(run, input_cfg, segmentation_cfg)
    except InputError as exc:
        raise InputError(f"run {run.run!r} of the sample sheet: {exc}") from None


def _plan(run: Run, input_cfg: dict, segmentation_cfg: dict) -> Plan:
    video = Path(run.video)
    first, last, step = input_cfg["first_frame"], input_cfg["last_frame"], input_cfg["step"]
    if video.is_dir():
        files = list_frame_files(video)
        indices = select_frames(len(files), first, last, step, f"frames folder {video}")
        width, height = check_same_size([files[i] for i in indices], "frame")
        sources: tuple[int | str, ...] = tuple(str(files[i]) for i in indices)
        fps, audio = Fraction(input_cfg["folder_fps"]) / step, None
    elif video.suffix.lower() in VIDEO_SUFFIXES or video.is_file():
        info = probe_video(video)
        indices = select_frames(info.n_frames, first, last, step, f"video {video}")
        width, height = info.width, info.height
        sources = tuple(info.pts[i] for i in indices)
        fps = info.fps / step
        audio = None
        if info.audio_codec:
            start = info.seconds(indices[0])
            audio = AudioClip(str(video), info.audio_codec, start, len(indices) / float(fps))
    else:
        raise InputError(f"video {video} does not exist (a video file or a folder of frames)")

    style = read_rgb(run.style, "style image")  # decoded: truncated or transparent references fail here
    masks: tuple[str, ...] = ()
    if segmentation_cfg["method"] == "masks":
        masks = _check_masks(run, indices, width, height, style.shape[:2], segmentation_cfg)
    elif segmentation_cfg["method"] == "network" and run.style_mask:
        _check_style_mask(
            run, style.shape[:2], group_legend(segmentation_cfg), segmentation_cfg, "(segmentation groups)"
        )
    return Plan(run, sources, fps, width, height, audio, masks)


def check_network_settings(settings: dict) -> None:
    """Start-up check of ``segmentation`` for method network: groups, default group, model folder."""
    from photostyle.scene_parsing import check_model_source

    group_legend(settings)
    check_model_source(settings)


def _check_style_mask(run: Run, style_shape: tuple[int, int], legend: dict, settings: dict, where: str) -> None:
    """The reference's mask must have the reference's size and only legend colours (one small image,
    snapped here so that a mask in the wrong colours fails at start-up)."""
    mask = read_rgb(run.style_mask, f"style mask {where}")
    if mask.shape[:2] != style_shape:
        raise InputError(
            f"style mask {run.style_mask} is {mask.shape[1]}×{mask.shape[0]} but style image {run.style} "
            f"is {style_shape[1]}×{style_shape[0]}"
        )
    snap_mask(mask, run.style_mask, legend, settings["snap_distance"], settings["max_unmatched"])


def _check_masks(
    run: Run, indices: list[int], width: int, height: int, style_shape: tuple[int, int], settings: dict
) -> tuple[str, ...]:
    """Mask files for the selected frames; each must have the size of its image (frame masks
    are snapped to the legend in their own jobs)."""
    where = "(segmentation.method: masks)"
    if not run.style_mask or not run.masks:
        raise InputError(f"runs: columns style_mask and masks are both needed {where}")
    _check_style_mask(run, style_shape, LEGEND, settings, where)
    files = list_frame_files(run.masks)
    if len(files) <= max(indices):
        raise InputError(f"masks folder {run.masks} has {len(files)} masks, fewer than the frames used {where}")
    chosen = [files[i] for i in indices]
    size = check_same_size(chosen, f"frame mask {where}")
    if size != (width, height):
        raise InputError(f"frame masks in {run.masks} are {size[0]}×{size[1]} but the frames are {width}×{height}")
    return tuple(str(p) for p in chosen)


def check_models(models: dict, stylize: dict) -> None:
    """Start-up check of the ``models`` section: the stylisation network's weights are there and
    have its layout, and its layers exist (``photostyle.vgg_layout.check_weights``); a configured RAFT file
    exists (its hash and layout are checked when the flow jobs load it)."""
    check_weights(models, [*stylize["content_layers"], *stylize["style_layers"]])
    path = (models.get("raft") or {}).get("path")
    if path and not Path(path).expanduser().is_file():
        raise InputError(f"models.raft.path: weights file {path} does not exist")


def check_yaml(path: str | Path) -> None:
    """Parse a YAML file safely and report a syntax error with the file's name and line."""
    try:
        yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"config file {path} is not valid YAML: {exc}") from None
