"""Staff accounts of the admin: argon2 password hashes, roles, the first admin, sessions and sign-in locks.

Passwords have at least MIN_PASSWORD_LENGTH characters and are not common ones (kb/common-passwords.txt).
An account locks after settings.ADMIN_LOCK_AFTER wrong passwords in a row, for a delay that doubles with each
further failure. Its sessions end when its session_version moves (see StaffUser), which sign-out does here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import settings
from kb.models import ROLES, StaffUser, utcnow

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # a passphrase fits; a megabyte pasted by mistake (or on purpose) does not
COMMON_PASSWORDS = Path(__file__).resolve().parent / "common-passwords.txt"
_USERNAME = re.compile(r"[\w.@-]{2,100}")
_PADDING = re.compile(r"^[\d\W_]+|[\d\W_]+$")  # digits and symbols added before or after a word
_REPEATED = re.compile(r"(.+?)\1+", re.S)  # "abcabcabcabc", "aaaaaaaaaaaa"
_hasher = PasswordHasher()


class UserError(ValueError):
    """An account change refused (bad name, weak password, unknown role, name taken)."""


@dataclass
class SignIn:
    """The outcome of a sign-in: the account, or None; and when refused because the account is locked, the
    seconds until it may try again (0 otherwise)."""

    user: StaffUser | None
    retry_after: int = 0


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no such user")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The common passwords no account may have (lower case)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str) -> str | None:
    """Why a password may not be used (bilingual), or None: too short or too long, or a common one (in any
    case, with digits or symbols added before or after, or one short piece repeated)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 / The password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"密码最多 {MAX_PASSWORD_LENGTH} 个字符 / The password may have at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    core = _PADDING.sub("", lowered)
    common = common_passwords()
    if (
        lowered in common
        or (len(core) >= 4 and core in common)
        or any(piece and _REPEATED.fullmatch(piece) for piece in (lowered, core))
    ):
        return (
            "密码太常见(或只是常见密码加数字、符号或重复),请换一个更长、不常见的 / This password is too common "
            "(or a common one with digits, symbols or repeats): choose a longer, unusual one"
        )
    return None


def hash_password(password: str) -> str:
    """The argon2id hash of a password (refuses a short or common one: UserError)."""
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    return _hasher.hash(password)


def get_user(session: Session, username: str) -> StaffUser | None:
    """An account by name (active or not), or None."""
    return session.scalar(select(StaffUser).where(StaffUser.username == (username or "").strip()))


def create_user(session: Session, username: str, password: str, role: str) -> StaffUser:
    """Add a staff account with a role: viewer, editor or admin."""
    username = (username or "").strip()
    if not _USERNAME.fullmatch(username):
        raise UserError("用户名为 2-100 个字母、数字或 . @ - _ / A username is 2-100 letters, digits or . @ - _")
    if role not in ROLES:
        raise UserError(f"角色应为 {', '.join(ROLES)} / The role must be one of {', '.join(ROLES)}")
    if get_user(session, username) is not None:
        raise UserError(f"用户名已存在:{username} / The username is taken: {username}")
    user = StaffUser(username=username, password_hash=hash_password(password), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> StaffUser:
    """Give an account a new password."""
    user = get_user(session, username)
    if user is None:
        raise UserError(f"没有这个用户:{username} / No such user: {username}")
    user.password_hash = hash_password(password)  # ends the account's sessions (StaffUser)
    user.failed_logins, user.locked_until = 0, None
    session.flush()
    return user


def _aware(moment: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives it back without its zone)."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def is_locked(user: StaffUser, now: datetime | None = None) -> bool:
    """Whether the account refuses sign-in at the moment."""
    locked_until = _aware(user.locked_until)
    return locked_until is not None and locked_until > (now or utcnow())


def lock_seconds(failures: int) -> int:
    """How long an account with this many wrong passwords in a row refuses sign-in (0: not locked)."""
    over = failures - settings.ADMIN_LOCK_AFTER
    if over < 0:
        return 0
    return min(settings.ADMIN_LOCK_SECONDS * 2 ** min(over, 32), settings.ADMIN_LOCK_MAX_SECONDS)


def sign_in(session: Session, username: str, password: str, now: datetime | None = None) -> SignIn:
    """Check a password, counting failures: a locked account is refused without a look at the password.

    As slow for an unknown or switched-off name as for a wrong password; unknown names lock nothing.
    """
    now = now or utcnow()
    user = get_user(session, username)
    if user is None or not user.active:
        try:
            _hasher.verify(_dummy_hash(), password or "")
        except VerificationError:
            pass
        return SignIn(None)
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        return SignIn(None, math.ceil((locked_until - now).total_seconds()))
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        user.failed_logins = StaffUser.failed_logins + 1  # counted in the database: no lost count when two race
        session.flush()
        session.refresh(user, ["failed_logins"])
        delay = lock_seconds(user.failed_logins)
        user.locked_until = now + timedelta(seconds=delay) if delay else None
        session.flush()
        return SignIn(None, delay)
    user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        # The same password, hashed anew: not a password change, so the account's sessions go on.
        session.execute(
            update(StaffUser).where(StaffUser.id == user.id).values(password_hash=_hasher.hash(password)),
            execution_options={"synchronize_session": False},
        )
    session.flush()
    return SignIn(user)


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active, unlocked account whose password this is, or None (see sign_in)."""
    return sign_in(session, username, password).user


def active_user(session: Session, username: str | None) -> StaffUser | None:
    """The account of a signed-in session, if it still exists and is active."""
    user = get_user(session, username or "")
    return user if user is not None and user.active else None


def session_user(session: Session, user_id: object, version: object) -> StaffUser | None:
    """The account a session cookie names (by id and session version), if it is active and nothing ended the
    session since: a sign-out, a new password, a new role or switching the account off moves the version."""
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    user = session.get(StaffUser, user_id)
    return user if user is not None and user.active and user.session_version == version else None


def end_sessions(session: Session, user_id: object) -> None:
    """End every session of an account (sign-out: on every computer)."""
    user = session.get(StaffUser, user_id) if isinstance(user_id, int) else None
    if user is not None:
        user.end_sessions()
        session.flush()


def has_admin(session: Session) -> bool:
    """True when an active admin account exists."""
    return session.scalar(select(StaffUser.id).where(StaffUser.role == "admin", StaffUser.active.is_(True))) is not None


def ensure_admin(session: Session, username: str, password: str) -> StaffUser | None:
    """Create the first admin unless an active admin exists; the new account, or None when there was one."""
    if has_admin(session):
        return None
    if get_user(session, username) is not None:
        raise UserError(
            f"用户 {username} 已存在但不是管理员 / User {username} exists and is not an admin: "
            f"use `python -m kb create-user` with another name"
        )
    return create_user(session, username, password, "admin")
