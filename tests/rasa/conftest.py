"""Fixtures of the Rasa-environment tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def trained_agent() -> Any:
    """The project's newest model (the one `make train` just made) loaded with bot.rasa_ext's patches, as
    `rasa run` loads it. Skipped without a model, except under `make model-test`, which trains first."""
    from rasa.core.agent import Agent

    from bot.rasa_ext import patches

    models = sorted((ROOT / "models").glob("zhitang-*.tar.gz"), key=lambda path: path.stat().st_mtime)
    if not models:
        if os.environ.get("ZHITANG_REQUIRE_MODEL"):
            pytest.fail("no trained model in models/")
        pytest.skip("no trained model: run `make train`")
    patches.apply()
    return Agent.load(str(models[-1]))
