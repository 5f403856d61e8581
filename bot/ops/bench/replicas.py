"""Throughput of the scale-out mode with 1 and with 2 Rasa replicas (PostgreSQL, Redis, gateway), one run.

`python -m bot.ops.bench.replicas [--seconds 20]`: for each replica count, a fresh ScaledStack on free ports in
a temporary folder, a warm-up, then 10 and 50 residents with unique texts through the gateway. Not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from bot.ops import launcher
from bot.ops.bench.length import questions
from bot.ops.bench.load import many_residents
from bot.ops.scaled import ScaledStack


def measure(replicas: int, seconds: float, texts: list[str]) -> dict:
    base = Path(tempfile.mkdtemp(prefix="zhitang-replicas-"))
    base.chmod(0o755)  # PostgreSQL runs as the postgres user
    stack = ScaledStack(
        base,
        replicas=replicas,
        pg_port=launcher.free_port(),
        redis_port=launcher.free_port(),
        rasa_ports=[launcher.free_port() for _ in range(replicas)],
        action_ports=[launcher.free_port() for _ in range(replicas)],
        gateway_port=launcher.free_port(),
        extra_env={"ZHITANG_RATE_LIMIT_ADDRESS": "1000000/minute", "ZHITANG_RATE_LIMIT_SESSION": "1000000/minute"},
    )
    try:
        stack.up()
        chat = f"http://127.0.0.1:{stack.gateway_port}/api/chat"
        many_residents(chat, texts, 10, 5, unique=True)  # warm-up
        out = {}
        for residents in (10, 50):
            r = many_residents(chat, texts, residents, seconds, unique=True)
            out[residents] = {
                "throughput": r.throughput,
                "p50_ms": r.pct(0.5),
                "p95_ms": r.pct(0.95),
                "errors": r.errors,
            }
        return out
    finally:
        stack.down()
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.ops.bench.replicas", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    texts = questions()
    results = {n: measure(n, args.seconds, texts) for n in (1, 2)}
    print(json.dumps(results, indent=2))
    for residents in (10, 50):
        one, two = results[1][residents], results[2][residents]
        print(
            f"{residents} residents: 1 replica {one['throughput']:.1f} msg/s, 2 replicas {two['throughput']:.1f} msg/s "
            f"({two['throughput'] / one['throughput']:.2f}×); errors {one['errors']}, {two['errors']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
