"""Keep freed memory in the process (glibc), so that every L-BFGS evaluation reuses its pages.

By default glibc hands each block of more than 32 MB (the first VGG-19 layers' activations and
gradients from 512×288 up) straight back to the kernel when it is freed, and the next evaluation
maps it again: every page then faults and is zeroed, hundreds of MB per evaluation. Keeping freed
memory saves ≈ 10 % of the iteration time at 512×288 on the development CPU; the price is
fragmentation, a higher peak (config ``stylize.keep_freed_memory``; figures in benchmarks/README.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_MAX = -4
_NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes (an int)


def keep_freed_memory() -> bool:
    """Make glibc serve every allocation from its heap and never return freed heap memory to the
    kernel (for this process, from now on); False where the C library is not glibc (nothing changes)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        log.debug("no mallopt in the C library (%s): freed memory is handled by its defaults", name)
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))
