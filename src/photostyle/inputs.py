"""The sample sheet and, per run, the plan of frames to stylise, checked before any job runs.

Everything here is cheap (headers, demuxing without decoding) and runs when Snakemake
builds the DAG, so that a bad input fails in seconds with a message naming the file or the
config key, not hours later in some job.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from photostyle import config as configuration
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

if TYPE_CHECKING:
    from jsonschema import ValidationError

COLUMNS = ("run", "video", "style", "style_mask", "masks")  # the fields of Run, as the sheet's schema names them


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
    """Rows of the sample sheet (TSV with a header), each validated against the sheet's schema
    (``workflow/schemas/runs.schema.yaml``: safe run names, the required columns filled, no unknown
    column); errors name the file and the line."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    path = Path(path)
    if not path.is_file():
        raise InputError(f"runs: sample sheet {path} does not exist")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        header = reader.fieldnames or []
        rows = list(reader)
    schema = configuration.schema("runs")
    missing, unknown = set(schema["required"]) - set(header), set(header) - set(schema["properties"])
    if missing or unknown:
        raise InputError(
            f"runs: sample sheet {path} needs columns {', '.join(schema['required'])} (optional: "
            f"{', '.join(sorted(set(schema['properties']) - set(schema['required'])))}); "
            f"missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    if not rows:
        raise InputError(
            f"runs: sample sheet {path} lists no video: add a row per video (run, video, style; config/README.md)"
        )
    validator = Draft202012Validator(schema)
    runs = []
    for number, row in enumerate(rows, start=2):
        values = {key: (value or "").strip() or None for key, value in row.items() if key}
        error = best_match(validator.iter_errors({key: value for key, value in values.items() if value is not None}))
        if error is not None:
            raise InputError(f"runs: {path} line {number} (run {values.get('run')!r}): {row_problem(error)}")
        runs.append(Run(**{key: values.get(key) for key in COLUMNS}))
    names = [r.run for r in runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"runs: {path} names these runs more than once: {duplicates}")
    return runs


def row_problem(error: ValidationError) -> str:
    """What a schema error says about a row, in the sheet's words."""
    if error.validator == "required":
        return f"column {next(key for key in error.validator_value if key not in error.instance)} is empty"
    column = error.absolute_path[0]
    return f"column {column} {error.instance!r} is not {error.schema['description']}"


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
    """Start-up check of ``segmentation`` for method network: the extra it needs, groups, default group,
    model folder."""
    from photostyle.scene_parsing import check_model_source

    if importlib.util.find_spec("transformers") is None:
        raise InputError(
            "segmentation.method: network needs the transformers package, which a plain install leaves out: "
            "pip install 'photostyle[network]' (in a checkout: pip install -e '.[network]')"
        )
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
