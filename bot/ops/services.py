"""PostgreSQL and Redis from Debian's packages, started on loopback in a folder of the project (scale-out mode).

`python -m bot.ops.services up|down|status [--dir var/scaled]` is what `make run-scaled` uses; the scale tests
call `Services` directly on free ports in a temporary folder.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PG_USER = "zhitang"
PG_PASSWORD = "zhitang-local"  # loopback-only, throw-away cluster; production gets its own from a secret
DATABASES = ("zhitang_tracker", "zhitang_kb")


def pg_bin(name: str) -> str:
    """Path of a PostgreSQL server program (Debian keeps them out of PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL server not installed: apt-get install -y postgresql")
    return found[-1]


def _as_postgres(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command as the `postgres` user when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done


@dataclass
class Services:
    """A PostgreSQL cluster and a Redis server on 127.0.0.1, with their files under `base`."""

    base: Path
    pg_port: int = 5433
    redis_port: int = 6380

    @property
    def pg_dir(self) -> Path:
        return self.base / "postgres"

    @property
    def redis_dir(self) -> Path:
        return self.base / "redis"

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL of one of the databases."""
        return f"{driver}://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.pg_port}/{database}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def up(self) -> None:
        """Create (first time) and start PostgreSQL and Redis; create the role and databases."""
        self.base.mkdir(parents=True, exist_ok=True)
        self._postgres_up()
        self._redis_up()

    def down(self) -> None:
        """Stop both servers (their data stays in `base`)."""
        if (self.pg_dir / "postmaster.pid").exists():
            _as_postgres([pg_bin("pg_ctl"), "-D", str(self.pg_dir), "-m", "fast", "-w", "stop"])
        pidfile = self.redis_dir / "redis.pid"
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().strip()), 15)
            except (OSError, ValueError):
                pass
            for _ in range(50):
                if not pidfile.exists():
                    break
                time.sleep(0.1)

    def _postgres_up(self) -> None:
        if not (self.pg_dir / "PG_VERSION").exists():
            self.pg_dir.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                pw = pwd.getpwnam("postgres")
                for path in (self.base, self.pg_dir):
                    os.chown(path, pw.pw_uid, pw.pw_gid)
                self.base.chmod(0o755)
            _as_postgres([pg_bin("initdb"), "-D", str(self.pg_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8"])
        if not (self.pg_dir / "postmaster.pid").exists():
            options = f"-c listen_addresses=127.0.0.1 -p {self.pg_port} -k {self.pg_dir} -c max_connections=200"
            _as_postgres(
                [
                    pg_bin("pg_ctl"),
                    "-D",
                    str(self.pg_dir),
                    "-o",
                    options,
                    "-l",
                    str(self.pg_dir / "server.log"),
                    "-w",
                    "start",
                ]
            )
        psql = [pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-tAc"]
        if _as_postgres([*psql, f"select 1 from pg_roles where rolname='{PG_USER}'"]).stdout.strip() != "1":
            _as_postgres([*psql, f"create role {PG_USER} login password '{PG_PASSWORD}'"])
        for db in DATABASES:
            if _as_postgres([*psql, f"select 1 from pg_database where datname='{db}'"]).stdout.strip() != "1":
                _as_postgres([*psql, f"create database {db} owner {PG_USER}"])

    def _redis_up(self) -> None:
        if not shutil.which("redis-server"):
            raise RuntimeError("Redis not installed: apt-get install -y redis-server")
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        if (self.redis_dir / "redis.pid").exists():
            return
        subprocess.run(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--dir",
                str(self.redis_dir),
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.redis_dir / "redis.pid"),
                "--logfile",
                str(self.redis_dir / "redis.log"),
                "--save",
                "",
            ],
            check=True,
        )
        for _ in range(50):
            if (self.redis_dir / "redis.pid").exists():
                return
            time.sleep(0.1)
        raise RuntimeError("redis did not start: " + (self.redis_dir / "redis.log").read_text(errors="replace")[-500:])


def main(argv: list[str] | None = None) -> int:
    """Start, stop or describe the scale-out services."""
    parser = argparse.ArgumentParser(prog="python -m bot.ops.services", description=__doc__)
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=Path("var/scaled"))
    parser.add_argument("--pg-port", type=int, default=5433)
    parser.add_argument("--redis-port", type=int, default=6380)
    args = parser.parse_args(argv)
    services = Services(args.dir.resolve(), args.pg_port, args.redis_port)
    if args.command == "up":
        services.up()
    else:
        services.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
