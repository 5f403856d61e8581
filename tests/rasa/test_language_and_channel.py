"""In the Rasa environment: the LanguageDetector fills the `language` entity by bot/language.py's rule, keeps
the KB's names with the model, and the REST channel puts the widget's language on button payloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.channels.rest import RestInput
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_ext.channel import ZhitangRestInput, with_chosen_language
from bot.rasa_ext.components import LanguageDetector


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    (tmp_path / "storage").mkdir()
    return LocalModelStorage(tmp_path / "storage")


@pytest.fixture
def detector(tmp_path: Path, storage: LocalModelStorage) -> LanguageDetector:
    """A detector trained with two of the KB's names, then loaded back from the model storage."""
    folder = tmp_path / "dict"
    folder.mkdir()
    (folder / "userdict.txt").write_text("跨村通办 2000 nz\n尊老金 2000 nz\n", encoding="utf-8")
    config = {**LanguageDetector.get_default_config(), "dictionary_path": str(folder)}
    resource, context = Resource("language"), ExecutionContext(None)
    LanguageDetector.create(config, storage, resource, context).train(TrainingData([]))
    return LanguageDetector.load({**config, "dictionary_path": None}, storage, resource, context)


def language_of(detector: LanguageDetector, text: str, metadata: dict | None = None) -> str | None:
    message = Message({TEXT: text, METADATA: metadata or {}})
    detector.process([message])
    found = [e["value"] for e in message.get(ENTITIES, []) if e["entity"] == "language"]
    assert len(found) <= 1
    return found[0] if found else None


def test_names_kept_with_the_model_make_a_chinese_name_in_english_english(detector):
    assert detector.names == ["跨村通办", "尊老金"]
    assert language_of(detector, "What is 跨村通办?") == "en"
    assert language_of(detector, "尊老金发了多少") == "zh"


@pytest.mark.parametrize("text", ["👍", "123", "？"])
def test_a_message_without_language_sets_no_entity(detector, text):
    """No entity, so the from_entity slot keeps the conversation's language."""
    assert language_of(detector, text, {"lang": "en"}) is None


def test_a_request_for_a_language_wins(detector):
    assert language_of(detector, "英文说一下") == "en"
    assert language_of(detector, "answer in Chinese please") == "zh"


@pytest.mark.parametrize(
    "text, metadata, sent",
    [
        ("/greet", {"lang": "en"}, '/greet{"language": "en"}'),
        ("/ask_elder_allowance", {"lang": "zh"}, '/ask_elder_allowance{"language": "zh"}'),
        ("/greet", {}, "/greet"),
        ("/greet", {"lang": "fr"}, "/greet"),
        ('/greet{"language": "zh"}', {"lang": "en"}, '/greet{"language": "zh"}'),
        ("尊老金发了多少", {"lang": "en"}, "尊老金发了多少"),
    ],
)
def test_payloads_carry_the_widgets_language(text, metadata, sent):
    assert with_chosen_language(text, metadata) == sent


def test_the_channel_keeps_rests_webhook_and_applies_the_patches():
    from rasa.core.actions.action import RemoteAction

    from bot.rasa_ext import patches

    assert ZhitangRestInput.name() == RestInput.name() == "rest"
    ZhitangRestInput()
    assert RemoteAction._validate_action_result is patches._validate_action_result
