"""The progress bar of ``photostyle run``: a Snakemake logger plugin.

Snakemake sends its log records (``LogEvent`` s) to the handlers of the loggers named by ``--logger``;
``photostyle.runner`` registers this module as the plugin ``photostyle`` and runs Snakemake with
``--logger photostyle`` and its ``--logger-photostyle-*`` settings (``options()``). The handler draws a
tqdm bar on file descriptor FD (the terminal: ``photostyle run`` sends fds 1 and 2, Snakemake's own log
and every job's output, to a log file), keeps the first error Snakemake reports (the exception that
ended the run) in FILE in one line, for the command's error message, and, for ``--dry-run``, the jobs
Snakemake plans per rule in a JSON file.

What the bar counts: the run's N frames, as the jobs of the rule that writes the final stylised frames,
``results/RUN/stylized/frame_*.png`` (``FRAME_RULES``): ``stylize_frame`` in chain mode;
``stylized_frame`` in propagate mode, where ``stylize_frame`` stylises only the keyframes (into
keyframes/) and ``propagate_block`` a block of frames each. Frames without a planned job (an earlier run
made them) count as done from the start, the others as their job finishes. Snakemake 9 logs its job stats
(RUN_INFO) once, before the first job; after a checkpoint (rule ``keyframes``) it logs only "Updating
checkpoint dependencies.", then a JOB_INFO as each new job starts and PROGRESS records whose total has
grown. A frame job that starts without having been announced therefore counts as planned from then on,
taken from the frames done before, so that the bar never shows more done than planned and ends at N/N.
In this workflow the frame jobs of both modes are in the first stats anyway (in propagate mode their
input waits on the checkpoint, but the jobs exist before it). When Snakemake has nothing to do the bar is
full at once.

The bar's postfix names the stage (``STAGES``) of the jobs running and counts all jobs done of those
planned (PROGRESS: the checkpoint's jobs join these), so that during the frames, flow, segmentation and
Laplacian jobs, before any frame is stylised, the user sees what runs. The handler writes to neither
stdout nor stderr, so Snakemake keeps its default stream handler; it filters nothing (a profile's
``quiet`` does not stop the bar) and formats nothing.
"""

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from snakemake.common import NOTHING_TO_BE_DONE_MSG
from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase
from tqdm import tqdm

NAME = "photostyle"  # --logger photostyle
MODULE = f"snakemake_logger_plugin_{NAME}"  # the name Snakemake's plugin registry expects of a logger plugin
FRAME_RULES = {"chain": "stylize_frame", "propagate": "stylized_frame"}  # stylize.mode: writes stylized/frame_*.png
STAGES = {  # the workflow's rules by stage, in the pipeline's order; rule all, the target, has none
    "frames": ("frames",),
    "shot cuts": ("cuts",),
    "optical flow": ("flow_forward", "flow_backward", "consistency"),
    "segmentation": ("segment_reference", "segment_frame", "frame_labels"),
    "keyframes": ("keyframes", "keyframe_pair"),
    "Matting Laplacian": ("laplacian",),
    "stylisation": ("stylize_frame", "stylize_warmup", "propagate_block", "stylized_frame"),
    "encoding": ("encode", "side_by_side"),
    "metrics": ("metrics",),
    "report": (
        "metrics_report",
        "loss_curves",
        "frame_picture",
        "reference_picture",
        "segmentation_picture",
        "flow_picture",
        "resolution_picture",
    ),
}
STAGE_OF = {rule: stage for stage, rules in STAGES.items() for rule in rules}
TARGET_RULE = "all"


def stage_of(rule: str) -> str:
    """The stage a rule's jobs belong to; a rule not in ``STAGES`` is a stage of its own."""
    return STAGE_OF.get(rule, rule)


def in_pipeline_order(stages: set[str]) -> list[str]:
    """Stages in the order the pipeline runs them (as ``STAGES`` lists them), unknown ones last."""
    order = list(STAGES)
    return sorted(stages, key=lambda stage: order.index(stage) if stage in order else len(order))


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    """The ``--logger-photostyle-*`` options."""

    frames: int = field(default=0, metadata={"help": "number of frames of the run (the bar's total)", "type": int})
    rule: str = field(
        default=FRAME_RULES["chain"],
        metadata={"help": "the rule whose jobs write the stylised frames, one per frame", "type": str},
    )
    fd: int | None = field(
        default=None, metadata={"help": "open file descriptor to draw the bar on (none: no bar)", "type": int}
    )
    error_file: Path | None = field(
        default=None,
        metadata={"help": "write the error that ends a failed run here, in one line", "type": Path},
    )
    stats_file: Path | None = field(
        default=None,
        metadata={"help": "write the jobs Snakemake plans per rule here (JSON), for a dry run", "type": Path},
    )


class LogHandler(LogHandlerBase):
    """Moves the bar as Snakemake reports the frame jobs, names the stage of the jobs running; keeps the
    first error Snakemake reports and the job stats it plans."""

    def __post_init__(self) -> None:
        settings = self.settings if isinstance(self.settings, LogHandlerSettings) else LogHandlerSettings()
        self.frames, self.rule = settings.frames, settings.rule
        self.error_file, self.stats_file = settings.error_file, settings.stats_file
        self.error: str | None = None
        self.planned = 0  # frame jobs Snakemake planned, grown by any that starts unplanned; the others are done
        self.started: set[int] = set()  # ids of the frame jobs started, and of those finished
        self.finished: set[int] = set()
        self.running: dict[int, str] = {}  # job id: rule
        self.stage, self.jobs = "starting", ""
        self.terminal = None if settings.fd is None else os.fdopen(settings.fd, "w", buffering=1, closefd=False)
        self.bar = tqdm(
            total=self.frames, unit="frame", desc="stylised frames", file=self.terminal, disable=self.terminal is None
        )
        self.show_stage()

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event == LogEvent.RUN_INFO:
            self.plan(record.stats)
        elif event == LogEvent.JOB_INFO:
            self.start(record.jobid, record.rule_name)
        elif event == LogEvent.JOB_FINISHED:
            self.finish(record.job_id)
        elif event == LogEvent.JOB_ERROR:
            self.running.pop(record.jobid, None)
            self.show_stage()
        elif event == LogEvent.PROGRESS:
            self.jobs = f"{record.done}/{record.total} jobs"
            self.show_stage()
        elif event == LogEvent.ERROR and self.error is None:
            self.error = error_line(getattr(record, "exception", ""), record.getMessage())
            if self.error_file is not None:
                self.error_file.write_text(self.error + "\n")
        elif record.getMessage() == NOTHING_TO_BE_DONE_MSG:
            self.plan({})
            self.stage = "up to date"
            self.show_stage()

    def plan(self, stats: dict[str, int]) -> None:
        """Snakemake's job stats (jobs per rule, and ``total``): the frames it does not plan are done."""
        if self.stats_file is not None:
            self.stats_file.write_text(json.dumps(stats))
        self.planned = max(stats.get(self.rule, 0), len(self.started))
        self.show_frames()

    def start(self, job: int, rule: str) -> None:
        """A job starts: its stage is shown. A frame job that the stats did not announce (a checkpoint added
        it) was not done before after all."""
        self.running[job] = rule
        if rule == self.rule and job not in self.started:
            self.started.add(job)
            if len(self.started) > self.planned:
                self.planned = len(self.started)
                self.show_frames()
        self.show_stage()

    def finish(self, job: int) -> None:
        """A job finished: a frame job is one frame more done."""
        if self.running.pop(job, None) == self.rule and job not in self.finished:
            self.finished.add(job)
            self.bar.update(1)
        self.show_stage()

    def show_frames(self) -> None:
        """The bar's count and total: the frames done before this run (those without a planned job), the
        frame jobs planned, those finished. Set rather than counted, so that tqdm's speed and time left
        count only the frames stylised in this run."""
        done_before = max(self.frames - self.planned, 0)
        self.bar.total = done_before + self.planned
        self.bar.initial = done_before
        self.bar.n = self.bar.last_print_n = done_before + len(self.finished)
        self.bar.refresh()

    def show_stage(self) -> None:
        """The bar's postfix: the stages of the jobs running (else the last one shown) and the jobs done."""
        running = {stage_of(rule) for rule in self.running.values() if rule != TARGET_RULE}
        if running:
            self.stage = ", ".join(in_pipeline_order(running))
        self.bar.set_postfix_str("; ".join(filter(None, [self.stage, self.jobs])))

    def close(self) -> None:
        self.bar.close()
        if self.terminal is not None:
            self.terminal.close()  # not the file descriptor, which belongs to the caller
        super().close()

    @property
    def writes_to_stream(self) -> bool:
        return False

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True

    @property
    def has_formatter(self) -> bool:
        return True

    @property
    def needs_rulegraph(self) -> bool:
        return False


def options(**settings: object) -> list[str]:
    """Snakemake's command-line options that select this logger with ``settings`` (``LogHandlerSettings``'
    fields, e.g. ``frames=6``)."""
    argv = ["--logger", NAME]
    for key, value in settings.items():
        argv += [f"--logger-{NAME}-{key.replace('_', '-')}", str(value)]
    return argv


def error_line(exception: str, message: str) -> str:
    """One line from the message of Snakemake's ERROR record (``snakemake.exceptions.print_exception``):
    ``Type[ in rule R][ in file F, line N]:`` and the exception's text, ``Type.``, ``Error: text``, or a
    traceback ending ``Type: text``. ``InputError`` (a bad input, already a sentence) comes without its type."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()] or [exception]
    if lines[0].startswith("Traceback"):
        exception, _, text = lines[-1].partition(": ")
    elif exception and lines[0].startswith(exception):
        body = lines[1:] if lines[0].endswith(":") else []  # "Type." has no text, only a traceback
        text = next((line for line in body if not re.fullmatch(r"\w+:", line)), "")  # past labels such as "Error:"
    else:
        text = lines[0]
    if exception == "InputError" and text:
        return text
    return f"{exception}: {text}" if exception and text else exception or text
