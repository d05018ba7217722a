"""Pause the cyclic garbage collector while building large acyclic structures.

Loading an export and expanding flows allocate millions of small objects and
almost no cycles; the collector would rescan them over and over for nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
