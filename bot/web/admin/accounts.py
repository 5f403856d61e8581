"""Staff accounts (admins only): add an account, change its role, switch it off, set a new password."""

from __future__ import annotations

from typing import Any

from sqladmin import Flash
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from wtforms import Form

from bot.web.admin.base import StaffView, write
from bot.web.admin.forms import UserForm
from bot.web.admin.security import current_user, keep_signed_in
from bot.web.admin.texts import ROLES, local_time
from kb.models import StaffUser
from kb.users import UserError, create_user, hash_password, is_locked


def _save_user(session: Session, user_id: int, data: dict[str, Any], me: str) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise UserError("没有这个账号 / No such account")
    role, active = data.get("role") or user.role, bool(data.get("active"))
    if role not in ROLES:
        raise UserError("未知角色 / Unknown role")
    demoted = user.role == "admin" and (role != "admin" or not active)
    if demoted:
        admins = session.execute(
            select(func.count(StaffUser.id)).where(StaffUser.role == "admin", StaffUser.active.is_(True))
        ).scalar_one()
        if admins <= 1:
            raise UserError("至少要保留一个启用的管理员 / Keep at least one active admin")
    if user.username == me and not active:
        raise UserError("不能停用自己的账号 / You cannot switch off your own account")
    name = str(data.get("username") or "").strip()
    if name != user.username:
        raise UserError("用户名不能修改 / The username cannot change")
    user.role, user.active = role, active  # a new role or state ends the account's sessions (StaffUser)
    if data.get("password"):
        user.password_hash = hash_password(str(data["password"]))  # so does a new password
        user.failed_logins, user.locked_until = 0, None  # and it unlocks the account
    session.flush()
    return user


class StaffUserView(StaffView, model=StaffUser):
    """Who may sign in, and what they may do (viewer reads, editor changes entries, admin also manages accounts)."""

    name = "工作人员账号 Staff account"
    name_plural = "工作人员账号 Staff accounts"
    icon = "fa-solid fa-users"
    form = UserForm
    column_list = [StaffUser.username, StaffUser.role, StaffUser.active, StaffUser.created_at, StaffUser.locked_until]
    column_details_list = column_list  # never the password hash
    column_labels = {
        StaffUser.username: "用户名 Username",
        StaffUser.role: "角色 Role",
        StaffUser.active: "启用 Active",
        StaffUser.created_at: "创建时间 Created",
        StaffUser.locked_until: "锁定至(设新密码可解锁) Locked until (a new password unlocks)",
    }
    column_formatters = {
        StaffUser.role: lambda m, a: ROLES.get(m.role, m.role),
        StaffUser.active: lambda m, a: "✔" if m.active else "✘",
        StaffUser.locked_until: lambda m, a: local_time(m.locked_until) if is_locked(m) else "",
    }
    column_formatters_detail = column_formatters
    column_searchable_list = [StaffUser.username]
    column_default_sort = [(StaffUser.username, False)]

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        """The account form (never shows the password hash)."""
        return UserForm

    async def get_form_data_for_edit(self, obj: StaffUser) -> dict[str, Any]:
        """The account's name, role and state; the password field starts blank."""
        return {"username": obj.username, "role": obj.role, "active": obj.active, "password": ""}

    async def insert_model(self, request: Request, data: dict[str, Any]) -> StaffUser:
        """Add an account (argon2-hashed password)."""
        user = await write(self, create_user, data.get("username"), data.get("password") or "", data.get("role"))
        Flash.success(request, f"已创建账号 {user.username} / Account {user.username} created")
        return user

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> StaffUser:
        """Change an account's role, state or password (which ends its sessions; the admin's own goes on here)."""
        user = await write(self, _save_user, int(pk), data, current_user(request))
        keep_signed_in(request, user.id, user.session_version)
        Flash.success(request, f"已保存账号 {user.username} / Account {user.username} saved")
        return user
