"""Scale-out mode on one machine: PostgreSQL (tracker store + KB), Redis lock store, N Rasa replicas with
their action servers, and the gateway balancing over them. `make run-scaled` runs `python -m bot.ops.scaled`.

As in production, every internal endpoint asks for a secret: PostgreSQL and Redis their generated passwords
(bot.ops.services), the action servers Rasa's action secret, Rasa's REST channel the gateway's token. The two
secrets are ZHITANG_ACTION_SECRET and ZHITANG_RASA_TOKEN when set, else generated once into the stack's folder
(`action-secret.key`, `rasa-token.key`, mode 0600).

Every process is supervised (bot.ops.supervisor): one that dies (a replica killed with -9, an action server
that crashes) is started again with backoff while the rest keep serving; the gateway sends the dead replica's
conversations, and a request that was in flight on it, to another replica meanwhile. `make test-scale` kills a
replica of this same stack under load.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bot.ops import launcher
from bot.ops.secrets import ACTION_SECRET, RASA_TOKEN, secret_file
from bot.ops.services import PG_USER, Services
from bot.ops.supervisor import Supervisor


def write_scaled_endpoints(path: Path, action_url: str, services: Services) -> Path:
    """endpoints.yml of one replica (mode 0600: it holds the passwords): its action server with the secret
    header, the shared PostgreSQL tracker store, Redis locks."""
    return launcher.write_private(
        path,
        launcher.action_endpoint_yaml(action_url)
        + "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n"
        f"  port: {services.pg_port}\n  db: zhitang_tracker\n  username: {PG_USER}\n"
        f'  password: "{services.pg_password}"\n'
        f"lock_store:\n  type: redis\n  url: 127.0.0.1\n  port: {services.redis_port}\n  db: 1\n"
        f'  password: "{services.redis_password}"\n',
    )


@dataclass
class ScaledStack:
    """Everything of the scale-out mode, started in order and stopped in reverse."""

    base: Path
    replicas: int = 2
    pg_port: int = 5433
    redis_port: int = 6380
    rasa_ports: list[int] = field(default_factory=list)
    action_ports: list[int] = field(default_factory=list)
    gateway_port: int = 8000
    model: str = "models"
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[launcher.Process] = field(default_factory=list)
    supervise: bool = True  # restart processes that die (with backoff) once the stack is up
    services: Services = field(init=False)  # PostgreSQL and Redis, made from base and the ports
    supervisor: Supervisor | None = field(init=False, default=None)
    _watch: threading.Thread | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.rasa_ports = self.rasa_ports or [5005 + i for i in range(self.replicas)]
        self.action_ports = self.action_ports or [5055 + i for i in range(self.replicas)]
        self.services = Services(self.base, self.pg_port, self.redis_port)

    @property
    def kb_url(self) -> str:
        return self.services.url("zhitang_kb")

    def rasa(self, i: int) -> launcher.Process:
        """Replica i's Rasa process."""
        return next(p for p in self.processes if p.name == f"rasa{i + 1}")

    def env(self, **extra: str) -> dict[str, str]:
        """Environment of every process of the stack (no internal secret: see the three below)."""
        tracker = self.services.url("zhitang_tracker")  # the gateway purges and deletes conversations there
        env = launcher.base_env(
            ZHITANG_KB_DATABASE_URL=self.kb_url,
            ZHITANG_TRACKER_DATABASE_URL=tracker,
            ZHITANG_RATE_LIMIT_STORAGE=self.services.redis_db_url(2),  # one count for every gateway
            **self.extra_env,
        )
        for name in (ACTION_SECRET, RASA_TOKEN):
            env.pop(name, None)
        return {**env, **extra}

    def _secret(self, name: str, filename: str) -> str:
        """The stack's secret: set in extra_env or the environment, else generated into its folder."""
        return self.extra_env.get(name) or os.environ.get(name) or secret_file(self.base / filename)

    def actions_env(self) -> dict[str, str]:
        """An action server's environment: the secret it asks Rasa for."""
        return self.env(**{ACTION_SECRET: self._secret(ACTION_SECRET, "action-secret.key")})

    def rasa_env(self) -> dict[str, str]:
        """A Rasa replica's environment: the action secret it sends, the token its REST channel asks for."""
        return self.env(
            **{
                ACTION_SECRET: self._secret(ACTION_SECRET, "action-secret.key"),
                RASA_TOKEN: self._secret(RASA_TOKEN, "rasa-token.key"),
            }
        )

    def gateway_env(self, **extra: str) -> dict[str, str]:
        """The gateway's environment: the token it sends to Rasa."""
        return self.env(**{RASA_TOKEN: self._secret(RASA_TOKEN, "rasa-token.key")}, **extra)

    def up(self) -> None:
        """PostgreSQL and Redis, the KB, then each replica's action server and Rasa, then the gateway."""
        self.services.up()
        for command in (["build"], ["ensure-admin"]):  # the KB (migrated) and the first staff admin, if configured
            subprocess.run(
                [str(launcher.APP_PYTHON), "-m", "kb", *command], cwd=launcher.ROOT, env=self.env(), check=True
            )
        logs = self.base / "logs"
        for i in range(self.replicas):
            actions = launcher.action_server(self.action_ports[i], self.actions_env(), logs / f"actions{i + 1}.log")
            actions.name = f"actions{i + 1}"
            self.processes.append(actions.start())
        for i in range(self.replicas):  # one after the other: the first creates the tracker tables
            endpoints = write_scaled_endpoints(
                self.base / f"endpoints-rasa{i + 1}.yml",
                f"http://127.0.0.1:{self.action_ports[i]}/webhook",
                self.services,
            )
            rasa = launcher.rasa_server(
                self.rasa_ports[i], endpoints, self.rasa_env(), logs / f"rasa{i + 1}.log", self.model
            )
            rasa.name = f"rasa{i + 1}"
            self.processes.append(rasa.start())
            rasa.wait_until_up()
        for p in self.processes:
            p.wait_until_up()
        urls = ",".join(f"http://127.0.0.1:{port}" for port in self.rasa_ports)
        gateway = launcher.gateway(self.gateway_port, self.gateway_env(ZHITANG_RASA_URLS=urls), logs / "gateway.log")
        self.processes.append(gateway.start())
        gateway.wait_until_up()
        if self.supervise:
            self.supervisor = Supervisor(self.processes)
            self._watch = threading.Thread(target=self.supervisor.run, name="supervisor", daemon=True)
            self._watch.start()

    def restart(self, process: launcher.Process) -> None:
        """Start a stopped process again and wait until it answers."""
        process.start()
        process.wait_until_up()

    def down(self) -> None:
        """Stop supervising, stop the processes, then PostgreSQL and Redis (their data stays)."""
        if self.supervisor is not None:
            self.supervisor.stopping.set()
        if self._watch is not None:
            self._watch.join(10)
        for p in reversed(self.processes):
            p.stop()
        self.services.down()


def main(argv: list[str] | None = None) -> int:
    """Run the scale-out stack in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m bot.ops.scaled", description=__doc__)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=launcher.ROOT / "var" / "scaled")
    args = parser.parse_args(argv)
    stack = ScaledStack(args.dir.resolve(), replicas=args.replicas)
    stopping = threading.Event()

    def _stop(*_):
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.up()
        rasa = ", ".join(f"http://127.0.0.1:{p}" for p in stack.rasa_ports)
        print(f"scale-out mode up: widget http://localhost:{stack.gateway_port}, Rasa replicas {rasa}", flush=True)
        print("a process that dies is started again (with backoff); Ctrl-C stops everything", flush=True)
        while not stopping.wait(1):
            pass
    finally:
        stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
