"""Export every entry to YAML (for review in git) and import YAML: a dry run shows the differences first."""

from __future__ import annotations

from datetime import datetime

from sqladmin import expose
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from bot.web.admin.base import StaffPage, done, page, read, require_editor, write
from bot.web.admin.security import can_edit
from bot.web.admin.texts import path_label
from kb.exchange import MAX_IMPORT_BYTES, export_yaml, import_yaml

MAX_YAML = MAX_IMPORT_BYTES  # the CSRF middleware lets a signed-in editor's import form be this large (plus the form)


class ExchangeView(StaffPage, title="导入导出 Import / export", icon="fa-solid fa-file-arrow-down"):
    """YAML in and out: the whole knowledge base as one reviewable file."""

    @expose("/exchange", methods=["GET"], identity="exchange")
    async def exchange(self, request: Request) -> Response:
        """The page: a download button, and an upload form for editors."""
        return await page(self, request, "admin/exchange.html", can_edit=can_edit(request))

    @expose("/exchange/export.yml", methods=["GET"], identity="exchange-export")
    async def export(self, request: Request) -> Response:
        """Download every entry as YAML."""
        text = await read(self, export_yaml)
        name = f"zhitang-kb-{datetime.now():%Y%m%d-%H%M}.yml"
        return Response(
            text,
            media_type="application/x-yaml; charset=utf-8",
            # The whole KB with staff-only details: never kept by a browser's or a proxy's cache.
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    @expose("/exchange/import-yaml", methods=["POST"], identity="exchange-import")
    async def import_(self, request: Request) -> Response:
        """Dry run first (the differences, nothing changed); the confirm button applies the same text.

        The file is checked (size, anchors, nesting, types) and compared in a worker thread, off the event loop.
        """
        user = require_editor(request)
        form = await request.form(max_part_size=MAX_YAML + 1)  # the confirm form sends the text as a field
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            raw = await upload.read(MAX_YAML + 1)
        else:
            raw = str(form.get("text") or "").encode("utf-8")
        if len(raw) > MAX_YAML:
            return await page(self, request, "admin/message.html", 413, message="文件太大 / The file is too large")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return await page(self, request, "admin/message.html", 400, message="文件须为 UTF-8 / Use UTF-8")
        apply, force = form.get("apply") == "1", form.get("force") == "1"
        report = await write(self, import_yaml, text, user, not apply, force)
        if apply and report.applied:
            counts = f"新建 created {len(report.ids('create'))}, 修改 updated {len(report.ids('update'))}"
            return done(request, request.url_for("admin:list", identity="entry"), f"已导入 Imported: {counts}")
        return await page(
            self,
            request,
            "admin/exchange_result.html",
            200 if report.ok else 409,
            report=report,
            text=text,
            force=force,
            path_label=path_label,
        )
