"""PostgreSQL and Redis from Debian's packages, started on loopback in a folder of the project (scale-out mode).

`python -m bot.ops.services up|down|status [--dir var/scaled]` is what `make run-scaled` uses; the scale tests
call `Services` directly on free ports in a temporary folder.

Nothing is trusted: PostgreSQL asks every TCP client for a scram-sha-256 password (pg_hba.conf below), and only
the cluster's own OS user reaches the superuser, over the socket inside the 0700 data directory. Redis asks for
a password (`requirepass`, in a 0600 config file). Both passwords are generated once into the services' folder
(`pg-password`, `redis-password`, mode 0600); url() and redis_url carry them.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.ops.secrets import secret_file

PG_USER = "zhitang"
PG_SUPERUSER = "postgres"
DATABASES = ("zhitang_tracker", "zhitang_kb")


def _write_private(path: Path, text: str, owner: pwd.struct_passwd | None = None) -> None:
    """Write a file with mode 0600 from the start (given to `owner` when we are root)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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

    @property
    def pg_password(self) -> str:
        """The `zhitang` role's password, generated once into <base>/pg-password (mode 0600)."""
        return secret_file(self.base / "pg-password")

    @property
    def redis_password(self) -> str:
        """Redis's password, generated once into <base>/redis-password (mode 0600)."""
        return secret_file(self.base / "redis-password")

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL of one of the databases."""
        return f"{driver}://{PG_USER}:{self.pg_password}@127.0.0.1:{self.pg_port}/{database}"

    @property
    def redis_url(self) -> str:
        return self.redis_db_url(0)

    def redis_db_url(self, db: int) -> str:
        """URL of one of Redis's databases (0: free; 1: Rasa's lock store; 2: the gateways' rate limits)."""
        return f"redis://:{self.redis_password}@127.0.0.1:{self.redis_port}/{db}"

    @staticmethod
    def _cluster_user() -> str:
        """The OS user PostgreSQL runs as (and our psql with it): postgres when we are root, else ourselves."""
        return "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def pg_hba(self) -> str:
        """pg_hba.conf: the superuser by peer over the cluster's own socket; everyone else by scram-sha-256."""
        return (
            "# Written by bot/ops/services.py at every start: nothing is trusted.\n"
            "# The superuser only as the cluster's OS user (pg_ident.conf map `owner`), over the socket in the 0700\n"
            "# data directory; the assistant's role over TCP on loopback with its scram-sha-256 password.\n"
            f"local   all   {PG_SUPERUSER}   peer   map=owner\n"
            "host    all   all   127.0.0.1/32   scram-sha-256\n"
            "host    all   all   ::1/128        scram-sha-256\n"
        )

    def pg_ident(self) -> str:
        """pg_ident.conf: the cluster's OS user may act as the superuser."""
        return f"owner   {self._cluster_user()}   {PG_SUPERUSER}\n"

    def up(self) -> None:
        """Create (first time) and start PostgreSQL and Redis; create the role and databases."""
        self.base.mkdir(parents=True, exist_ok=True)
        self._postgres_up()
        self.up_redis()

    def down(self) -> None:
        """Stop both servers (their data stays in `base`)."""
        if (self.pg_dir / "postmaster.pid").exists():
            _as_postgres([pg_bin("pg_ctl"), "-D", str(self.pg_dir), "-m", "fast", "-w", "stop"])
        self.down_redis()

    def down_redis(self) -> None:
        """Stop Redis (its pid file says which process)."""
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
        owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if not (self.pg_dir / "PG_VERSION").exists():
            self.pg_dir.mkdir(parents=True, exist_ok=True)
            if owner is not None:
                for path in (self.base, self.pg_dir):
                    os.chown(path, owner.pw_uid, owner.pw_gid)
                self.base.chmod(0o755)
            # initdb's own pg_hba.conf lets nobody in over TCP; ours (below) replaces it before the first start.
            initdb = [pg_bin("initdb"), "-D", str(self.pg_dir), "-U", PG_SUPERUSER, "-E", "UTF8"]
            _as_postgres([*initdb, "--auth-local=peer", "--auth-host=reject"])
        _write_private(self.pg_dir / "pg_hba.conf", self.pg_hba(), owner)  # also replaces an older cluster's trust
        _write_private(self.pg_dir / "pg_ident.conf", self.pg_ident(), owner)
        if (self.pg_dir / "postmaster.pid").exists():
            _as_postgres([pg_bin("pg_ctl"), "-D", str(self.pg_dir), "reload"])
        else:
            options = f"-c listen_addresses=127.0.0.1 -p {self.pg_port} -k {self.pg_dir} -c max_connections=200"
            options += " -c password_encryption=scram-sha-256"
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
        # The superuser over the socket (peer); SQL with the password goes on stdin, never on a command line.
        psql = [pg_bin("psql"), "-h", str(self.pg_dir), "-p", str(self.pg_port), "-U", PG_SUPERUSER, "-d", "postgres"]
        psql += ["-v", "ON_ERROR_STOP=1", "-tA"]
        exists = _as_postgres([*psql, "-c", f"select 1 from pg_roles where rolname='{PG_USER}'"]).stdout.strip()
        verb = "alter" if exists == "1" else "create"  # alter: an older cluster's role gets the generated password
        sql = f"set password_encryption = 'scram-sha-256';\n{verb} role {PG_USER} login password {_sql_literal(self.pg_password)};\n"
        _as_postgres([*psql, "-f", "-"], input=sql)
        psql += ["-c"]
        for db in DATABASES:
            if _as_postgres([*psql, f"select 1 from pg_database where datname='{db}'"]).stdout.strip() != "1":
                _as_postgres([*psql, f"create database {db} owner {PG_USER}"])

    def redis_conf(self) -> str:
        """Redis's configuration: loopback only, a password, no snapshots (locks and rate limits only)."""
        return (
            "# Written by bot/ops/services.py at every start (mode 0600: it holds the password).\n"
            f"bind 127.0.0.1\nprotected-mode yes\nport {self.redis_port}\ndir {self.redis_dir}\n"
            f"daemonize yes\npidfile {self.redis_dir / 'redis.pid'}\nlogfile {self.redis_dir / 'redis.log'}\n"
            f'save ""\nrequirepass {self.redis_password}\n'
        )

    def _redis_takes_password(self) -> bool:
        """Whether a Redis answers on our port and accepts our password (not an older one started without)."""
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=2) as conn:
                password = self.redis_password.encode()
                conn.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(password), password))
                return conn.recv(64).startswith(b"+OK")
        except OSError:
            return False

    def up_redis(self) -> None:
        """Create (first time) and start Redis alone."""
        if not shutil.which("redis-server"):
            raise RuntimeError("Redis not installed: apt-get install -y redis-server")
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        pidfile = self.redis_dir / "redis.pid"
        if pidfile.exists():
            if self._redis_takes_password():
                return
            self.down_redis()  # started before passwords (or stale): start it again with ours
            pidfile.unlink(missing_ok=True)
        conf = self.redis_dir / "redis.conf"
        _write_private(conf, self.redis_conf())
        subprocess.run(["redis-server", str(conf)], check=True)
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
