"""Start and stop the assistant's processes on loopback ports (used by the tests and the benchmark).

`make run` supervises the Procfile's processes with bot.ops.supervisor; this module is for programs that need
their own copy of the stack on free ports: the end-to-end tests, the scale tests and `make bench`. Every process starts with umask
077 (its databases and logs are its owner's only); the action server and Rasa get the same action secret
(ZHITANG_ACTION_SECRET of their environment, else the one generated into $ZHITANG_VAR_DIR), and Rasa's
endpoints send it.
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

from bot.ops.secrets import ACTION_SECRET, action_secret
from bot.settings import ROOT, VAR_DIR

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
        """Start the process (output to its log; a restart appends to it)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.monotonic()
        mode = "a" if self.popen is not None else "w"
        with self.log.open(mode) as out:  # the child keeps its own copy
            self.popen = subprocess.Popen(
                self.cmd,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=0o077,
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


def with_action_secret(env: dict[str, str]) -> dict[str, str]:
    """`env` with ZHITANG_ACTION_SECRET: its own, else the one generated into its ZHITANG_VAR_DIR."""
    var_dir = Path(env.get("ZHITANG_VAR_DIR") or VAR_DIR)
    return {**env, ACTION_SECRET: action_secret(var_dir, environ=env)}


def action_server(port: int, env: dict[str, str], log: Path) -> Process:
    """The action server (rasa_sdk, refusing webhooks without the action secret) on 127.0.0.1:port."""
    cmd = [str(APP_PYTHON), "-m", "bot.ops.action_server", "--actions", "actions", "--port", str(port)]
    return Process("actions", cmd, with_action_secret(env), log, f"http://127.0.0.1:{port}/health")


def rasa_server(port: int, endpoints: Path, env: dict[str, str], log: Path, model: str = "models") -> Process:
    """Rasa's server on 127.0.0.1:port with the REST channel (HTTP API disabled), holding the action secret."""
    cmd = [str(RASA_BIN), "run", "--model", model, "--interface", "127.0.0.1", "--port", str(port)]
    cmd += ["--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")]
    return Process("rasa", cmd, with_action_secret(env), log, f"http://127.0.0.1:{port}/")


def gateway(port: int, env: dict[str, str], log: Path) -> Process:
    """The residents' web gateway on 127.0.0.1:port."""
    env = {**env, "ZHITANG_GATEWAY_HOST": "127.0.0.1", "ZHITANG_GATEWAY_PORT": str(port)}
    return Process("gateway", [str(APP_PYTHON), "-m", "bot.web"], env, log, f"http://127.0.0.1:{port}/healthz")


def action_endpoint_yaml(action_url: str) -> str:
    """endpoints.yml's action_endpoint: the URL and the secret header (unquoted: Rasa expands ${...} only there)."""
    return f'action_endpoint:\n  url: "{action_url}"\n  headers:\n    Authorization: Bearer ${{{ACTION_SECRET}}}\n'


def write_private(path: Path, text: str) -> Path:
    """Write a file only its owner can read (endpoints may hold passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o600)  # an existing file keeps its mode through O_TRUNC
    return path


def write_endpoints(path: Path, action_url: str, tracker_db: Path) -> Path:
    """An endpoints.yml for a local stack: action server URL (with the secret header), SQLite tracker store."""
    return write_private(
        path,
        action_endpoint_yaml(action_url)
        + f'tracker_store:\n  type: bot.rasa_ext.tracker_store.PooledSQLTrackerStore\n  dialect: "sqlite"\n  db: "{tracker_db}"\n',
    )
