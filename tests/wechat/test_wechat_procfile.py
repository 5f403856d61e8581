"""The gateway started the Procfile way (`gateway:` line, GATEWAY_PORT and WECHAT_TOKEN, nothing else of ours)
serves /wechat: the independent check of issue 15, in plaintext mode, against a fake Rasa on a free port."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot.ops import launcher
from tests.wechat.conftest import new_openid
from tests.wechat.fakes import TOKEN, FakeRasa, message_xml, sign
from tests.wechat.test_wechat_channel import ENTITY_BOMB

ROOT = launcher.ROOT


@pytest.fixture
def fake_rasa() -> Iterator[tuple[FakeRasa, str]]:
    """The fake Rasa served by uvicorn in a thread; its URL."""
    rasa = FakeRasa()
    port = launcher.free_port()
    server = uvicorn.Server(uvicorn.Config(rasa.app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the fake Rasa did not start")
    yield rasa, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def procfile_gateway(fake_rasa, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """`gateway:` of the Procfile, run by a shell as the supervisor does; its URL, var dir and log."""
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    port = launcher.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZHITANG_", "WECHAT_"))}
    var_dir, log = tmp_path / "var", tmp_path / "gateway.log"
    env.update(
        GATEWAY_PORT=str(port),
        WECHAT_TOKEN=TOKEN,
        ZHITANG_VAR_DIR=str(var_dir),  # what it writes, to search for OpenIDs afterwards
        ZHITANG_RASA_URL=fake_rasa[1],
        ZHITANG_PURGE_EVERY_HOURS="0",
        PYTHONPATH=str(ROOT),
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["sh", "-c", procfile["gateway"]],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail(log.read_text())
        yield url, var_dir, log
    finally:
        os.killpg(process.pid, 15)
        process.wait(10)


def signed(openid: str) -> dict[str, str]:
    ts, nonce = str(int(time.time())), "procfile1"
    return {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": openid}


def test_the_procfile_gateway_serves_wechat(procfile_gateway, fake_rasa):
    url, var_dir, log = procfile_gateway
    rasa = fake_rasa[0]
    query = signed("x")
    check = httpx.get(url + "/wechat", params={**query, "echostr": "8273645"})
    assert (check.status_code, check.text) == (200, "8273645")

    openid = new_openid()
    post = lambda body, params=None: httpx.post(  # noqa: E731
        url + "/wechat", params=params or signed(openid), content=body.encode(), timeout=10
    )
    started = time.monotonic()
    text = post(message_xml(openid, "text", 91001, Content="尊老金发了多少？"))
    passive = time.monotonic() - started
    assert text.status_code == 200 and "<Content><![CDATA[2022年，支塘镇发放尊老金1428.35万元。" in text.text
    assert f"<ToUserName><![CDATA[{openid}]]></ToUserName>" in text.text
    assert passive < 1.0
    voice = post(message_xml(openid, "voice", 91002, MediaId="m", Format="amr", Recognition="尊老金发了多少"))
    assert "尊老金1428.35万元" in voice.text
    again = post(message_xml(openid, "text", 91001, Content="尊老金发了多少？"))
    # the same reply (its CreateTime is the second it is sent in, which may have turned)
    assert re.sub(r"<CreateTime>\d+</CreateTime>", "", again.text) == re.sub(
        r"<CreateTime>\d+</CreateTime>", "", text.text
    )
    assert [c["message"] for c in rasa.calls] == ["尊老金发了多少？", "尊老金发了多少"]  # the repeat: not again
    bad = post(message_xml(openid, "text", 91003, Content="x"), {**signed(openid), "signature": "0" * 40})
    assert bad.status_code == 403
    bomb = post(ENTITY_BOMB.replace("OPENID", openid))
    assert 400 <= bomb.status_code < 500
    assert len(rasa.calls) == 2
    stored = [p for p in var_dir.rglob("*") if p.is_file() and openid.encode() in p.read_bytes()]
    assert stored == [] and openid not in log.read_text(encoding="utf-8", errors="replace")
    assert "openid=-" in log.read_text(encoding="utf-8")  # the access log has the pushes, without the OpenID
    print(f"passive reply from the Procfile gateway: {passive * 1000:.0f} ms")
