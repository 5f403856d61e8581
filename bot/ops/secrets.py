"""Shared secrets between the assistant's own processes, generated once into a private file when not set.

- ZHITANG_ACTION_SECRET: Rasa sends it to the action server (`Authorization: Bearer ...`, from endpoints.yml);
  the action server (bot.ops.action_server) refuses any webhook without it.
- ZHITANG_RASA_TOKEN: the gateway sends it to Rasa's REST channel (bot/rasa_ext/channel.py), which then refuses
  requests without it. Local mode (`make run`) sets none; scale-out (bot.ops.scaled) and Kubernetes do.

A generated secret is written with mode 0600 from the start and never replaced, so processes started at the
same moment (the supervisor starts Rasa and the action server together) read the same one.

`python -m bot.ops.secrets exec -- COMMAND...` runs COMMAND with ZHITANG_ACTION_SECRET set (and umask 077): the
Procfile starts Rasa so, as Rasa reads the secret only from its environment (`${ZHITANG_ACTION_SECRET}` in
endpoints.yml). Standard library only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

ACTION_SECRET = "ZHITANG_ACTION_SECRET"
RASA_TOKEN = "ZHITANG_RASA_TOKEN"
ACTION_SECRET_FILE = "action-secret.key"


def secret_file(path: Path) -> str:
    """The secret kept in `path`; created (random, mode 0600, atomically) if there is none yet."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(48) + "\n")
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(draft, path)  # fails if another process made it first: then theirs counts
            except FileExistsError:
                pass
        finally:
            draft.unlink(missing_ok=True)
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise RuntimeError(f"{path} is empty: delete it to generate a new secret")
    return value


def _var_dir() -> Path:
    root = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("ZHITANG_VAR_DIR", root / "var"))


def action_secret(var_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> str:
    """ZHITANG_ACTION_SECRET, else the one generated into <var>/action-secret.key."""
    environ = os.environ if environ is None else environ
    if environ.get(ACTION_SECRET):
        return environ[ACTION_SECRET]
    return secret_file(Path(var_dir or _var_dir()) / ACTION_SECRET_FILE)


def main(argv: list[str] | None = None) -> int:
    """`exec -- COMMAND...`: run COMMAND with the action secret in its environment and umask 077."""
    parser = argparse.ArgumentParser(prog="python -m bot.ops.secrets", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["exec"])
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not command:
        parser.error("nothing to run: python -m bot.ops.secrets exec -- COMMAND...")
    os.umask(0o077)
    env = {**os.environ, ACTION_SECRET: action_secret()}
    os.execvpe(command[0], command, env)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
