"""Start and stop the assistant's processes on loopback ports (used by the tests and the benchmark).

`make run` uses honcho with the Procfile; this module is for programs that need their own copy of the
stack on free ports: the end-to-end tests, the scale tests and `make bench`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.settings import ROOT

APP_PYTHON = ROOT / ".venv" / "bin" / "python"
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    """A server process in its own process group, with its log file and the URL that says it is up."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    health_url: str
    cwd: Path = ROOT
    popen: subprocess.Popen | None = field(default=None, repr=False)
    started_at: float = 0.0
    up_after: float | None = None

    def start(self) -> Process:
        """Start the process (output to its log)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.monotonic()
        self.popen = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_until_up(self, timeout: float = 240.0) -> float:
        """Poll the health URL until it answers 200; the seconds it took since start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is None or self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            try:
                if httpx.get(self.health_url, timeout=2).status_code == 200:
                    self.up_after = time.monotonic() - self.started_at
                    return self.up_after
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} not up after {timeout}s:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        """The end of the process's log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def rss_mb(self) -> float:
        """Resident memory of the process and its children, in MB."""
        if self.popen is None:
            return 0.0
        total = 0
        for pid in [self.popen.pid, *_children(self.popen.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the whole process group (SIGKILL if it does not stop within 20 s)."""
        if self.popen is None or self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except OSError:
        return []
    kids = [int(p) for p in out]
    return kids + [g for k in kids for g in _children(k)]


def base_env(**extra: str) -> dict[str, str]:
    """The environment for the project's processes: project on PYTHONPATH, loopback only, quiet TF."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SANIC_HOST": "127.0.0.1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["RASA_TELEMETRY_ENABLED"] = "false"  # nothing leaves the machine
    env.update(extra)
    return env


def action_server(port: int, env: dict[str, str], log: Path) -> Process:
    """The action server (rasa_sdk) on 127.0.0.1:port."""
    cmd = [str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
    return Process("actions", cmd, env, log, f"http://127.0.0.1:{port}/health")


def rasa_server(port: int, endpoints: Path, env: dict[str, str], log: Path, model: str = "models") -> Process:
    """Rasa's server on 127.0.0.1:port with the REST channel (HTTP API disabled)."""
    cmd = [str(RASA_BIN), "run", "--model", model, "--interface", "127.0.0.1", "--port", str(port)]
    cmd += ["--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")]
    return Process("rasa", cmd, env, log, f"http://127.0.0.1:{port}/")


def gateway(port: int, env: dict[str, str], log: Path) -> Process:
    """The residents' web gateway on 127.0.0.1:port."""
    env = {**env, "ZHITANG_GATEWAY_HOST": "127.0.0.1", "ZHITANG_GATEWAY_PORT": str(port)}
    return Process("gateway", [str(APP_PYTHON), "-m", "bot.web"], env, log, f"http://127.0.0.1:{port}/healthz")


def write_endpoints(path: Path, action_url: str, tracker_db: Path) -> Path:
    """An endpoints.yml for a local stack: action server URL and a SQLite tracker store."""
    path.write_text(
        f'action_endpoint:\n  url: "{action_url}"\n'
        f'tracker_store:\n  type: bot.rasa_ext.tracker_store.PooledSQLTrackerStore\n  dialect: "sqlite"\n  db: "{tracker_db}"\n',
        encoding="utf-8",
    )
    return path
