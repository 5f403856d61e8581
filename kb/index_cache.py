"""The one cache of the KB's search index, shared by the actions and the staff admin: rebuilt whenever the
KB version moves, so staff edits show at the next question without restarts.

A new index is built aside, in a thread with its own database session, while the previous one keeps answering;
it is swapped in when complete. A caller that finds the KB changed waits for the new index at most
REFRESH_WAIT seconds (at the town's size a build takes well under that, so the edit shows at the next
question), then answers with the previous index while the build finishes: a refresh never stops answers. A
refresh is incremental: the new index reuses the previous one's tokens of every text the edit cannot have
changed (kb/token_memo.py), so at 10,000 entries it takes seconds where a full build takes over a minute. The
first index of a database is built by its first caller.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import settings
from kb.db import get_engine, session_factory
from kb.models import KbState
from kb.queries import active_entries, kb_meta, kb_version, report_sentence_texts
from kb.search import KnowledgeIndex

logger = logging.getLogger(__name__)

REFRESH_WAIT = 2.0  # seconds a caller waits for the new index before answering with the previous one

_lock = threading.Lock()
_cache: dict[str, tuple[int, KnowledgeIndex]] = {}
_building: dict[str, tuple[int, threading.Event]] = {}


_VERSION = select(KbState.version).where(KbState.id == 1)


@lru_cache(maxsize=8)
def _cache_key(url: str) -> str:
    """The key `index_for` files a database's index under (its engine's URL)."""
    return get_engine(url).url.render_as_string(hide_password=False)


def current_index(url: str | None = None) -> KnowledgeIndex:
    """The index of the KB as it is now (raises SQLAlchemyError when the database is down).

    Asked at every question: when an index is cached, the KB version is read with one prebuilt query on a
    pooled connection (an ORM session and its query cost the action server about a tenth of its CPU per
    message); the same read `index_for` makes, so a staff edit shows at the next question as before."""
    url = url or settings.KB_DATABASE_URL
    cached = None if _in_memory(url) else _cache.get(_cache_key(url))
    if cached is not None:
        with get_engine(url).connect() as connection:
            if (connection.execute(_VERSION).scalar() or 0) == cached[0]:
                return cached[1]
    with session_factory(url)() as session:
        return index_for(session)


def _build(session: Session, previous: KnowledgeIndex | None = None) -> KnowledgeIndex:
    """The index of the session's KB; with `previous` (the index it replaces) only the texts that may cut
    differently are cut again (kb/token_memo.py): after a staff edit of one entry, a fraction of a full build."""
    return KnowledgeIndex(active_entries(session), report_sentence_texts(session), kb_meta(session), previous)


def _in_memory(url: str) -> bool:
    return url.startswith("sqlite") and (url.rstrip("/").endswith(":") or ":memory:" in url)


def _swap(url: str, version: int, index: KnowledgeIndex) -> None:
    """Put a finished index in, unless a newer one is already there."""
    with _lock:
        cached = _cache.get(url)
        if cached is None or cached[0] <= version:
            _cache[url] = (version, index)


def _build_aside(url: str) -> None:
    done = _building[url][1]
    try:
        with session_factory(url)() as session:
            version = kb_version(session)
            previous = _cache.get(url)
            _swap(url, version, _build(session, previous[1] if previous else None))
    except Exception:  # the previous index keeps answering; the next caller tries again
        logger.exception("rebuilding the KB index failed")
    finally:
        with _lock:
            if _building.get(url, (0, None))[1] is done:
                del _building[url]
        done.set()


def index_for(session: Session) -> KnowledgeIndex:
    """The index of the KB that a caller's session reads."""
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    version = kb_version(session)
    cached = _cache.get(url)
    if cached is not None and cached[0] == version:
        return cached[1]
    if cached is None or _in_memory(url):  # nothing to answer with meanwhile (or no other session sees it)
        with _lock:
            cached = _cache.get(url)
            if cached is None or cached[0] != version:
                cached = (version, _build(session, cached[1] if cached else None))
                _cache[url] = cached
        return cached[1]
    with _lock:
        building = _building.get(url)
        if building is None:
            building = (version, threading.Event())
            _building[url] = building
            threading.Thread(target=_build_aside, args=(url,), name="kb-index", daemon=True).start()
    building[1].wait(REFRESH_WAIT)
    cached = _cache.get(url)
    assert cached is not None
    return cached[1]
