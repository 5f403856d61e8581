"""The one cache of the KB's search index, shared by the actions and the staff admin: rebuilt whenever the
KB version moves, so staff edits show at the next question without restarts."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from bot import settings
from kb.db import session_factory
from kb.queries import active_entries, kb_meta, kb_version, report_sentence_texts
from kb.search import KnowledgeIndex

_lock = threading.Lock()
_cache: dict[str, tuple[int, KnowledgeIndex]] = {}


def current_index(url: str | None = None) -> KnowledgeIndex:
    """The index of the KB as it is now (raises SQLAlchemyError when the database is down)."""
    with session_factory(url or settings.KB_DATABASE_URL)() as session:
        return index_for(session)


def index_for(session: Session) -> KnowledgeIndex:
    """The index of the KB that a caller's session reads."""
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    version = kb_version(session)
    cached = _cache.get(url)
    if cached is None or cached[0] != version:
        with _lock:
            cached = _cache.get(url)
            if cached is None or cached[0] != version:
                cached = (
                    version,
                    KnowledgeIndex(active_entries(session), report_sentence_texts(session), kb_meta(session)),
                )
                _cache[url] = cached
    return cached[1]
