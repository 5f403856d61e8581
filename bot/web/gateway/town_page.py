"""What the town page shows of the KB: the newest report's title and a few of its figures (town_page.yml),
each with its own year, read when the page is asked for. Nothing here names a year: after staff accept a later
report, the page shows its figures. When the KB database does not answer, the page shows no figures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.exc import SQLAlchemyError

from kb.db import session_factory
from kb.queries import entries_by_id, kb_meta

SHOWN = yaml.safe_load((Path(__file__).with_name("town_page.yml")).read_text(encoding="utf-8"))["figures"]
_NUMBER = re.compile(r"^([\d.,]+)(.*)$")


def town_page() -> dict[str, Any]:
    """{"title": the newest report's Chinese title or None, "year": the figures' newest year or None, "older":
    the years of figures from earlier reports, "figures": [{"number", "unit", "label", "year"}]}: what the
    template needs."""
    try:
        with session_factory()() as session:
            meta = kb_meta(session)
            entries = entries_by_id(session, {item["entry"] for item in SHOWN})
    except SQLAlchemyError:
        return {"title": None, "year": None, "older": [], "figures": []}
    figures = []
    for item in SHOWN:
        facts = (entries.get(item["entry"]) or {}).get("facts", [])
        fact = next((f for f in facts if (f.get("series") or f["key"]) == item["fact"]), None)
        found = _NUMBER.match(str(fact.get("figure") or "")) if fact else None
        if fact and found:
            figures.append({"number": found[1], "unit": found[2], "label": item["label"], "year": fact.get("report")})
    years = [f["year"] for f in figures if f["year"]]
    newest = max(years) if years else None
    return {
        "title": (meta["title"] or {}).get("zh"),
        "year": newest,
        "older": sorted({y for y in years if y != newest}),  # figures a later report did not update
        "figures": figures,
    }
