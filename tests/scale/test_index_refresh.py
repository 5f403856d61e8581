"""A KB index refresh never stops answers: the new index is built aside and swapped in (kb/index_cache.py)."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from kb import index_cache
from kb.db import session_factory
from kb.models import KbState


def test_previous_index_answers_while_the_new_one_is_built(kb_url, monkeypatch):
    first = index_cache.current_index(kb_url)
    release, started = threading.Event(), threading.Event()
    real_build = index_cache._build

    def slow_build(session, previous=None):
        started.set()
        release.wait(30)  # a large KB: the build takes a while
        return real_build(session, previous)

    monkeypatch.setattr(index_cache, "_build", slow_build)
    monkeypatch.setattr(index_cache, "REFRESH_WAIT", 0.05)
    with session_factory(kb_url)() as session, session.begin():  # a staff edit moves the version
        session.execute(sa.update(KbState).where(KbState.id == 1).values(version=KbState.version + 1))
    during = index_cache.current_index(kb_url)
    assert started.wait(10)
    assert during is first, "the previous index answers while the new one is built"
    assert index_cache.current_index(kb_url) is first  # one build at a time, still answering
    _, done = next(iter(index_cache._building.values()))
    release.set()
    assert done.wait(30)
    after = index_cache.current_index(kb_url)
    assert after is not first, "the new index is swapped in once built"
    assert index_cache.current_index(kb_url) is after
