"""`make bench`'s report (docs/benchmarks.md): ours against the stock bot on Rasa's REST channel (as issue 13
measured) and through the gateway, each with its ratio; a bench.json from before the REST loads still renders."""

from __future__ import annotations

import copy

from bot.ops.bench.__main__ import gateway_errors, render


def load(throughput: float, p95: float = 100.0) -> dict:
    return {"p50_ms": p95 / 2, "p95_ms": p95, "throughput": throughput, "answered": 100, "errors": 0}


def bot(rest: float, gateway: float) -> dict:
    return {
        "startup_s": 5.0,
        "memory_mb": {"rasa": 800, "actions": 250, "gateway": 170},
        "single": load(60.0),
        "single_repeated": load(70.0),
        "single_gateway": load(55.0),
        "rest_load": {"10": load(rest), "50": load(rest * 0.9)},
        "load": {"10": load(gateway), "50": load(gateway * 0.9)},
        "load_repeated": {"10": load(gateway)},
        "rest_load_30": load(rest * 0.8),
        "load_30": load(gateway * 0.8),
        "length": {"conversations": 2, "errors": 0, "buckets": [{"turns": "1–20", "p50_ms": 20.0, "ratio": 1.0}]},
    }


RESULTS = {
    "when": "now",
    "machine": "2 cores",
    "seconds": 20.0,
    "train": {"ours": 100.0, "stock": 80.0},
    "ours": bot(rest=90.0, gateway=75.0),
    "stock": bot(rest=30.0, gateway=25.0),
    "kb_search": [{"entries": 100, "p50": 0.1, "p95": 0.2, "build_s": 1.0}],
}


def row(report: str, label: str) -> list[str]:
    line = next(line for line in report.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def test_the_report_gives_rest_and_gateway_loads_side_by_side_with_their_ratios():
    report = render(RESULTS)
    assert row(report, "10 residents, REST: throughput (msg/s)") == ["90.0", "30.0", "3.00×"]
    assert row(report, "10 residents, gateway: throughput (msg/s)") == ["75.0", "25.0", "3.00×"]
    assert row(report, "50 residents, REST: throughput (msg/s)") == ["81.0", "27.0", "3.00×"]
    assert row(report, "10 residents, 30-message conversations, REST: throughput (msg/s)") == ["72.0", "24.0", "3.00×"]
    assert row(report, "10 residents, 30-message conversations, gateway: p95 (ms)") == ["100.0", "100.0", "1.00×"]


def test_a_bench_json_from_before_the_rest_loads_still_renders():
    old = copy.deepcopy(RESULTS)
    for name in ("ours", "stock"):
        for key in ("rest_load", "rest_load_30"):
            del old[name][key]
    report = render(old)
    assert "10 residents, gateway: throughput (msg/s)" in report and "REST: throughput" not in report


def test_the_gateways_errors_are_told_by_their_reason_from_its_log(tmp_path):
    """Errors through the gateway come with why (what its log says), for the bot that had them only."""
    log = tmp_path / "gateway.log"
    log.write_text(
        "ERROR Rasa sent no message (is the action server down?)\n" * 3
        + "WARNING Rasa timed out: ReadTimeout('')\nINFO 200 OK\n",
        encoding="utf-8",
    )
    assert gateway_errors(log) == {"Rasa's reply held no message": 3, "Rasa timed out": 1}
    assert gateway_errors(tmp_path / "missing.log") == {}
    results = copy.deepcopy(RESULTS)
    results["stock"]["gateway_errors"] = gateway_errors(log)
    results["ours"]["gateway_errors"] = {}
    report = render(results)
    assert (
        "errors with the stock bot (its log, all load runs): Rasa's reply held no message: 3; Rasa timed out: 1."
        in report
    )
    assert "errors with ours" not in report
