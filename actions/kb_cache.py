"""The action server's view of the KB: a search index rebuilt whenever the KB version moves."""

from __future__ import annotations

import threading

from bot import settings
from kb.db import session_factory
from kb.queries import active_entries, kb_version, report_sentence_texts
from kb.search import KnowledgeIndex

_lock = threading.Lock()
_cache: dict[str, tuple[int, KnowledgeIndex]] = {}


def current_index(url: str | None = None) -> KnowledgeIndex:
    """The index of the KB as it is now; staff edits show at the next question, without restarts."""
    url = url or settings.KB_DATABASE_URL
    with session_factory(url)() as session:
        version = kb_version(session)
        cached = _cache.get(url)
        if cached is None or cached[0] != version:
            with _lock:
                cached = _cache.get(url)
                if cached is None or cached[0] != version:
                    cached = (version, KnowledgeIndex(active_entries(session), report_sentence_texts(session)))
                    _cache[url] = cached
        return cached[1]
