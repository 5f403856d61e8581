"""Settings: one ZHITANG_ prefix; the old unprefixed names still work, with a warning, for one release."""

from __future__ import annotations

import importlib
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (ROOT / "bot" / "settings.py").read_text(encoding="utf-8")
# Every name bot/settings.py reads through env(), without the prefix.
NAMES = re.findall(r'\benv\(\s*"([A-Z0-9_]+)"', SETTINGS_SOURCE)
DEPRECATION = "{old} is deprecated, use ZHITANG_{old}; the old name stops working in the next release"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting in the environment under either name, and no old name warned about yet."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"ZHITANG_{name}", raising=False)
    monkeypatch.setattr(settings, "_warned", set())
    return monkeypatch


def deprecations(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.settings" and r.levelno == logging.WARNING]


def test_settings_are_read_under_the_zhitang_prefix():
    assert NAMES, "bot/settings.py reads its settings through env()"
    for name in ("KB_DATABASE_URL", "RASA_URL", "GATEWAY_PORT", "ALLOWED_ORIGINS", "RATE_LIMIT_STORAGE"):
        assert name in NAMES


def test_the_zhitang_name_wins_over_the_old_one(clean_env, caplog):
    clean_env.setenv("ZHITANG_RASA_TIMEOUT", "3")
    clean_env.setenv("RASA_TIMEOUT", "20")
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        assert settings.env("RASA_TIMEOUT", "15") == "3"
    assert deprecations(caplog) == []  # the old name is not used, so nothing to warn about


def test_the_old_name_still_works_and_warns_once(clean_env, caplog):
    clean_env.setenv("KB_DATABASE_URL", "sqlite:///old.sqlite3")
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        assert settings.env("KB_DATABASE_URL", "") == "sqlite:///old.sqlite3"
        assert settings.env("KB_DATABASE_URL", "") == "sqlite:///old.sqlite3"
    assert deprecations(caplog) == [DEPRECATION.format(old="KB_DATABASE_URL")]


def test_each_old_name_gets_its_own_warning(clean_env, caplog):
    clean_env.setenv("RASA_URL", "http://rasa:5005")
    clean_env.setenv("ALLOWED_ORIGINS", "https://www.zhitang.gov.cn")
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        settings.env("RASA_URL", "")
        settings.env("ALLOWED_ORIGINS", "")
        settings.env("RASA_URL", "")
    assert deprecations(caplog) == [DEPRECATION.format(old="RASA_URL"), DEPRECATION.format(old="ALLOWED_ORIGINS")]


def test_the_default_applies_when_neither_name_is_set(clean_env, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        assert settings.env("CHAT_MAX_CHARS", "500") == "500"
    assert deprecations(caplog) == []


def test_an_empty_value_still_counts_as_set(clean_env):
    """As before the rename: ZHITANG_RASA_URLS="" means no replicas, not "fall back to RASA_URLS"."""
    clean_env.setenv("ZHITANG_RASA_URLS", "")
    clean_env.setenv("RASA_URLS", "http://a:5005,http://b:5005")
    assert settings.env("RASA_URLS", "x") == ""


@pytest.mark.parametrize("name", ["GATEWAY_PORT", "ACTION_PORT", "RASA_PORT"])
def test_the_procfile_ports_keep_their_old_names_without_a_warning(clean_env, caplog, name):
    """The Makefile exports GATEWAY_PORT, ACTION_PORT and RASA_PORT for the Procfile: they stay a contract."""
    clean_env.setenv(name, "9000")
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        assert settings.env(name, "1") == "9000"
    assert deprecations(caplog) == []


def test_zhitang_gateway_port_wins_over_the_gateway_port_the_makefile_exports(clean_env):
    clean_env.setenv("GATEWAY_PORT", "8000")
    clean_env.setenv("ZHITANG_GATEWAY_PORT", "8100")
    assert settings.env("GATEWAY_PORT", "1") == "8100"


@pytest.fixture
def reloadable_settings() -> Iterator[None]:
    """Lets a test reload bot.settings; afterwards the module holds exactly its former objects again."""
    saved = dict(vars(settings))
    try:
        yield
    finally:
        vars(settings).clear()
        vars(settings).update(saved)


def test_the_module_reads_new_and_old_names_at_import(clean_env, caplog, reloadable_settings):
    clean_env.setenv("ZHITANG_RASA_TIMEOUT", "3")
    clean_env.setenv("RASA_TIMEOUT", "20")  # loses to the new name
    clean_env.setenv("RASA_URL", "http://old-name:5005")  # deprecated, still works
    clean_env.setenv("GATEWAY_PORT", "9000")  # the Procfile's contract
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        importlib.reload(settings)
    assert settings.RASA_TIMEOUT == 3.0
    assert settings.RASA_URL == "http://old-name:5005"
    assert settings.GATEWAY_PORT == 9000
    assert settings.ALLOWED_ORIGINS == ["http://localhost:9000", "http://127.0.0.1:9000"]
    assert settings.CHAT_MAX_CHARS == 500  # neither name set: the default
    assert settings.KB_DATABASE_URL == f"sqlite:///{settings.VAR_DIR / 'kb.sqlite3'}"
    assert deprecations(caplog) == [DEPRECATION.format(old="RASA_URL")]


def _env_without_settings(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHITANG_") and k not in NAMES}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def test_the_procfile_gateway_honours_gateway_port_without_a_warning():
    """`gateway: python -m bot.web` serves on settings.GATEWAY_PORT, which a fresh process reads from GATEWAY_PORT."""
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert procfile["gateway"].endswith("python -m bot.web")
    code = "from bot import settings; print(settings.GATEWAY_PORT)"
    for env, port in ((_env_without_settings(GATEWAY_PORT="9100"), "9100"), (_env_without_settings(), "8000")):
        run = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
        assert (run.returncode, run.stdout.strip(), run.stderr) == (0, port, "")
    env = _env_without_settings(GATEWAY_PORT="9100", ZHITANG_GATEWAY_PORT="9200")
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert run.stdout.strip() == "9200"


@pytest.mark.parametrize(
    ("process", "default"),
    [("actions", "5055"), ("rasa", "5005")],
)
def test_the_procfile_ports_take_the_zhitang_name_then_the_old_one(process, default):
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    port = re.search(r"--port (\S+)", procfile[process]).group(1)  # expanded by the Procfile runner's shell
    old = {"actions": "ACTION_PORT", "rasa": "RASA_PORT"}[process]

    def expand(**env: str) -> str:
        return subprocess.run(
            ["sh", "-c", f"echo {port}"], env=_env_without_settings(**env), capture_output=True, text=True
        ).stdout.strip()

    assert expand() == default
    assert expand(**{old: "7000"}) == "7000"
    assert expand(**{old: "7000", f"ZHITANG_{old}": "7100"}) == "7100"


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"| `ZHITANG_{name}` |" in readme, name
    renamed = readme[readme.index("**Renamed in this release:**") :].split("\n\n")[0]
    for name in set(NAMES) - settings.PROCFILE_NAMES - settings.NEW_NAMES - settings.WECHAT_NAMES:
        assert f"`{name}`" in renamed, name


@pytest.mark.parametrize("name", sorted(settings.WECHAT_NAMES))
def test_the_wechat_consoles_names_work_with_and_without_the_prefix(clean_env, caplog, name):
    """Issue 15 names them WECHAT_TOKEN ...: both spellings are documented and neither warns."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"| `ZHITANG_{name}` | empty | (or `{name}`) " in readme, name
    clean_env.setenv(name, "plain")
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        assert settings.env(name, "") == "plain"
        clean_env.setenv(f"ZHITANG_{name}", "prefixed")
        assert settings.env(name, "") == "prefixed"
    assert deprecations(caplog) == []
