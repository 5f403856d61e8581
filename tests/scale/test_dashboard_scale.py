"""The start page's numbers at scale: a tracker store of ZHITANG_DASHBOARD_EVENTS events (200,000 by default; set
1000000 for the full check) over the 180 days of the retention, read through the dashboard's index (kb.stats.TRACKER_INDEX).

The plans are asserted (every query reads the index, none scans the table). Timings are printed, never asserted,
as ratios: the same queries without the index, and on a store a fifth the size (the machine is shared, so only
ratios mean something). Run: `ZHITANG_DASHBOARD_EVENTS=1000000 .venv/bin/python -m pytest -s tests/scale/test_dashboard_scale.py`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from kb import stats
from tests.tracker_events import insert, random_messages

EVENTS = int(os.environ.get("ZHITANG_DASHBOARD_EVENTS", "200000"))
EVENTS_PER_MESSAGE = 8
NOW = datetime.now(timezone.utc)
DAYS_STORED = 180  # the retention: what a tracker store holds at most (ZHITANG_RETENTION_DAYS)


def store(path: Path, events: int) -> sa.Engine:
    """A tracker store of about `events` events over the last DAYS_STORED days."""
    engine = sa.create_engine(f"sqlite:///{path}")
    end = NOW.timestamp()
    insert(engine, random_messages(events // EVENTS_PER_MESSAGE, end - DAYS_STORED * 86400, end))
    return engine


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The shortest of a few runs, in seconds (the least disturbed by the machine's other work)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def numbers(engine: sa.Engine) -> Callable[[], stats.TrackerNumbers]:
    start, _, offset = stats.window(NOW)
    return lambda: stats.tracker_numbers(engine, start, offset)


def plans(engine: sa.Engine) -> list[str]:
    start, _, offset = stats.window(NOW)
    since = start.timestamp()
    with engine.connect() as connection:
        queries = [
            stats.questions_query(since, offset),
            stats.kinds_query(connection, since),
            stats.languages_query(connection, since),
        ]
        return [
            " ".join(
                row[-1]
                for row in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + str(q.compile(connection, compile_kwargs={"literal_binds": True}))
                )
            )
            for q in queries
        ]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, sa.Engine]:
    folder = tmp_path_factory.mktemp("dashboard-scale")
    started = time.perf_counter()
    full = store(folder / "full.db", EVENTS)
    print(f"\n{EVENTS} events written in {time.perf_counter() - started:.1f} s")
    fifth = store(folder / "fifth.db", EVENTS // 5)
    return {"full": full, "fifth": fifth}


def test_the_dashboard_reads_a_large_tracker_store_through_its_index(stores):
    full, fifth = stores["full"], stores["fifth"]
    with full.connect() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(stats.EVENTS)).scalar_one()
    started = time.perf_counter()
    stats.tracker_indexes(full)
    built = time.perf_counter() - started
    stats.tracker_indexes(fifth)
    for plan in plans(full):
        assert stats.TRACKER_INDEX in plan and "SCAN events" not in plan, plan

    indexed = best_of(3, numbers(full))
    result = numbers(full)()
    assert sum(result.per_day.values()) > 0 and sum(result.kinds.values()) > 0
    smaller = best_of(3, numbers(fifth))
    with full.begin() as connection:
        connection.exec_driver_sql(f"DROP INDEX {stats.TRACKER_INDEX}")
    unindexed = best_of(3, numbers(full))
    print(
        f"{stored} events ({DAYS_STORED} days, 30 shown): index built once in {built:.2f} s; dashboard queries "
        f"{indexed * 1000:.0f} ms with the index, {unindexed * 1000:.0f} ms without (×{unindexed / indexed:.1f}); "
        f"{smaller * 1000:.0f} ms at a fifth of the events (×{indexed / smaller:.1f} for ×5 the events)"
    )
