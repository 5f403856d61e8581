"""In the Rasa environment: DIET's intent ranking by NumPy (bot/rasa_ext/diet_numpy.py) is Rasa's own, to float
noise, and every model or message it does not cover goes to Rasa's code."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import yaml
from rasa.engine.graph import ExecutionContext
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from test_patches import tiny_diet

from bot.rasa_ext.components import CachedDIETClassifier
from bot.rasa_ext.diet_numpy import IntentModel

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5  # float32 sums in another order


def ranking(message: Message) -> list[tuple[str, float]]:
    return [(r["name"], r["confidence"]) for r in message.get("intent_ranking")]


def assert_same_ranking(ours: list[tuple[str, float]], rasas: list[tuple[str, float]], text: str) -> None:
    """The same intents with the same confidences; an order may differ only where confidences tie."""
    assert dict(ours).keys() == dict(rasas).keys(), text
    for (name, confidence), (rasa_name, rasa_confidence) in zip(ours, rasas, strict=True):
        assert abs(confidence - dict(rasas)[name]) <= TOLERANCE, text
        assert name == rasa_name or abs(confidence - rasa_confidence) <= TOLERANCE, text


def predict(classifier, tokenizer, featurizer, texts: list[str], numpy: bool) -> list[Message]:
    classifier.NUMPY = numpy
    messages = [Message(data={"text": t}) for t in texts]
    tokenizer.process(messages)
    featurizer.process(messages)
    for message in messages:  # one at a time, as Rasa's graph does, past the cache of repeated texts
        classifier.__dict__.pop("_zhitang_cache", None)
        classifier.process([message])
    return messages


#: DIET as config.yml sets it up (Rasa's default has two transformer layers)
COVERED = {"number_of_transformer_layers": 0, "constrain_similarities": True}


def cached_diet(tmp_path: Path, **config):
    diet, base, texts, (storage, resource, context), (tokenizer, featurizer) = tiny_diet(
        tmp_path, CachedDIETClassifier, **{**COVERED, **config}
    )
    classifier = diet.load(base, storage, resource, context)
    return classifier, texts, tokenizer, featurizer


def test_a_tiny_diets_ranking_by_numpy_is_rasas(tmp_path):
    classifier, texts, tokenizer, featurizer = cached_diet(tmp_path)
    texts += ["", "zzz unknown words", "hello hello hello allowance"]
    rasas = predict(classifier, tokenizer, featurizer, texts, numpy=False)
    ours = predict(classifier, tokenizer, featurizer, texts, numpy=True)
    assert classifier._numpy_model() is not None, "the NumPy path was taken"
    for text, mine, theirs in zip(texts, ours, rasas, strict=True):
        assert mine.get("intent")["name"] == theirs.get("intent")["name"], text
        assert_same_ranking(ranking(mine), ranking(theirs), text)


@pytest.mark.parametrize(
    "config",
    [
        {"number_of_transformer_layers": 1, "transformer_size": 16},
        {"hidden_layers_sizes": {"text": [16], "label": []}},
    ],
    ids=["a transformer", "hidden layers"],
)
def test_models_the_numpy_code_does_not_cover_go_to_rasa(tmp_path, config):
    classifier, texts, tokenizer, featurizer = cached_diet(tmp_path, **config)
    predict(classifier, tokenizer, featurizer, texts[:1], numpy=True)
    assert IntentModel.from_diet(classifier) is None


def test_a_diet_that_recognises_entities_goes_to_rasa(tmp_path, monkeypatch):
    classifier, texts, tokenizer, featurizer = cached_diet(tmp_path)
    predict(classifier, tokenizer, featurizer, texts[:1], numpy=True)
    assert IntentModel.from_diet(classifier) is not None
    monkeypatch.setitem(classifier.component_config, "entity_recognition", True)
    assert IntentModel.from_diet(classifier) is None


def test_a_message_with_dense_features_goes_to_rasa(tmp_path):
    classifier, texts, tokenizer, featurizer = cached_diet(tmp_path)
    predict(classifier, tokenizer, featurizer, texts[:1], numpy=True)
    numpy_model = classifier._numpy_model()
    message = predict(classifier, tokenizer, featurizer, texts[:1], numpy=True)[0]
    assert numpy_model.sentence_row(message) is not None
    message.add_features(Features(np.ones((1, 3), np.float32), "sentence", "text", "Dense"))
    assert numpy_model.sentence_row(message) is None and numpy_model.predict(message) is None
    bare = Message(data={"text": "hello"})
    assert numpy_model.predict(bare) is None  # no features: Rasa's code (which predicts no intent)
    wrong = Message(data={"text": "hello"})
    wrong.add_features(Features(scipy.sparse.coo_matrix((1, 7), dtype=np.float32), "sentence", "text", "Other"))
    assert numpy_model.predict(wrong) is None  # not the trained width


def test_diagnostic_data_comes_from_rasas_code(tmp_path, monkeypatch):
    classifier, texts, tokenizer, featurizer = cached_diet(tmp_path)
    predict(classifier, tokenizer, featurizer, texts[:1], numpy=True)
    monkeypatch.setattr(
        classifier, "_execution_context", ExecutionContext(graph_schema=None, should_add_diagnostic_data=True)
    )
    message = predict(classifier, tokenizer, featurizer, texts[:1], numpy=True)[0]
    assert message.get("diagnostic_data"), "Rasa's prediction adds the transformer's output"


def project_texts() -> list[str]:
    """Every NLU example of the project and every text of the end-to-end question sets."""
    from rasa.shared.nlu.training_data.loading import load_data

    texts: list[str] = []
    for path in [*sorted((ROOT / "data" / "nlu").glob("*.yml")), *sorted((ROOT / "build" / "nlu").glob("*.yml"))]:
        texts += [m.get("text") for m in load_data(str(path)).training_examples]
    for path in sorted((ROOT / "tests" / "e2e").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts += [q["text"] for q in (data or {}).get("questions", []) if isinstance(q, dict) and "text" in q]
    return list(dict.fromkeys(t for t in texts if t))


def test_the_trained_models_rankings_by_numpy_are_rasas_on_every_example_and_question(monkeypatch, trained_agent):
    """The project's model (`make train`) on all its NLU examples and the e2e questions: the whole parse
    (FallbackClassifier included) with NumPy and the count vectors of bot.rasa_ext.patches equals Rasa's own."""
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer

    from bot.rasa_ext import patches

    agent = trained_agent
    nodes = agent.processor.graph_runner._instantiated_nodes  # type: ignore[union-attr]
    diet = next(n._component for n in nodes.values() if isinstance(n._component, CachedDIETClassifier))
    texts = project_texts()
    assert len(texts) > 1000

    async def parse(numpy: bool) -> list[dict]:
        diet.NUMPY = numpy
        features = patches._create_features if numpy else patches._rasa_create_features
        monkeypatch.setattr(CountVectorsFeaturizer, "_create_features", features)
        diet.__dict__.pop("_zhitang_cache", None)
        return [await agent.parse_message(text) for text in texts]

    rasas = asyncio.run(parse(False))
    ours = asyncio.run(parse(True))
    assert diet._numpy_model() is not None, "the NumPy path was taken"
    for text, mine, theirs in zip(texts, ours, rasas, strict=True):
        assert mine["intent"]["name"] == theirs["intent"]["name"], text
        assert abs(mine["intent"]["confidence"] - theirs["intent"]["confidence"]) <= TOLERANCE, text
        assert_same_ranking(
            [(r["name"], r["confidence"]) for r in mine["intent_ranking"]],
            [(r["name"], r["confidence"]) for r in theirs["intent_ranking"]],
            text,
        )
        assert mine["entities"] == theirs["entities"], text
