"""How an end-to-end question set is scored, shared by the tests and `python -m tests.e2e.scoring SET.yml`.

A case is {text, lang, expect | expect_unknown | expect_kind, entry?, kind?}:
- `expect_kind: answer` (or a plain `expect` list): the reply holds one of `expect` (whole numbers match
  whole: "30" is not found in "1300");
- `expect_kind: unknown` (or `expect_unknown: true`): the reply says the KB does not have it, with no
  phone-like number;
- `expect_kind: scope`: no facts of any service and no "did you mean" list.
Every reply must be in the case's language. The wrong-entry audit: a reply that states an entry's facts
must be about the case's `entry`; with no entry (scope, about the bot) it must state none. `also_entry` lists
other entries whose facts answer the case as well, where the set's label and the KB's own names disagree and
both are right (each such case says why in a comment beside it).
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.language import has_cjk

# Kinds of reply (the actions' custom payload) that state an entry's facts.
FACT_KINDS = {"answer", "field", "field_unknown", "year_unknown", "facet_unknown", "premise", "summary"}
UNKNOWN_KINDS = {"field_unknown", "dont_know", "year_unknown", "facet_unknown", "personal_record"}
SCOPE_REFUSED = {"did_you_mean", "sentence"}  # a list of unrelated services or a report passage is no scope
PHONE_LIKE = re.compile(r"\d{7,}|\d{3,4}-\d{7,8}")


def text_of(messages: list[dict]) -> str:
    """All the bot's text in one string."""
    return "\n".join(m.get("text", "") for m in messages if m.get("text"))


def customs(messages: list[dict]) -> list[dict]:
    """The actions' custom payloads (kind, entry, source) of a reply."""
    return [m["custom"] for m in messages if isinstance(m.get("custom"), dict)]


def kinds_of(messages: list[dict]) -> set[str]:
    """The kinds of reply the actions reported (answer, field_unknown, dont_know …)."""
    return {c.get("kind") for c in customs(messages)}


def stated_entries(messages: list[dict]) -> set[str]:
    """The entries whose facts a reply states."""
    return {c["entry"] for c in customs(messages) if c.get("kind") in FACT_KINDS and c.get("entry")}


def contains(text: str, expected: str) -> bool:
    """`expected` in `text`; a figure only as a whole number ("30" is not in "1300" or "30.5")."""
    if re.fullmatch(r"[\d.,]+", expected):
        return re.search(rf"(?<![\d.,]){re.escape(expected)}(?![\d]|[.,]\d)", text) is not None
    return expected.lower() in text.lower()


def expected_kind(case: dict) -> str:
    if case.get("expect_kind"):
        return case["expect_kind"]
    return "unknown" if case.get("expect_unknown") else "answer"


def wrong_entry(case: dict, messages: list[dict]) -> bool:
    """A confident answer about another service (or any service's facts where none were asked for)."""
    stated = stated_entries(messages)
    if not stated:
        return False
    if case.get("entry"):
        return not ({case["entry"], *case.get("also_entry", [])} & stated)
    return expected_kind(case) == "scope" or "entry" in case  # `entry: null` says: about no service


def check(case: dict, messages: list[dict]) -> str | None:
    """Why a reply fails its case, or None when it is right."""
    text = text_of(messages)
    if not text:
        return "no text reply"
    if case["lang"] == "en" and has_cjk(text):
        return "English question, reply has Chinese"
    if case["lang"] == "zh" and not has_cjk(text):
        return "Chinese question, reply has no Chinese"
    if wrong_entry(case, messages):
        return f"WRONG ENTRY: stated {sorted(stated_entries(messages))}, asked {case.get('entry')}"
    kind = expected_kind(case)
    if kind == "unknown":
        if not kinds_of(messages) & UNKNOWN_KINDS:
            return f"should say it does not know, got {kinds_of(messages)}"
        if PHONE_LIKE.search(text):
            return "a phone-like number in a 'do not know' reply"
        return None
    if kind == "scope":
        refused = kinds_of(messages) & SCOPE_REFUSED
        return f"should state its scope, got {sorted(refused)}" if refused else None
    if not any(contains(text, expected) for expected in case["expect"]):
        return f"none of {case['expect']} in reply"
    return None


@dataclass
class Result:
    """A set's verdicts: (case, why or None, reply text) for every question and conversation turn."""

    name: str
    rows: list[tuple[dict, str | None, str]] = field(default_factory=list)

    def score(self, lang: str) -> float:
        mine = [r for r in self.rows if r[0]["lang"] == lang]
        return sum(1 for r in mine if r[1] is None) / len(mine) if mine else 1.0

    def wrong_entries(self) -> list[tuple[dict, str | None, str]]:
        return [r for r in self.rows if r[1] and r[1].startswith("WRONG ENTRY")]

    def report(self) -> dict[str, Any]:
        by_kind: dict[str, Counter] = {}
        for case, why, _ in self.rows:
            counter = by_kind.setdefault(case.get("kind", "-"), Counter())
            counter["asked"] += 1
            counter["right"] += why is None
        return {
            "zh": round(self.score("zh"), 3),
            "en": round(self.score("en"), 3),
            "asked": {lang: sum(1 for r in self.rows if r[0]["lang"] == lang) for lang in ("zh", "en")},
            "wrong_entry": len(self.wrong_entries()),
            "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
            "failures": [
                {"text": c["text"], "kind": c.get("kind"), "why": why, "reply": reply[:240]}
                for c, why, reply in self.rows
                if why
            ],
        }


def run_set(name: str, questions: dict, ask: Callable[[str, str | None], list[dict]]) -> Result:
    """Ask every single question (each in its own conversation) and every conversation, turn by turn."""
    result = Result(name)
    for case in questions.get("questions") or []:
        messages = ask(case["text"], None)
        result.rows.append((case, check(case, messages), text_of(messages)))
    for conversation in questions.get("conversations") or []:
        sender = uuid.uuid4().hex
        for turn in conversation:
            messages = ask(turn["text"], sender)
            result.rows.append((turn, check(turn, messages), text_of(messages)))
    return result


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    """`python -m tests.e2e.scoring RASA_URL SET.yml [OUT.json]`: score a set against a running Rasa."""
    import httpx

    url, path = argv[0].rstrip("/"), Path(argv[1])

    def ask(text: str, sender: str | None) -> list[dict]:
        body = {"sender": sender or uuid.uuid4().hex, "message": text}
        return httpx.post(f"{url}/webhooks/rest/webhook", json=body, timeout=60).json()

    report = run_set(path.stem, load(path), ask).report()
    out = json.dumps(report, ensure_ascii=False, indent=2)
    if len(argv) > 2:
        Path(argv[2]).write_text(out, encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("zh", "en", "asked", "wrong_entry", "by_kind")}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
