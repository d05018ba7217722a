"""How an input file is named in the evidence: the same way whatever the user typed.

A pack records every input by path and sha256, and its digest covers those lines, so
`./x.yaml` and `/home/me/project/x.yaml` must give the same bytes, and a pack must not
carry the layout of the machine that made it. A file under the working folder is named
relative to it; any other file by its name alone, with the sha256 as its identity.
A name holding a control character (a newline is a legal file-name byte) is recorded with
it escaped (`shop\\nx.json`): the manifest allows no control character in a path, so a
line of what the seal covers cannot be forged through a file's name.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from compliance.text import visible

if TYPE_CHECKING:
    from compliance.evaluate import Evaluation


def recorded_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """`path` relative to `cwd` (default: the working folder) when it is below it, by its
    spelling or with symlinks resolved; otherwise its file name; hidden characters
    escaped."""
    here = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    given = Path(os.path.abspath(path))
    pairs = ((given, here), (Path(os.path.realpath(given)), Path(os.path.realpath(here))))
    for candidate, base in pairs:
        if candidate == base or base in candidate.parents:
            relative = candidate.relative_to(base).as_posix()
            return visible(relative if relative != "." else given.name)
    return visible(given.name)


def recorded_evaluation(ev: Evaluation, cwd: str | os.PathLike[str] | None = None) -> Evaluation:
    """`ev` with every input named by `recorded_path`: the inputs, the scope file, the
    control files, each policy's file, each capture record's file, and warnings that
    start with a file's name.

    Messages on the terminal keep the user's own spelling, which is what they can find;
    only what goes into results, the manifest and the digest is renamed."""
    names: dict[str, str] = {}

    def name(path: str) -> str:
        if path not in names:
            names[path] = path if path == "<stdin>" else recorded_path(path, cwd)
        return names[path]

    inputs = tuple(dataclasses.replace(i, path=name(i.path)) for i in ev.inputs)
    scope = dataclasses.replace(ev.scope, source=name(ev.scope.source))
    frameworks = tuple(
        fw
        if fw.framework.shipped
        else dataclasses.replace(
            fw, framework=dataclasses.replace(fw.framework, path=name(fw.framework.path))
        )
        for fw in ev.frameworks
    )
    policies = tuple(dataclasses.replace(p, source=name(p.source)) for p in ev.cluster.policies)
    admin = tuple(dataclasses.replace(p, source=name(p.source)) for p in ev.cluster.admin_policies)
    renamed = {path: new for path, new in names.items() if new != path}

    def relabel(text: str) -> str:
        path, sep, rest = text.partition(": ")
        return f"{renamed[path]}{sep}{rest}" if sep and path in renamed else text

    cluster = dataclasses.replace(
        ev.cluster,
        policies=policies,
        admin_policies=admin,
        workloads=tuple(
            dataclasses.replace(w, sources=tuple(relabel(s) for s in w.sources))
            for w in ev.cluster.workloads
        ),
        warnings=tuple(relabel(w) for w in ev.cluster.warnings),
    )
    export_time = ev.export_time
    if export_time is not None:
        captures = export_time.captures
        renamed_captures = tuple(dataclasses.replace(c, source=name(c.source)) for c in captures)
        export_time = dataclasses.replace(export_time, captures=renamed_captures)
    return dataclasses.replace(
        ev,
        export_time=export_time,
        inputs=inputs,
        scope=scope,
        frameworks=frameworks,
        cluster=cluster,
        warnings=tuple(relabel(w) for w in ev.warnings),
    )
