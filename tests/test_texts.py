"""The bilingual text tables (bot/texts.py): a missing translation fails at load, never in front of a resident."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.i18n import BUTTONS, FACET_NAMES, TEXTS, t
from bot.texts import fill, load_texts
from bot.web.gateway.i18n import MESSAGES


@pytest.mark.parametrize(
    "yaml_text, problem",
    [
        ("a: {zh: 你好}\n", "needs a text in each of zh, en"),
        ("a: {zh: '{title}的数字', en: 'the figure'}\n", "different placeholders"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_a_table_with_a_missing_translation_is_refused(tmp_path: Path, yaml_text, problem):
    path = tmp_path / "texts.yml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        load_texts(path)


def test_the_shipped_tables_load_and_fill_in_each_language():
    assert TEXTS and BUTTONS and FACET_NAMES and MESSAGES
    assert t("in_year", "zh", year="2022", text="X") == "2022年：X"
    assert t("in_year", "en", year="2022", text="X") == "In 2022: X"
    assert fill(MESSAGES, "too_long", "fr", limit=500) == fill(MESSAGES, "too_long", "zh", limit=500)
