"""A new year's work report in the admin: paste or upload its text, review the proposals (the old fact beside
the new sentence, the new figure highlighted), accept them one by one. Nothing changes before an acceptance;
each acceptance is one revision under the staff member's name (kb.reports.accept, through kb.edits)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqladmin import expose
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from bot.web.admin.base import StaffPage, page, read, require_editor, write
from bot.web.admin.security import can_edit
from bot.web.admin.texts import TOPICS
from kb.edits import StaffError
from kb.models import Entry, Report
from kb.reports import MAX_REPORT_CHARS, Plan, accept, accept_updates, propose
from kb.shape import Pair

MAX_UPLOAD = MAX_REPORT_CHARS * 4  # bytes: UTF-8 Chinese takes three a character


def _reports(session: Session) -> list[Report]:
    return list(session.scalars(select(Report).order_by(Report.year.desc())))


def _titles(session: Session) -> dict[str, str]:
    return {e.id: f"{e.title_zh} / {e.title_en}" for e in session.scalars(select(Entry))}


class ReportImportView(StaffPage, title="新年度报告 New year's report", icon="fa-solid fa-file-import"):
    """Import a work report with review."""

    @expose("/reports", methods=["GET"], identity="reports")
    async def reports(self, request: Request) -> Response:
        """The reports in the KB, and the form to bring in a new one (editors)."""
        known = await read(self, _reports)
        return await page(self, request, "admin/reports.html", reports=known, can_edit=can_edit(request))

    @expose("/reports/review", methods=["POST"], identity="reports-review")
    async def review(self, request: Request) -> Response:
        """The proposals of the posted report (nothing changes)."""
        require_editor(request)
        form = await request.form(max_part_size=MAX_UPLOAD + 1)
        try:
            text, year, title, published = await _posted(form)
            plan = await read(self, propose, text, year, title, published)
        except StaffError as err:
            return await page(self, request, "admin/message.html", 400, message=str(err))
        return await self._review_page(request, plan)

    @expose("/reports/accept", methods=["POST"], identity="reports-accept")
    async def accept(self, request: Request) -> Response:
        """Accept one proposal (or every update that needs no English written), then the proposals left."""
        user = require_editor(request)
        form = await request.form(max_part_size=MAX_UPLOAD + 1)
        try:
            text, year, title, published = await _posted(form)
        except StaffError as err:
            return await page(self, request, "admin/message.html", 400, message=str(err))
        chosen = str(form.get("accept") or "")
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}

        def work(session: Session) -> str:
            plan = propose(session, text, year, title, published)
            if chosen == "updates":
                accepted, _ = accept_updates(session, plan, user)
                return f"已接受 {len(accepted)} 条更新 / Accepted {len(accepted)} updates"
            proposal = plan.get(chosen)
            entry = _new_entry(fields, chosen) if proposal.kind == "new_entry" else None
            accept(session, plan, chosen, user, fields.get(f"en_{chosen}"), fields.get(f"figure_en_{chosen}"), entry)
            return f"已接受 Accepted: {proposal.quote}"

        try:
            message = await write(self, work)
        except StaffError as err:
            try:
                plan = await read(self, propose, text, year, title, published)
            except StaffError:
                return await page(self, request, "admin/message.html", 400, message=str(err))
            return await self._review_page(request, plan, 409, error=str(err), fields=fields)
        plan = await read(self, propose, text, year, title, published)
        return await self._review_page(request, plan, message=message)

    async def _review_page(self, request: Request, plan: Plan, status: int = 200, **context: Any) -> Response:
        titles = await read(self, _titles)
        return await page(
            self, request, "admin/report_review.html", status, plan=plan, titles=titles, topics=TOPICS, **context
        )


async def _posted(form: FormData) -> tuple[str, int, Pair | None, date | None]:
    """The report's text (a .txt upload or the pasted text), year, title and date, or StaffError."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        if not upload.filename.lower().endswith(".txt"):
            raise StaffError("请上传 .txt 文本文件 / Upload a .txt text file")
        raw = await upload.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise StaffError("文件太大 / The file is too large")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise StaffError("文件须为 UTF-8 文本 / The file must be UTF-8 text") from err
    else:
        text = str(form.get("text") or "")
    try:
        year = int(str(form.get("year") or "").strip())
    except ValueError as err:
        raise StaffError("请填写年份(如报告所写)/ Give the report's year") from err
    zh, en = str(form.get("title_zh") or "").strip(), str(form.get("title_en") or "").strip()
    try:
        published = date.fromisoformat(str(form.get("published") or "").strip()) if form.get("published") else None
    except ValueError as err:
        raise StaffError("发布日期格式:YYYY-MM-DD / The publication date: YYYY-MM-DD") from err
    return text, year, Pair(zh=zh, en=en) if zh and en else None, published


def _new_entry(fields: dict[str, str], proposal_id: str) -> dict[str, Any]:
    """A new entry's title, summary and topic as the review form posts them for one proposal."""

    def get(name: str) -> str:
        return fields.get(f"{name}_{proposal_id}", "").strip()

    return {
        "topic": get("topic"),
        "title": {"zh": get("title_zh"), "en": get("title_en")},
        "summary": {"zh": get("summary_zh"), "en": get("summary_en")},
    }
