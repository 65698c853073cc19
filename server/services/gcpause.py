"""Pausing Python's cycle collector around work that builds many small, acyclic objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block.

    Rebuilding a snapshot or the figures allocates hundreds of thousands of small acyclic objects; the full
    collections they trigger walk the whole heap each time, which made 100k devices cost far more than 10x
    10k. Reference counting still frees everything; the collector resumes (if it was on) afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
