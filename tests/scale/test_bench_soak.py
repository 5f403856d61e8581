"""`make bench`'s soak, short: paced residents with unique texts on a local stack, every process's memory sampled,
no errors. Timings are the benchmark's business (docs/benchmarks.md): nothing here asserts one."""

from __future__ import annotations

from bot.ops.bench.__main__ import soak
from bot.ops.bench.length import local_stack, questions
from bot.ops.bench.load import Texts, rest_body, tag


def test_unique_texts_are_distinct_and_carry_no_digits():
    texts = ["尊老金发了多少?", "How much is the elder allowance?"]
    sent = [next(source) for source in [Texts(texts, True, salt="x")] for _ in range(2000)]
    assert len(set(sent)) == len(sent)
    assert not any(ch.isdigit() for text in sent for ch in text.split()[-1])
    assert tag(0) != tag(1)


def test_short_soak_answers_everything_and_samples_every_process(tmp_path):
    with local_stack(tmp_path) as (rest, procs):
        result = soak(rest, questions(), procs, seconds=12, rate=4.0, body=rest_body)
    assert result["errors"] == 0 and result["answered"] > 10
    assert set(result["memory"]) == {"actions", "rasa"}
    assert all(len(samples) >= 3 and all(mb > 0 for _, mb in samples) for samples in result["rss"].values())
