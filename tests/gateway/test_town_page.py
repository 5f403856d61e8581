"""The town page shows the KB's figures with their years and the newest report's title (bot/web/gateway/town_page.py):
after staff accept a later report, the page shows its figures; without the KB database it still opens."""

from __future__ import annotations

from pathlib import Path

from kb.db import session_factory
from kb.reports import accept_updates, propose

MADE_UP = Path(__file__).resolve().parents[1] / "fixtures" / "made-up-test-report-2023.txt"


async def test_the_town_page_shows_the_reports_figures_with_its_year_and_title(kb_url, client):
    page = (await client.get("/")).text
    assert "2022年民生数据" in page and "1428.35" in page and "21389" in page
    assert "《2022年支塘镇政府工作报告》" in page


async def test_after_a_later_report_is_accepted_the_town_page_shows_its_figures(kb_url, client):
    with session_factory(kb_url)() as session, session.begin():
        accepted, _ = accept_updates(session, propose(session, MADE_UP.read_text(encoding="utf-8"), 2023), "cli:test")
    assert accepted
    page = (await client.get("/")).text
    assert "2023年民生数据" in page and "1502.6" in page and "1428.35" not in page
    assert "《2023年支塘镇政府工作报告》" in page


async def test_without_the_kb_database_the_town_page_opens_without_figures(client, monkeypatch, tmp_path):
    from bot import settings

    monkeypatch.setattr(settings, "KB_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'kb.sqlite3'}")
    response = await client.get("/")
    assert response.status_code == 200
    assert "民生数据" not in response.text and "镇政府工作报告" in response.text
