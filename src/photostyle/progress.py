"""The progress bar of ``photostyle run``: a Snakemake logger plugin.

Snakemake sends its log records (``LogEvent`` s) to the handlers of the loggers named by ``--logger``;
``photostyle.runner`` registers this module as the plugin ``photostyle`` and runs Snakemake with
``--logger photostyle --logger-photostyle-frames N --logger-photostyle-fd FD
--logger-photostyle-error-file FILE`` (``options()``). Its handler draws a tqdm bar over the frames
that rule ``stylize_frame`` stylises, on file descriptor FD (the terminal: ``photostyle run`` sends
fds 1 and 2, Snakemake's own log and every job's output, to a log file). Frames that Snakemake does
not rerun count as done from the start (the RUN_INFO statistics), the others as their job finishes;
when Snakemake has nothing to do the bar is full at once. The first error Snakemake reports (the
exception that ended the run) is written to FILE in one line, for the command's error message.

The handler writes to neither stdout nor stderr, so Snakemake keeps its default stream handler; it
filters nothing (a profile's ``quiet`` does not stop the bar) and formats nothing.
"""

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
STYLIZE_RULE = "stylize_frame"  # one job per frame


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    """The ``--logger-photostyle-*`` options."""

    frames: int = field(default=0, metadata={"help": "number of frames of the run (the bar's total)", "type": int})
    fd: int = field(default=2, metadata={"help": "open file descriptor to draw the bar on", "type": int})
    error_file: Path | None = field(
        default=None,
        metadata={"help": "write the error that ends a failed run here, in one line", "type": Path},
    )


class LogHandler(LogHandlerBase):
    """Moves the bar as Snakemake reports the stylisation jobs; keeps the first error it reports."""

    def __post_init__(self) -> None:
        settings = self.settings if isinstance(self.settings, LogHandlerSettings) else LogHandlerSettings()
        self.error_file = settings.error_file
        self.error: str | None = None
        self.jobs: set[int] = set()
        self.terminal = os.fdopen(settings.fd, "w", buffering=1, closefd=False)
        self.bar = tqdm(total=settings.frames, unit="frame", desc="stylised", file=self.terminal)

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event == LogEvent.RUN_INFO:
            self.advance(self.bar.total - record.stats.get(STYLIZE_RULE, 0))
        elif event == LogEvent.JOB_INFO and record.rule_name == STYLIZE_RULE:
            self.jobs.add(record.jobid)
        elif event == LogEvent.JOB_FINISHED and record.job_id in self.jobs:
            self.advance(self.bar.n + 1)
        elif event == LogEvent.ERROR and self.error is None:
            self.error = error_line(getattr(record, "exception", ""), record.getMessage())
            if self.error_file is not None:
                self.error_file.write_text(self.error + "\n")
        elif record.getMessage() == NOTHING_TO_BE_DONE_MSG:
            self.advance(self.bar.total)

    def advance(self, n: int) -> None:
        """Show ``n`` frames done."""
        self.bar.update(n - self.bar.n)

    def close(self) -> None:
        self.bar.close()
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


def options(frames: int, fd: int, error_file: Path) -> list[str]:
    """Snakemake's command-line options that select this logger with its settings."""
    prefix = f"--logger-{NAME}"
    return [
        "--logger",
        NAME,
        f"{prefix}-frames",
        str(frames),
        f"{prefix}-fd",
        str(fd),
        f"{prefix}-error-file",
        str(error_file),
    ]


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
