"""The YAML import refuses what would freeze or crash the gateway: aliases, deep nesting, too much, wrong types.

Finding 4 of issue 10: a 526-byte file of nested aliases froze the whole gateway for 10 s and took 750 MB; the
duplicate-id check was quadratic; a field of the wrong type crashed the import instead of being named.
"""

from __future__ import annotations

import copy
import time
import tracemalloc
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from argon2 import PasswordHasher
from fastapi import FastAPI

from bot import settings
from kb import exchange, users
from kb.db import create_schema, session_factory
from kb.exchange import import_yaml
from kb.models import Entry
from kb.source import validate
from kb.users import create_user

with warnings.catch_warnings():  # Starlette's TestClient nags about httpx; it works as it is
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NEW = {
    "id": "flu_vaccine",
    "topic": "health",
    "title": {"zh": "流感疫苗接种", "en": "Flu vaccination"},
    "summary": {"zh": "镇卫生院为居民接种流感疫苗。", "en": "The town health centre gives residents flu shots."},
}


def billion_laughs(levels: int) -> str:
    """An entry list whose second id is `levels` nested lists of ten aliases each: 10**levels "lol"s when expanded."""
    lines = ["- id: lol_a", "  bombs:", '    x0: &l0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"    x{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join([*lines, f"- id: *l{levels}", ""])


@pytest.fixture
def kb(tmp_path: Path) -> str:
    """An empty KB (schema only): every refusal here happens before the entries are compared with it."""
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    create_schema(url)
    return url


def dry_run(url: str, text: str):
    with session_factory(url)() as session, session.begin():
        return import_yaml(session, text, "wang", dry_run=True)


def apply(url: str, text: str):
    with session_factory(url)() as session, session.begin():
        return import_yaml(session, text, "wang")


def test_a_billion_laughs_file_is_refused_at_once_without_expanding_it(kb):
    text = billion_laughs(6)  # a million "lol"s once expanded; the finding's file had more levels
    assert len(text.encode()) < 600
    tracemalloc.start()
    started = time.perf_counter()
    try:
        report = dry_run(kb, text)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not report.ok and not report.applied
    assert any("&" in p and "*" in p and "alias" in p for p in report.problems), report.problems
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert peak < 5_000_000, f"built {peak / 1e6:.0f} MB"


def test_a_small_alias_is_refused_too_with_the_line_it_is_on(kb):
    text = (
        "- id: flu_vaccine\n"
        "  topic: health\n"
        "  title: &t {zh: 流感疫苗接种, en: Flu vaccination}\n"
        "  summary: *t\n"
    )
    report = dry_run(kb, text)
    assert not report.ok
    assert any("alias" in p and "line 3" in p for p in report.problems), report.problems


@pytest.mark.parametrize("depth", [exchange.MAX_IMPORT_DEPTH + 1, 5000])
def test_a_deeply_nested_file_is_refused_with_a_message_not_a_crash(kb, depth):
    report = dry_run(kb, "- id: deep\n  title: " + "[" * depth + "]" * depth + "\n")
    assert not report.ok
    assert any("nest" in p for p in report.problems), report.problems


def test_a_file_with_more_entries_than_the_limit_is_refused_before_any_check(kb):
    text = "".join(f"- {{id: e{i}}}\n" for i in range(exchange.MAX_IMPORT_ENTRIES + 1))
    report = dry_run(kb, text)
    assert not report.items
    assert any(f"{exchange.MAX_IMPORT_ENTRIES:,}" in p for p in report.problems), report.problems


def test_a_file_over_the_size_limit_is_refused_unread(kb):
    text = "# " + "x" * exchange.MAX_IMPORT_BYTES + "\n[]\n"
    report = dry_run(kb, text)
    assert any("MB" in p for p in report.problems), report.problems


def test_a_file_of_too_many_values_is_refused_before_they_are_built(kb):
    words = ", ".join(["x"] * exchange.MAX_IMPORT_NODES)
    text = f"- id: many\n  aliases: {{zh: [{words}], en: [x]}}\n"
    assert len(text.encode()) < exchange.MAX_IMPORT_BYTES
    report = dry_run(kb, text)
    assert not report.items
    assert any(f"{exchange.MAX_IMPORT_NODES:,}" in p for p in report.problems), report.problems


def test_an_entry_twice_in_the_file_is_named(kb):
    report = dry_run(kb, yaml.safe_dump([NEW, {"id": "other"}, copy.deepcopy(NEW)], allow_unicode=True))
    assert any("flu_vaccine" in p and "twice" in p for p in report.problems), report.problems


def _entries(count: int) -> list[dict[str, Any]]:
    """`count` entries without facts, the last a second copy of the first id."""
    items = [{**NEW, "id": f"entry_{i}", "aliases": {"zh": ["别名"], "en": ["alias"]}} for i in range(count - 1)]
    return [*items, dict(items[0])]


def _time_validate(count: int) -> float:
    entries = _entries(count)
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        problems = validate(entries, "")
        best = min(best, time.perf_counter() - started)
    assert "entry_0: duplicate id / 编号重复" in problems
    assert sum("duplicate id" in p for p in problems) == 2  # both copies named, nothing else
    return best


def test_the_duplicate_id_check_grows_linearly_with_the_number_of_entries():
    small, large = _time_validate(2_000), _time_validate(20_000)
    # Ten times the entries: about ten times the time (a quadratic check takes about a hundred times).
    assert large / small < 30, f"2,000 entries {small:.3f} s, 20,000 entries {large:.3f} s: x{large / small:.0f}"


WRONG_TYPES = {
    "title": {"title": "流感疫苗接种"},
    "title.zh": {"title": {"zh": ["流感"], "en": "Flu"}},
    "aliases": {"aliases": "打流感针"},
    "aliases.zh": {"aliases": {"zh": "打流感针", "en": ["flu shot"]}},
    "situations.en": {"situations": {"zh": ["孩子要打针"], "en": "my child needs a shot"}},
    "related": {"related": 5},
    "related[0]": {"related": [["elder_allowance"]]},
    "staff": {"staff": ["phone"]},
    "staff.phone": {"staff": {"phone": ["0512-52519999"]}},
    "staff.phone.zh": {"staff": {"phone": {"zh": ["0512-52519999"]}}},
    "facts": {"facts": "每年十月接种"},
    "facts[0].key": {"facts": [{"key": ["shots"], "zh": "每年十月接种。", "en": "Every October."}]},
    "facts[0].zh": {"facts": [{"key": "shots", "zh": {"月": 10}, "en": "Every October."}]},
    "facts[0].keywords": {"facts": [{"key": "shots", "zh": "每年十月接种。", "en": "Every October.", "keywords": "x"}]},
    "facts[0].figure": {"facts": [{"key": "shots", "zh": "接种10月。", "en": "October.", "figure": [10]}]},
    "retired": {"retired": "yes"},
    "meta": {"meta": "exported"},
    "meta.revision": {"meta": {"revision": [1]}},
    "meta.source": {"meta": {"source": ["report"]}},
    "id": {"id": ["flu_vaccine"]},
}


@pytest.mark.parametrize("where", WRONG_TYPES)
def test_a_field_of_the_wrong_type_is_named_not_a_crash(kb, where):
    text = yaml.safe_dump([{**NEW, **WRONG_TYPES[where]}], allow_unicode=True, sort_keys=False)
    report = apply(kb, text)
    assert not report.ok and not report.applied
    problems = report.problems + [p for item in report.items for p in item.problems]
    assert any(f" {where}: " in f" {p}" for p in problems), problems  # "flu_vaccine: aliases.zh: must be ..."
    with session_factory(kb)() as session:
        assert session.get(Entry, "flu_vaccine") is None


def test_an_unknown_field_is_named_rather_than_dropped(kb):
    report = apply(kb, yaml.safe_dump([{**NEW, "sumary": {"zh": "打针。", "en": "Shots."}}], allow_unicode=True))
    assert not report.applied
    assert any("sumary" in p for item in report.items for p in item.problems), str(report)


def test_a_well_formed_file_still_imports(kb):
    entry = {**NEW, "facts": [{"key": "month", "figure": 10, "zh": "每年10月接种。", "en": "Every October."}]}
    report = apply(kb, yaml.safe_dump([entry], allow_unicode=True, sort_keys=False))
    assert report.applied, str(report)
    with session_factory(kb)() as session:
        assert session.get(Entry, "flu_vaccine").facts[0].figure == "10"


# --- the admin's import screen ------------------------------------------------------------------------------


@pytest.fixture
def editor(kb: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An editor signed in to the admin (mounted on the empty KB), over HTTPS as in production."""
    monkeypatch.setattr(settings, "KB_DATABASE_URL", kb)
    monkeypatch.setattr(settings, "ADMIN_SECRET_KEY", "test-secret-key")
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with session_factory(kb)() as session, session.begin():
        create_user(session, "wang", "wang-editor-pw", "editor")
    from bot.web.admin import mount

    app = FastAPI()
    mount(app)
    http = TestClient(app, base_url="https://testserver", follow_redirects=False)
    token = http.get("/admin/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = http.post("/admin/login", data={"username": "wang", "password": "wang-editor-pw", "csrf_token": token})
    assert response.status_code == 302
    http.token = http.get("/admin/exchange").text.split('name="csrf-token" content="')[1].split('"')[0]
    yield http


def test_the_import_screen_answers_a_wrong_type_with_the_problem_not_an_error_page(editor):
    text = yaml.safe_dump([{**NEW, "aliases": "打流感针"}], allow_unicode=True)
    response = editor.post("/admin/exchange/import-yaml", data={"text": text, "csrf_token": editor.token})
    assert response.status_code == 409
    assert "aliases" in response.text


def test_the_import_screen_refuses_a_billion_laughs_upload_at_once(editor):
    started = time.perf_counter()
    response = editor.post(
        "/admin/exchange/import-yaml",
        data={"csrf_token": editor.token},
        files={"file": ("kb.yml", billion_laughs(6).encode(), "application/x-yaml")},
    )
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 409
    assert "alias" in response.text


def test_a_file_over_a_megabyte_can_be_confirmed_after_its_dry_run(editor, kb):
    entry = {**NEW, "summary": {"zh": "镇卫生院为居民接种流感疫苗。", "en": "Flu shots for residents. " * 60_000}}
    text = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=100_000)
    assert 1024 * 1024 < len(text.encode()) < exchange.MAX_IMPORT_BYTES
    dry = editor.post(
        "/admin/exchange/import-yaml",
        data={"csrf_token": editor.token},
        files={"file": ("kb.yml", text.encode(), "application/x-yaml")},
    )
    assert dry.status_code == 200, dry.text[:300]
    assert 'enctype="multipart/form-data"' in dry.text.split('id="apply"')[0].rsplit("<form", 1)[1]
    # The confirm button posts the same text back as a form field, as a browser sends that form.
    confirm = editor.post(
        "/admin/exchange/import-yaml",
        data={"csrf_token": editor.token, "apply": "1"},
        files={"text": (None, text.encode())},
    )
    assert confirm.status_code == 303, confirm.text[:300]
    with session_factory(kb)() as session:
        assert session.get(Entry, "flu_vaccine").summary_en.startswith("Flu shots")
