"""Keep the assistant's processes running: a process that dies is started again, with backoff; the others stay up.

`make run` runs `python -m bot.ops.supervisor Procfile`: each line of the Procfile (`name: command`, run by
`sh -c` with the environment of `make`, as honcho did) is one process whose output goes to the console with
its name in front. Unlike honcho, which stopped everything when one process died, a process that exits is
started again after 1 s, then 2, 4, ... up to 30 s while it keeps dying (back to 1 s once it has stayed up for
a minute); the gateway keeps answering meanwhile (the resident gets "try again" from it while Rasa is down).
Ctrl-C or SIGTERM stops them all (each process group, SIGKILL after 20 s).

`bot.ops.scaled` supervises its replicas with the same `Supervisor`; in production on one server the units of
deploy/systemd/ do the same job with systemd's `Restart=always`.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.ops import launcher

FIRST_DELAY = 1.0  # seconds before the first restart
MAX_DELAY = 30.0  # the longest wait between restarts
STABLE_AFTER = 60.0  # a process up this long is healthy again: the next restart waits FIRST_DELAY


@dataclass
class Watched:
    """A supervised process and its restart state."""

    process: launcher.Process
    delay: float = FIRST_DELAY
    restart_at: float | None = None
    restarts: int = 0
    exits: list[int] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # the delay before each restart


class Supervisor:
    """Start processes, restart the ones that die with exponential backoff, stop them all on request."""

    def __init__(
        self,
        processes: list[launcher.Process],
        log: Callable[[str], None] | None = None,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        stable_after: float = STABLE_AFTER,
    ) -> None:
        self.watched = [Watched(p, first_delay) for p in processes]
        self.log = log or (lambda line: print(line, flush=True))
        self.first_delay, self.max_delay, self.stable_after = first_delay, max_delay, stable_after
        self.stopping = threading.Event()

    def start(self) -> None:
        """Start every process that is not running yet."""
        for w in self.watched:
            if w.process.popen is None:
                w.process.start()

    def check(self, now: float | None = None) -> None:
        """One round: note exits, schedule restarts with backoff, start the ones that are due."""
        now = time.monotonic() if now is None else now
        for w in self.watched:
            popen = w.process.popen
            if w.restart_at is not None:
                if now >= w.restart_at and not self.stopping.is_set():
                    w.restart_at = None
                    w.restarts += 1
                    self.log(f"supervisor: starting {w.process.name} again (restart {w.restarts})")
                    w.process.start()
                continue
            if popen is None or popen.poll() is None:
                if popen is not None and now - w.process.started_at >= self.stable_after:
                    w.delay = self.first_delay  # it has stayed up: the next failure is a fresh one
                continue
            w.exits.append(popen.returncode)
            w.waits.append(w.delay)
            w.restart_at = now + w.delay
            where = "" if str(w.process.log) == os.devnull else f" (log: {w.process.log})"
            self.log(f"supervisor: {w.process.name} exited ({popen.returncode}); restarting in {w.delay:g} s{where}")
            w.delay = min(w.delay * 2, self.max_delay)

    def run(self, interval: float = 0.5) -> None:
        """Start everything, then supervise until stop() (or SIGINT/SIGTERM in the main thread)."""
        self.start()
        while not self.stopping.wait(interval):
            self.check()

    def stop(self) -> None:
        """Stop supervising and stop every process, last started first."""
        self.stopping.set()
        for w in reversed(self.watched):
            w.process.stop()

    def watched_named(self, name: str) -> Watched:
        return next(w for w in self.watched if w.process.name == name)


class ConsoleProcess(launcher.Process):
    """A Procfile process: its output goes to the console, each line with the process's name in front."""

    def start(self) -> launcher.Process:
        self.started_at = time.monotonic()
        self.popen = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=0o077,
        )
        threading.Thread(target=_relay, args=(self.name, self.popen.stdout), daemon=True).start()
        return self


def _relay(name: str, stream: IO[bytes] | None) -> None:
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<8} | {raw.decode(errors='replace')}")
        sys.stdout.flush()


PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def procfile_processes(
    path: Path, env: dict[str, str] | None = None, root: Path | None = None
) -> list[launcher.Process]:
    """One process per `name: command` line of a Procfile (comments and blank lines skipped), run in `root`
    (the Procfile's folder unless given)."""
    processes: list[launcher.Process] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PROCFILE_LINE.match(line.strip())
        if not match or line.lstrip().startswith("#"):
            continue
        name, command = match.groups()
        # sh expands ${...} as honcho did; `exec env` then replaces it with the program itself (after any
        # leading VAR=value), so the supervised pid is the server's own and kill -9 of it is seen at once.
        cmd = ["/bin/sh", "-c", f"exec env {command}"]
        log = Path(os.devnull)
        processes.append(ConsoleProcess(name, cmd, dict(env or os.environ), log, "", cwd=root or path.resolve().parent))
    return processes


def main(argv: list[str] | None = None) -> int:
    """Supervise the processes of a Procfile in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bot.ops.supervisor", description=__doc__)
    parser.add_argument("procfile", type=Path, nargs="?", default=launcher.ROOT / "Procfile")
    parser.add_argument("--root", type=Path, help="working directory of the processes (default: the Procfile's)")
    parser.add_argument("--max-delay", type=float, default=MAX_DELAY, help="longest wait between restarts (s)")
    args = parser.parse_args(argv)
    supervisor = Supervisor(procfile_processes(args.procfile, root=args.root), max_delay=args.max_delay)

    def _stop(*_: object) -> None:
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    names = ", ".join(w.process.name for w in supervisor.watched)
    print(f"supervisor: starting {names} (a process that dies is started again; Ctrl-C stops all)", flush=True)
    try:
        supervisor.run()
    finally:
        supervisor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
