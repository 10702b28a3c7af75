"""Atomic file output: write under a temporary name in the target folder, rename on success.

A killed job then never leaves a half-written file under its final name, which keeps
Snakemake's incomplete-output detection and ``--rerun-incomplete`` sound.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it onto ``path`` on success.

    The temporary file keeps the real suffix so that writers that choose the format from
    the extension (ffmpeg) behave as for the final name. On any exception the temporary file
    is removed and ``path`` is left untouched; temporary files of an earlier, killed attempt at
    the same output are removed when the output is written again.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{glob.escape(final.stem)}.*.tmp{glob.escape(final.suffix)}"):
        stale.unlink(missing_ok=True)  # left by an earlier attempt that was killed (SIGKILL skips clean-up)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; outputs get the usual permissions
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except Exception as exc:
        if _disk_full(exc):
            raise DiskFullError(
                errno.ENOSPC, f"no space left on the device while writing {final}: free some space and rerun"
            ) from exc
        raise
    finally:
        tmp.unlink(missing_ok=True)


class DiskFullError(OSError):
    """Writing an output failed because its file system is full."""


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC from Python itself, or as reported in the text of h5py's or ffmpeg's errors."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(exc)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a small text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
