"""Headers: no caching of admin pages and exports, HSTS over HTTPS, a Secure admin cookie, only known Host names.

Finding 7 of issue 10: admin pages and exports lacked `Cache-Control: no-store`; there was no HSTS; the admin
cookie lacked `Secure` by default, in deploy/ too; a foreign Host with a matching Origin got through (DNS
rebinding).
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
import yaml
from argon2 import PasswordHasher
from fastapi import FastAPI

from bot import settings
from bot.web.app import create_app
from bot.web.gateway.ratelimit import RateLimiter
from kb import users
from kb.db import create_schema, session_factory
from kb.users import create_user

with warnings.catch_warnings():  # Starlette's TestClient nags about httpx; it works as it is
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
FAKE_RASA = "http://rasa.test"
SESSION = "a1b2c3d4e5f6a7b8"
ANSWER = [{"recipient_id": SESSION, "text": "2022年,支塘镇发放尊老金1428.35万元。"}]
HSTS = "Strict-Transport-Security"


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty KB with one editor, and the defaults of the settings this file is about."""
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    create_schema(url)
    monkeypatch.setattr(settings, "KB_DATABASE_URL", url)
    monkeypatch.setattr(settings, "RASA_URL", FAKE_RASA)
    monkeypatch.setattr(settings, "ADMIN_SECRET_KEY", "test-secret-key")
    monkeypatch.setattr(settings, "ADMIN_COOKIE_SECURE", True)
    monkeypatch.setattr(settings, "ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
    monkeypatch.setattr(settings, "HSTS_MAX_AGE", 31_536_000)
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with session_factory(url)() as session, session.begin():
        create_user(session, "wang", "wang-editor-pw", "editor")
    return url


@pytest.fixture
def rasa() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(f"{FAKE_RASA}/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=ANSWER))
        yield router


def gateway(kb: str, base_url: str = "https://localhost") -> TestClient:
    limiter = RateLimiter({"session": "1000/minute", "address": "1000/minute"}, "memory://")
    return TestClient(create_app(limiter=limiter, kb_url=kb), base_url=base_url, follow_redirects=False)


def sign_in(http: TestClient) -> httpx.Response:
    token = http.get("/admin/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = http.post("/admin/login", data={"username": "wang", "password": "wang-editor-pw", "csrf_token": token})
    assert response.status_code == 302, response.text
    return response


# --- Cache-Control ---------------------------------------------------------------------------------------


def test_admin_pages_and_the_export_are_never_stored_by_a_cache(kb):
    http = gateway(kb)
    assert http.get("/admin/login").headers["cache-control"] == "no-store"
    sign_in(http)
    for path in ("/admin/", "/admin/entry/list", "/admin/exchange", "/admin/exchange/export.yml"):
        response = http.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path


def test_the_export_is_not_stored_even_where_the_admin_runs_without_the_gateway_headers(kb):
    app = FastAPI()
    from bot.web.admin import mount

    mount(app)
    http = TestClient(app, base_url="https://testserver", follow_redirects=False)
    sign_in(http)
    response = http.get("/admin/exchange/export.yml")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


def test_the_admin_stylesheets_and_the_town_page_may_still_be_cached(kb):
    http = gateway(kb)
    assert "no-store" not in http.get("/admin/zt/admin.css").headers.get("cache-control", "")
    assert "no-store" not in http.get("/").headers.get("cache-control", "")


# --- HSTS ------------------------------------------------------------------------------------------------


def test_https_responses_carry_hsts(kb):
    response = gateway(kb).get("/")
    assert response.headers[HSTS] == "max-age=31536000; includeSubDomains"


def test_plain_http_responses_do_not_carry_hsts(kb):
    # Browsers ignore HSTS over http (RFC 6797 8.1); `make run` on http://localhost stays as it is.
    assert HSTS not in gateway(kb, "http://localhost").get("/").headers


def test_an_hsts_max_age_of_zero_turns_it_off(kb, monkeypatch):
    monkeypatch.setattr(settings, "HSTS_MAX_AGE", 0)
    assert HSTS not in gateway(kb).get("/").headers


def test_behind_the_ingress_forwarded_https_counts_as_https(kb, rasa):
    # uvicorn --proxy-headers turns X-Forwarded-Proto from a trusted proxy into the scope's scheme.
    app = create_app(kb_url=kb)

    async def forwarded(scope, receive, send):
        await app({**scope, "scheme": "https"}, receive, send)

    http = TestClient(forwarded, base_url="http://localhost")
    assert http.get("/healthz").headers[HSTS].startswith("max-age=")


# --- the admin cookie ------------------------------------------------------------------------------------


def _settings_in_a_fresh_process(**environ: str) -> dict:
    code = "import json; from bot import settings as s; print(json.dumps([s.ADMIN_COOKIE_SECURE, s.ALLOWED_HOSTS]))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHITANG_")}
    env.update(PYTHONPATH=str(ROOT), **environ)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    secure, hosts = yaml.safe_load(out.stdout)
    return {"secure": secure, "hosts": hosts}


def test_the_admin_cookie_is_secure_unless_switched_off():
    assert _settings_in_a_fresh_process()["secure"] is True
    assert _settings_in_a_fresh_process(ZHITANG_ADMIN_COOKIE_SECURE="0")["secure"] is False


def test_signing_in_sets_a_secure_httponly_samesite_cookie(kb):
    response = sign_in(gateway(kb))
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("zhitang_admin=")
    assert "; secure" in cookie and "; httponly" in cookie and "samesite=lax" in cookie


def _gateway_env() -> dict[str, str]:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "k8s" / "gateway.yaml").read_text(encoding="utf-8")))
    deployment = next(d for d in docs if d and d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_the_deployed_gateway_sets_the_secure_cookie_and_its_host_names():
    env = _gateway_env()
    assert env["ZHITANG_ADMIN_COOKIE_SECURE"] == "1"
    assert env["ZHITANG_ALLOWED_HOSTS"] == "assistant.zhitang.gov.cn"


# --- allowed hosts ---------------------------------------------------------------------------------------


def test_the_default_hosts_are_the_loopback_names_and_the_gateways_own():
    assert _settings_in_a_fresh_process()["hosts"] == ["localhost", "127.0.0.1"]
    hosts = _settings_in_a_fresh_process(ZHITANG_GATEWAY_HOST="10.1.2.3")["hosts"]
    assert hosts == ["localhost", "127.0.0.1", "10.1.2.3"]
    assert _settings_in_a_fresh_process(ZHITANG_GATEWAY_HOST="0.0.0.0")["hosts"] == ["localhost", "127.0.0.1"]
    configured = _settings_in_a_fresh_process(ZHITANG_ALLOWED_HOSTS="assistant.zhitang.gov.cn, *.zhitang.gov.cn")
    assert configured["hosts"] == ["assistant.zhitang.gov.cn", "*.zhitang.gov.cn"]


def test_a_foreign_host_with_a_matching_origin_is_refused_with_a_clear_400(kb, rasa):
    # DNS rebinding: the attacker's name now points at the gateway, and its page calls it "same-origin".
    http = gateway(kb, "http://rebind.evil.example:8000")
    body = {"session": SESSION, "text": "尊老金发了多少?"}
    response = http.post("/api/chat", json=body, headers={"origin": "http://rebind.evil.example:8000"})
    assert response.status_code == 400
    assert "Host" in response.text and "主机" in response.text
    assert not rasa.calls
    assert http.get("/admin/login").status_code == 400


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000", "LOCALHOST"])
def test_the_loopback_names_are_served(kb, rasa, host):
    response = gateway(kb, "http://placeholder").get("/", headers={"host": host})
    assert response.status_code == 200


def test_a_request_without_a_host_is_refused(kb):
    app = create_app(kb_url=kb)

    async def no_host(scope, receive, send):
        headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
        await app({**scope, "headers": headers}, receive, send)

    assert TestClient(no_host, base_url="http://localhost").get("/").status_code == 400


def test_a_wildcard_entry_admits_the_subdomains(kb, monkeypatch):
    monkeypatch.setattr(settings, "ALLOWED_HOSTS", ["*.zhitang.gov.cn"])
    assert gateway(kb, "https://assistant.zhitang.gov.cn").get("/").status_code == 200
    assert gateway(kb, "https://zhitang.gov.cn.evil.example").get("/").status_code == 400


def test_the_health_check_answers_whatever_the_host(kb):
    # Kubernetes' probes ask http://<pod address>:8000/healthz.
    response = gateway(kb, "http://10.42.0.17:8000").get("/healthz")
    assert response.status_code == 200
