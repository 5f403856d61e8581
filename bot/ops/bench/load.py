"""Load generators on loopback: one resident in sequence, many residents at once for a fixed time, or a paced
soak at a fixed rate.

A resident holds a conversation of TURNS questions, then starts a new one (a new session), with no pause
between messages: a stress load, heavier than people typing. With `unique=True` every message text is distinct
(a short tag of letters after the question), as residents' real texts are, so the NLU's per-text cache never
answers; without it the question set's texts repeat.
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


def tag(n: int) -> str:
    """A distinct tag of lowercase letters for message n (no digits: they could read as years or amounts)."""
    letters = ""
    n += 26 * 27  # at least three letters
    while n:
        n, r = divmod(n, 26)
        letters = chr(ord("a") + r) + letters
    return letters


class Texts:
    """The texts residents send: the question set in turn, each made distinct when `unique`."""

    def __init__(self, texts: list[str], unique: bool, offset: int = 0, salt: str = "") -> None:
        self.texts, self.unique, self.n, self.salt = texts, unique, offset, salt

    def __iter__(self):
        return self

    def __next__(self) -> str:
        text = self.texts[self.n % len(self.texts)]
        self.n += 1
        return f"{text} {self.salt}{tag(self.n)}" if self.unique else text


def rest_body(text: str, sender: str) -> dict[str, str]:
    """A message for Rasa's REST channel."""
    return {"sender": sender, "message": text}


def gateway_body(text: str, sender: str) -> dict[str, str]:
    """A message for the gateway's /api/chat."""
    return {"session": sender, "text": text}


def one_resident(url: str, texts: list[str], body=rest_body, messages: int = 200, unique: bool = False) -> LoadResult:
    """One resident asking `messages` questions in a row, in conversations of TURNS questions."""
    latencies, errors = [], 0
    start = time.perf_counter()
    sender = uuid.uuid4().hex
    salt = tag(int(time.time() * 1000) % 100_000) + "x"  # another run's texts are not this run's
    source = Texts(texts, True, salt=salt) if unique else cycle(texts)
    with httpx.Client(timeout=30) as client:
        for n, text in zip(range(messages), source, strict=False):
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


async def _resident(
    client: httpx.AsyncClient,
    url: str,
    texts,
    body,
    until: float,
    out: LoadResult,
    pace: float = 0.0,
    turns: int = TURNS,
) -> None:
    """One resident until `until`, a new conversation every `turns` messages; `pace`: seconds from one
    message's start to the next's (0: no pause)."""
    sender = uuid.uuid4().hex
    for n, text in enumerate(texts):
        now = time.perf_counter()
        if now >= until:
            return
        if n % turns == 0:
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
        if pace:
            await asyncio.sleep(max(0.0, t + pace - time.perf_counter()))


async def _many(
    url: str,
    texts: list[str],
    residents: int,
    seconds: float,
    body,
    unique: bool,
    pace: float = 0.0,
    turns: int = TURNS,
) -> LoadResult:
    out = LoadResult([], 0, 0.0)
    limits = httpx.Limits(max_connections=residents, max_keepalive_connections=residents)
    salt = tag(int(time.time() * 1000) % 100_000)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        start = time.perf_counter()
        until = start + seconds
        sources = [
            (
                Texts(texts, True, offset=i, salt=f"{salt}{tag(i)}")
                if unique
                else cycle(texts[i % len(texts) :] + texts[: i % len(texts)])
            )
            for i in range(residents)
        ]
        await asyncio.gather(
            *(_resident(client, url, sources[i], body, until, out, pace, turns) for i in range(residents))
        )
        out.seconds = time.perf_counter() - start
    return out


def many_residents(
    url: str,
    texts: list[str],
    residents: int,
    seconds: float,
    body=gateway_body,
    unique: bool = False,
    turns: int = TURNS,
) -> LoadResult:
    """`residents` residents each asking one question after another for `seconds` (bounded in time), in
    conversations of `turns` messages."""
    return asyncio.run(_many(url, texts, residents, seconds, body, unique, turns=turns))


def paced_residents(
    url: str, texts: list[str], residents: int, seconds: float, rate: float, body=gateway_body
) -> LoadResult:
    """`residents` residents sending `rate` messages per second in all (each every residents/rate s), unique texts."""
    return asyncio.run(_many(url, texts, residents, seconds, body, True, pace=residents / rate))
