"""Finding 11 (issue 10): the scale-out PostgreSQL and Redis trust nobody, even on loopback.

PostgreSQL asks every TCP client for a scram-sha-256 password (the superuser is not reachable over TCP at all);
Redis asks for its password. Both passwords are generated into the services' folder, readable by its owner only.
Run by `make test-scale` (PostgreSQL and Redis from Debian's packages, in a temporary folder).
"""

from __future__ import annotations

import stat

import psycopg
import pytest
import redis
from scale_helpers import running

from bot.ops import launcher
from bot.ops.services import PG_USER, Services, _as_postgres, pg_bin


@pytest.fixture(scope="module")
def services():
    yield from running("zhitang-auth-", lambda base: Services(base, launcher.free_port(), launcher.free_port()))


def connect(services: Services, user: str, password: str | None) -> psycopg.Connection:
    kwargs = {"password": password} if password is not None else {}
    return psycopg.connect(
        host="127.0.0.1", port=services.pg_port, dbname="zhitang_kb", user=user, connect_timeout=5, **kwargs
    )


def test_the_assistants_role_gets_in_with_its_generated_password(services: Services):
    with connect(services, PG_USER, services.pg_password) as db:
        assert db.execute("select current_user").fetchone() == (PG_USER,)


@pytest.mark.parametrize("password", [None, "", "zhitang-local", "wrong"])
def test_postgresql_refuses_the_role_without_its_password(services: Services, password: str | None):
    """No trust: neither no password, nor the old fixed one, nor a guess."""
    with pytest.raises(psycopg.OperationalError, match="password"):
        connect(services, PG_USER, password).close()


def test_the_superuser_cannot_log_in_over_tcp(services: Services):
    with pytest.raises(psycopg.OperationalError):
        connect(services, "postgres", None).close()
    with pytest.raises(psycopg.OperationalError):
        connect(services, "postgres", services.pg_password).close()


def test_passwords_are_stored_as_scram_sha_256(services: Services):
    psql = [pg_bin("psql"), "-h", str(services.pg_dir), "-p", str(services.pg_port), "-U", "postgres", "-d", "postgres"]
    stored = _as_postgres([*psql, "-tAc", f"select rolpassword from pg_authid where rolname = '{PG_USER}'"]).stdout
    assert stored.startswith("SCRAM-SHA-256$")
    hba = (services.pg_dir / "pg_hba.conf").read_text(encoding="utf-8")
    assert "trust" not in hba.split("\n", 3)[-1]  # not in any rule (the comment says "nothing is trusted")


def test_redis_refuses_commands_without_the_password(services: Services):
    anonymous = redis.Redis(host="127.0.0.1", port=services.redis_port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=services.redis_port, password="wrong", socket_timeout=5).ping()
    assert redis.Redis.from_url(services.redis_url, socket_timeout=5).ping() is True


def test_the_generated_passwords_and_redis_config_are_private(services: Services):
    for path in (services.base / "pg-password", services.base / "redis-password", services.redis_dir / "redis.conf"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_restarting_keeps_the_same_passwords(services: Services):
    services.down()
    services.up()
    with connect(services, PG_USER, services.pg_password) as db:
        assert db.execute("select 1").fetchone() == (1,)
    assert redis.Redis.from_url(services.redis_url, socket_timeout=5).ping() is True
