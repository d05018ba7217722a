"""Work done by a forked copy of this process while this one goes on.

The evidence pack has two independent halves at two points: the spreadsheet beside the
JSON and the report's preparation, and the checks of one framework scope beside
another's. A fork gives the copy everything it needs without serialising the cluster;
only the result comes back (pickled, through a private scratch file). Where there is no
fork or no second core, the work runs in `result()` instead: the same result either
way, only later.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
from collections.abc import Callable
from typing import Generic, TypeVar

from compliance.errors import ComplianceError

T = TypeVar("T")


def can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


class Background(Generic[T]):
    """`produce()` in a forked copy; `result()` waits for it. Used as a context manager so
    that a failure on this side stops the copy instead of leaving it running.

    A failure in the copy comes back as `failure(message)`, where the message is that of
    a ComplianceError, or `Type: message` for anything else."""

    def __init__(
        self,
        produce: Callable[[], T],
        failure: Callable[[str], ComplianceError],
        parallel: bool | None = None,
    ) -> None:
        self._produce = produce
        self._failure = failure
        self._pid: int | None = None
        if not (can_fork() if parallel is None else parallel):
            return
        # Both are closed in __exit__; the copy writes into them, this side reads them.
        self._out = tempfile.TemporaryFile()  # noqa: SIM115
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        pid = os.fork()
        if pid == 0:  # the copy: produce, report, and leave without running any cleanup
            code = 0
            try:
                pickle.dump(produce(), self._out, protocol=pickle.HIGHEST_PROTOCOL)
                self._out.flush()
            except BaseException as exc:
                text = (
                    str(exc) if isinstance(exc, ComplianceError) else f"{type(exc).__name__}: {exc}"
                )
                self._err.write(text.encode())
                self._err.flush()
                code = 1
            finally:
                os._exit(code)
        self._pid = pid

    def result(self) -> T:
        if self._pid is None:
            return self._produce()
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if os.waitstatus_to_exitcode(status) != 0:
            self._err.seek(0)
            message = self._err.read().decode("utf-8", "replace")
            raise self._failure(message or f"the forked copy ended with status {status}")
        self._out.seek(0)
        value: T = pickle.load(self._out)
        return value

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pid is not None:  # this side failed first: stop the copy
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = None
        if hasattr(self, "_out"):
            self._out.close()
            self._err.close()
