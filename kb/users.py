"""Staff accounts of the admin: argon2 password hashes, roles, the first admin."""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import ROLES, StaffUser

MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"[\w.@-]{2,100}")
_hasher = PasswordHasher()


class UserError(ValueError):
    """An account change refused (bad name, short password, unknown role, name taken)."""


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no such user")


def hash_password(password: str) -> str:
    """The argon2id hash of a password (refuses one shorter than MIN_PASSWORD_LENGTH)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 / The password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
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
    user.password_hash = hash_password(password)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active account whose password this is, or None (as slow for an unknown name as for a wrong password)."""
    user = get_user(session, username)
    if user is None or not user.active:
        try:
            _hasher.verify(_dummy_hash(), password or "")
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.flush()
    return user


def active_user(session: Session, username: str | None) -> StaffUser | None:
    """The account of a signed-in session, if it still exists and is active."""
    user = get_user(session, username or "")
    return user if user is not None and user.active else None


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
