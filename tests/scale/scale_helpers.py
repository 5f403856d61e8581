"""What the scale-out and fault tests share: a stack of processes in a temporary folder, up for a module."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar


class Stack(Protocol):
    """Processes started together and stopped together."""

    def up(self) -> None: ...

    def down(self) -> None: ...


S = TypeVar("S", bound=Stack)


def running(prefix: str, make: Callable[[Path], S]) -> Iterator[S]:
    """A stack made in a fresh temporary folder, up while the caller (a fixture) yields it, then down and removed.

    The folder is world-readable: PostgreSQL runs as the postgres user and keeps its data there.
    """
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)
    stack = make(base)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
        shutil.rmtree(base, ignore_errors=True)
