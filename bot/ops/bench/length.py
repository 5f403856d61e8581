"""Cost per message against the length of the conversation: one resident, distinct texts, turn by turn.

`python -m bot.ops.bench.length [--turns 120] [--conversations 3]` starts its own action server and Rasa on
free loopback ports (a throw-away KB and tracker store, as the end-to-end tests do), holds `conversations`
conversations of `turns` messages each on the REST channel, one after the other, every text distinct (the
DIET per-text cache never answers), and prints the median latency per bucket of 20 turns and its ratio to
the first bucket. Not a test: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import cycle
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.ops import launcher

ROOT = launcher.ROOT
BUCKET = 20


def questions() -> list[str]:
    """The residents' questions of the end-to-end set (distinct texts)."""
    data = yaml.safe_load((ROOT / "tests" / "e2e" / "questions.yml").read_text(encoding="utf-8"))
    return list(dict.fromkeys(q["text"] for q in data["questions"]))


def distinct_texts(texts: list[str], count: int, salt: str = "") -> list[str]:
    """`count` distinct texts: the questions, then the questions again with a number (no text twice)."""
    out: list[str] = []
    for n, text in zip(range(count), cycle(texts), strict=False):
        rnd = n // len(texts)
        out.append(text if rnd == 0 and not salt else f"{text} {salt}{rnd}")
    return out


@contextmanager
def local_stack(
    work: Path, model: str = "models", code: Path | None = None
) -> Iterator[tuple[str, list[launcher.Process]]]:
    """Action server and Rasa on free ports with a throw-away KB and tracker store; Rasa's REST URL.

    `code`: a copy of the project's code to run instead (an A/B comparison in one run window)."""
    work.mkdir(parents=True, exist_ok=True)
    env = launcher.base_env(ZHITANG_KB_DATABASE_URL=f"sqlite:///{work / 'kb.sqlite3'}", ZHITANG_VAR_DIR=str(work))
    if code is not None:
        env["PYTHONPATH"] = str(code)
    subprocess.run([str(launcher.APP_PYTHON), "-m", "kb", "build"], cwd=ROOT, env=env, check=True, capture_output=True)
    procs: list[launcher.Process] = []
    try:
        action_port = launcher.free_port()
        procs.append(launcher.action_server(action_port, env, work / "actions.log"))
        procs[-1].cwd = code or ROOT  # Rasa puts its working directory first on sys.path
        procs[-1].start().wait_until_up()
        endpoints = launcher.write_endpoints(
            work / "endpoints.yml", f"http://127.0.0.1:{action_port}/webhook", work / "tracker.db"
        )
        rasa_port = launcher.free_port()
        procs.append(launcher.rasa_server(rasa_port, endpoints, env, work / "rasa.log", model=model))
        procs[-1].cwd = code or ROOT
        procs[-1].start().wait_until_up()
        yield f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook", procs
    finally:
        for proc in reversed(procs):
            proc.stop()


def conversation(url: str, texts: list[str], client: httpx.Client) -> tuple[list[float], int]:
    """One resident sending `texts` in one conversation: the latency (ms) of each turn, and the errors."""
    sender = uuid.uuid4().hex
    latencies, errors = [], 0
    for text in texts:
        start = time.perf_counter()
        try:
            response = client.post(url, json={"sender": sender, "message": text})
            ok = response.status_code == 200 and bool(response.json())
        except httpx.HTTPError:
            ok = False
        latencies.append((time.perf_counter() - start) * 1000)
        errors += not ok
    return latencies, errors


def sweep(url: str, texts: list[str], turns: int = 120, conversations: int = 3) -> dict:
    """Medians per bucket of BUCKET turns over `conversations` conversations of `turns` distinct texts."""
    return sweeps({"": url}, texts, turns, conversations)[""]


def sweeps(urls: dict[str, str], texts: list[str], turns: int = 120, conversations: int = 3) -> dict[str, dict]:
    """`sweep` on several stacks at once, their conversations taking turns (the same run window for all)."""
    per_turn: dict[str, list[list[float]]] = {name: [[] for _ in range(turns)] for name in urls}
    errors = dict.fromkeys(urls, 0)
    with httpx.Client(timeout=60) as client:
        for url in urls.values():
            conversation(url, distinct_texts(texts, 10, salt="warm"), client)  # warm-up, its own conversation
        for c in range(conversations):
            for name, url in urls.items():
                lat, err = conversation(url, distinct_texts(texts, turns, salt=f"c{c}-"), client)
                errors[name] += err
                for n, ms in enumerate(lat):
                    per_turn[name][n].append(ms)
    return {name: _buckets(per_turn[name], errors[name], conversations) for name in urls}


def _buckets(per_turn: list[list[float]], errors: int, conversations: int) -> dict:
    turns = len(per_turn)
    buckets: list[dict[str, Any]] = []
    for start in range(0, turns, BUCKET):
        values = [ms for turn in per_turn[start : start + BUCKET] for ms in turn]
        buckets.append({"turns": f"{start + 1}–{start + BUCKET}", "p50_ms": statistics.median(values)})
    first = buckets[0]["p50_ms"]
    for bucket in buckets:
        bucket["ratio"] = bucket["p50_ms"] / first if first else 0.0
    return {"buckets": buckets, "errors": errors, "conversations": conversations}


def render(result: dict) -> str:
    """A one-line-per-bucket table."""
    lines = ["| turns | p50 (ms) | ratio to turns 1–20 |", "| --- | ---: | ---: |"]
    lines += [f"| {b['turns']} | {b['p50_ms']:.1f} | {b['ratio']:.2f}× |" for b in result["buckets"]]
    return "\n".join(lines)


def main() -> int:
    """Start a stack, sweep, print."""
    parser = argparse.ArgumentParser(prog="python -m bot.ops.bench.length", description=__doc__)
    parser.add_argument("--turns", type=int, default=120)
    parser.add_argument("--conversations", type=int, default=3)
    parser.add_argument("--url", help="an already running Rasa REST webhook (else a stack is started)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--before", type=Path, help="A/B: a copy of the code to measure too, turn about")
    args = parser.parse_args()
    texts = questions()
    if args.before:
        with tempfile.TemporaryDirectory(prefix="zhitang-length-") as name:
            tmp = Path(name)
            with local_stack(tmp / "a", code=args.before) as (before, _), local_stack(tmp / "b") as (after, _):
                results = sweeps({"before": before, "after": after}, texts, args.turns, args.conversations)
        for label, result in results.items():
            print(
                f"{label} ({args.before if label == 'before' else ROOT}):\n{render(result)}\nerrors: {result['errors']}"
            )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return 0
    if args.url:
        result = sweep(args.url, texts, args.turns, args.conversations)
    else:
        with tempfile.TemporaryDirectory(prefix="zhitang-length-") as name, local_stack(Path(name)) as (url, _):
            result = sweep(url, texts, args.turns, args.conversations)
    print(render(result))
    print(f"errors: {result['errors']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
