"""Logging for workflow scripts: everything, uncaught errors included, goes to the rule's log file."""

from __future__ import annotations

import logging
import sys


def setup(path: str) -> logging.Logger:
    """Send log records and uncaught exceptions to ``path`` (and to stderr)."""
    handlers: list[logging.Handler] = [logging.FileHandler(path, mode="w"), logging.StreamHandler(sys.stderr)]
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers, force=True
    )
    logger = logging.getLogger("photostyle")

    def hook(kind, value, traceback):
        logger.error("%s: %s", kind.__name__, value, exc_info=(kind, value, traceback))

    sys.excepthook = hook
    return logger
