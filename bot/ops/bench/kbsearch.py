"""KB search latency on synthetic knowledge bases of a given size (derived from the real entries)."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kb.search import KnowledgeIndex

_SYLLABLES = "安宁和平康乐福寿德信诚明华光新盛兴旺顺达通惠民众善美"


def synthetic_entries(real: Sequence[Mapping[str, Any]], size: int, seed: int = 7) -> list[dict[str, Any]]:
    """`size` entries: the real ones, then copies with made-up names and aliases (so names stay distinct)."""
    rng = random.Random(seed)
    out = [dict(copy.deepcopy(e)) for e in real[:size]]
    while len(out) < size:
        entry = dict(copy.deepcopy(rng.choice(real)))
        tag = "".join(rng.choice(_SYLLABLES) for _ in range(3))
        number = len(out)
        entry["id"] = f"{entry['id']}_{number}"
        entry["title"] = {"zh": f"{tag}{entry['title']['zh']}", "en": f"{entry['title']['en']} {number}"}
        entry["aliases"] = {
            "zh": [f"{tag}{a}" for a in entry["aliases"]["zh"]],
            "en": [f"{a} {number}" for a in entry["aliases"]["en"]],
        }
        out.append(entry)
    return out


def search_latency(
    real: Sequence[Mapping[str, Any]], sentences: list[str], size: int, questions: list[str]
) -> dict[str, float]:
    """p50/p95 in ms of one question's KB lookup (BM25 over entries and names in the text); the time of a full
    build, and of the refresh after a staff edit of one entry's fact (kb/token_memo.py), wall and CPU."""
    entries = synthetic_entries(real, size)
    t, cpu = time.perf_counter(), time.process_time()
    index = KnowledgeIndex(entries, sentences)
    build_s, build_cpu_s = time.perf_counter() - t, time.process_time() - cpu
    edited = copy.deepcopy(entries)
    edited[len(edited) // 2]["facts"][0]["zh"] += "（工作人员更新）"
    t, cpu = time.perf_counter(), time.process_time()
    KnowledgeIndex(edited, sentences, previous=index)
    refresh_s, refresh_cpu_s = time.perf_counter() - t, time.process_time() - cpu
    for q in questions[:20]:  # warm jieba's and the tokenizer's caches as a running server has them
        index.search_entries(q)
    timings = []
    for q in questions:
        t = time.perf_counter()
        index.search_entries(q, k=3)
        index.named(q)
        timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    return {
        "p50": timings[len(timings) // 2],
        "p95": timings[int(len(timings) * 0.95)],
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "refresh_s": refresh_s,
        "refresh_cpu_s": refresh_cpu_s,
    }
