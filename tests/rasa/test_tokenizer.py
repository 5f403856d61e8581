"""The custom tokenizer, in the Rasa environment: simplified text, no whitespace tokens, KB terms whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_ext.components import ZhitangTokenizer, normalize_text


@pytest.fixture
def tokenizer(tmp_path: Path) -> ZhitangTokenizer:
    """The tokenizer with a user dictionary holding two of the KB's terms."""
    userdict = tmp_path / "dict"
    userdict.mkdir()
    (userdict / "userdict.txt").write_text("15分钟医保服务圈 2000 nz\n跨村通办 2000 nz\n", encoding="utf-8")
    config = {**ZhitangTokenizer.get_default_config(), "dictionary_path": str(userdict)}
    return ZhitangTokenizer.create(
        config, LocalModelStorage(tmp_path / "storage"), Resource("tokenizer"), ExecutionContext(None)
    )


def tokens_of(tokenizer: ZhitangTokenizer, text: str) -> tuple[list[str], str]:
    """Token texts and the message text after processing."""
    message = Message({TEXT: text})
    tokenizer.process([message])
    return [t.text for t in message.get("text_tokens")], message.get(TEXT)


def test_mixed_text_has_no_whitespace_tokens(tokenizer):
    """Rasa #7910: spaces between Chinese and English must not become tokens."""
    words, _ = tokens_of(tokenizer, "我想问 medical insurance 报销 多少")
    assert words and all(w.strip() for w in words)
    assert "medical" in words and "insurance" in words


def test_traditional_is_simplified_before_tokenizing(tokenizer):
    """醫保報銷 is tokenized as 医保报销, and the message text itself is simplified."""
    words, text = tokens_of(tokenizer, "醫保報銷了多少錢")
    assert text == "医保报销了多少钱"
    assert "钱" in words and "錢" not in "".join(words)


def test_kb_terms_are_single_tokens(tokenizer):
    """The user dictionary keeps the service names whole."""
    words, _ = tokens_of(tokenizer, "15分钟医保服务圈和跨村通办是什么")
    assert "15分钟医保服务圈" in words and "跨村通办" in words


@pytest.mark.parametrize(
    "raw, clean", [("ＡＢＣ１２３？", "ABC123?"), ("尊老金\x00\x1b", "尊老金  "), ("尊老金", "尊老金")]
)
def test_normalize_text(raw, clean):
    """Full-width to half-width, control characters out, simplified Chinese."""
    assert normalize_text(raw) == clean


def test_action_response_validation_is_unchanged():
    """The compiled validator accepts what Rasa accepts and still refuses a malformed response."""
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    from bot.rasa_ext import patches as rasa_patches

    rasa_patches.apply()
    action = RemoteAction("action_answer_service", None)
    assert action._validate_action_result(
        {"events": [{"event": "slot", "name": "topic", "value": "x"}], "responses": []}
    )
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})


def test_repeated_texts_are_answered_from_the_cache(tmp_path):
    """A text seen before gets the same intent ranking without running the model again."""
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.rasa_ext.components import CachedDIETClassifier

    (tmp_path / "storage").mkdir()
    storage, context = LocalModelStorage(tmp_path / "storage"), ExecutionContext(None)
    tokenizer = ZhitangTokenizer.create(ZhitangTokenizer.get_default_config(), storage, Resource("t"), context)
    featurizer = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("f"), context
    )
    config = {**CachedDIETClassifier.get_default_config(), "epochs": 2, "entity_recognition": False}
    diet = CachedDIETClassifier.create(config, storage, Resource("d"), context)
    examples = [("尊老金发了多少", "ask_elder_allowance"), ("医保报销了多少", "ask_medical_reimbursement")] * 3
    data = TrainingData([Message({TEXT: text, "intent": intent}) for text, intent in examples])
    tokenizer.process_training_data(data)
    featurizer.train(data)
    featurizer.process_training_data(data)
    diet.train(data)

    def parse(text: str) -> Message:
        message = Message({TEXT: text})
        tokenizer.process([message])
        featurizer.process([message])
        diet.process([message])
        return message

    first = parse("尊老金发了多少钱")
    diet._predict = lambda message: pytest.fail("the model ran for a cached text")
    second = parse("尊老金发了多少钱")
    assert second.get("intent") == first.get("intent")
    assert second.get("intent_ranking") == first.get("intent_ranking")


def test_residents_words_are_rewritten_before_tokenizing_and_kept_in_the_model(tmp_path: Path):
    """Dialect and pinyin become the KB's words (bot/rewrite.py), with the tables loaded back from the model."""
    import json

    folder = tmp_path / "dict"
    folder.mkdir()
    (folder / "userdict.txt").write_text("尊老金 2000 nz\n", encoding="utf-8")
    tables = tmp_path / "lexicon.json"
    tables.write_text(
        json.dumps(
            {
                "colloquial": [{"from": "阿有", "to": "有没有"}, {"from": "伐", "to": "吗", "at_end": True}],
                "pinyin": {"duoshao": "多少", "fa": "发", "le": "了"},
                "names": {"zunlaojin": "尊老金"},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    (tmp_path / "storage").mkdir()
    storage, resource, context = LocalModelStorage(tmp_path / "storage"), Resource("tok"), ExecutionContext(None)
    config = {**ZhitangTokenizer.get_default_config(), "dictionary_path": str(folder), "lexicon_path": str(tables)}
    ZhitangTokenizer.create(config, storage, resource, context).train(None)
    tables.unlink()  # what runs later reads the model, not the build folder
    loaded = ZhitangTokenizer.load(config, storage, resource, context)
    words, text = tokens_of(loaded, "zunlaojin fa le duoshao")
    assert text == "尊老金发了多少" and "尊老金" in words
    assert tokens_of(loaded, "阿有尊老金伐")[1] == "有没有尊老金吗"


def test_a_lexicon_or_dictionary_change_alone_changes_the_tokenizers_fingerprint(tmp_path):
    """Rasa fingerprints a component by its config and inputs: without the files' contents in the fingerprint,
    retraining after a lexicon edit would restore the old tokenizer (and its old tables) from Rasa's cache."""
    from rasa.engine.graph import GraphComponent

    userdict = tmp_path / "dict"
    userdict.mkdir()
    (userdict / "userdict.txt").write_text("跨村通办 2000 nz\n", encoding="utf-8")
    lexicon = tmp_path / "lexicon.json"
    lexicon.write_text('{"colloquial": []}', encoding="utf-8")
    config = {**ZhitangTokenizer.get_default_config(), "dictionary_path": str(userdict), "lexicon_path": str(lexicon)}
    assert GraphComponent.fingerprint_addon.__func__(ZhitangTokenizer, config) is None  # Rasa's own: nothing
    before = ZhitangTokenizer.fingerprint_addon(config)
    assert ZhitangTokenizer.fingerprint_addon(config) == before  # stable
    lexicon.write_text('{"colloquial": [{"from": "阿有", "to": "有没有"}]}', encoding="utf-8")
    after_lexicon = ZhitangTokenizer.fingerprint_addon(config)
    (userdict / "userdict.txt").write_text("跨村通办 2000 nz\n畅通办 2000 nz\n", encoding="utf-8")
    after_dictionary = ZhitangTokenizer.fingerprint_addon(config)
    assert len({before, after_lexicon, after_dictionary}) == 3
