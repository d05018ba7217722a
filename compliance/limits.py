"""The bound on every input read, apart from the loader: the CLI shows it in `--help`
without importing YAML and the loader (which `--version` must not pay for)."""

from __future__ import annotations

DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
"""The most one input file (or standard input) may hold: well above the export of a
large cluster, and a bound on what a single file can make the tool read into memory
(a special file never ends). `--max-file-size` moves it either way."""


def size_text(n: int) -> str:
    """`512 MiB`, `64 KiB`, `100 bytes`: the limit as people set it."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n:,} bytes"
