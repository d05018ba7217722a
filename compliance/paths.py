"""How an input file is named in the evidence: the same way whatever the user typed.

A pack records every input by path and sha256, and its digest covers those lines, so
`./x.yaml` and `/home/me/project/x.yaml` must give the same bytes, and a pack must not
carry the layout of the machine that made it. A file under the working folder is named
relative to it; any other file by its name alone, with the sha256 as its identity.
"""

from __future__ import annotations

import os
from pathlib import Path


def recorded_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """`path` relative to `cwd` (default: the working folder) when it is below it, by its
    spelling or with symlinks resolved; otherwise its file name."""
    here = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    given = Path(os.path.abspath(path))
    pairs = ((given, here), (Path(os.path.realpath(given)), Path(os.path.realpath(here))))
    for candidate, base in pairs:
        if candidate == base or base in candidate.parents:
            relative = candidate.relative_to(base).as_posix()
            return relative if relative != "." else given.name
    return given.name
