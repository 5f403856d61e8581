"""Load generators on loopback: one resident in sequence, or many residents at once for a fixed time.

A resident holds a conversation of TURNS questions, then starts a new one (a new session), with no pause
between messages: a stress load, heavier than people typing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from itertools import cycle

import httpx

TURNS = 6  # questions per conversation


@dataclass
class LoadResult:
    """Latencies (ms) of the answered messages, errors, and the wall time of a run."""

    latencies: list[float]
    errors: int
    seconds: float

    def pct(self, q: float) -> float:
        """A latency percentile in ms (0 when nothing was answered)."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def throughput(self) -> float:
        """Answered messages per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def rest_body(text: str, sender: str) -> dict[str, str]:
    """A message for Rasa's REST channel."""
    return {"sender": sender, "message": text}


def gateway_body(text: str, sender: str) -> dict[str, str]:
    """A message for the gateway's /api/chat."""
    return {"session": sender, "text": text}


def one_resident(url: str, texts: list[str], body=rest_body, messages: int = 200) -> LoadResult:
    """One resident asking `messages` questions in a row, in conversations of TURNS questions."""
    latencies, errors = [], 0
    start = time.perf_counter()
    sender = uuid.uuid4().hex
    with httpx.Client(timeout=30) as client:
        for n, text in zip(range(messages), cycle(texts), strict=False):
            if n % TURNS == 0:
                sender = uuid.uuid4().hex
            t = time.perf_counter()
            try:
                ok = client.post(url, json=body(text, sender)).status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - t) * 1000)
            else:
                errors += 1
    return LoadResult(latencies, errors, time.perf_counter() - start)


async def _resident(client: httpx.AsyncClient, url: str, texts: list[str], body, until: float, out: LoadResult) -> None:
    for n, text in enumerate(cycle(texts)):
        if time.perf_counter() >= until:
            return
        if n % TURNS == 0:
            sender = uuid.uuid4().hex
        t = time.perf_counter()
        try:
            ok = (await client.post(url, json=body(text, sender))).status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            out.latencies.append((time.perf_counter() - t) * 1000)
        else:
            out.errors += 1


async def _many(url: str, texts: list[str], residents: int, seconds: float, body) -> LoadResult:
    out = LoadResult([], 0, 0.0)
    limits = httpx.Limits(max_connections=residents, max_keepalive_connections=residents)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        start = time.perf_counter()
        until = start + seconds
        offsets = [texts[i % len(texts) :] + texts[: i % len(texts)] for i in range(residents)]
        await asyncio.gather(*(_resident(client, url, offsets[i], body, until, out) for i in range(residents)))
        out.seconds = time.perf_counter() - start
    return out


def many_residents(url: str, texts: list[str], residents: int, seconds: float, body=gateway_body) -> LoadResult:
    """`residents` residents each asking one question after another for `seconds` (bounded in time)."""
    return asyncio.run(_many(url, texts, residents, seconds, body))
