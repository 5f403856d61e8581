"""In the Rasa environment: each fix of bot/rasa_ext/patches.py gives what Rasa's own code gives."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.policy import Policy
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUtteranceReverted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker

from bot.language import requested_language, without_language_request
from bot.rasa_ext import patches
from bot.rasa_ext.tracker_store import PooledSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]
INTENTS = ["greet", "ask_a", "ask_b", "ask_followup", "thank"]
DOMAIN = Domain.from_yaml(f"""
version: "3.1"
intents: {json.dumps(INTENTS)}
entities: [language]
slots:
  topic: {{type: text, influence_conversation: false, mappings: [{{type: custom}}]}}
actions: [action_answer, action_courtesy]
responses:
  utter_greet: [{{text: hi}}]
""")
TEXTS = ["尊老金多少", "英文说一下", "what about medical insurance", "in English please", "/ask_a", "谢谢", "用中文"]


def turn(n: int, at: float) -> list:
    """One resident turn as Rasa logs it: the message, the action (one of two), a slot, the bot, listening."""
    intent = INTENTS[n * 7 % len(INTENTS)]
    text = f"{TEXTS[n % len(TEXTS)]} {n}" if n % 5 else TEXTS[n % len(TEXTS)]
    action = "action_answer" if n % 3 else "action_courtesy"
    return [
        UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=at),
        ActionExecuted(action, timestamp=at + 0.01),
        BotUttered("reply", timestamp=at + 0.02),
        SlotSet("topic", f"t{n % 4}", timestamp=at + 0.03),
        ActionExecuted("action_listen", timestamp=at + 0.04),
    ]


def long_tracker(turns: int, until: int | None = None) -> DialogueStateTracker:
    """A conversation of `turns` turns; `until`: cut it after that many events (mid-turn predictions)."""
    events: list = [ActionExecuted("action_listen", timestamp=1.0)]
    for n in range(turns):
        events += turn(n, 2.0 + n)
    return DialogueStateTracker.from_events("s", events[:until], DOMAIN.slots)


def rule_policy(tmp_path: Path, rules: dict[str, str]) -> RulePolicy:
    """A RulePolicy holding the given rules (feature key -> action), as training leaves it."""
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(graph_schema=None, model_id="m")  # type: ignore[arg-type]
    policy = RulePolicy.create(RulePolicy.get_default_config(), storage, Resource("rule"), context)
    policy.lookup = {RULES: rules, RULES_FOR_LOOP_UNHAPPY_PATH: {}}
    return policy


def rules_from(tracker: DialogueStateTracker, policy: RulePolicy, lengths: list[int]) -> dict[str, str]:
    """Rules made of the conversation's own last states (so they match), of several lengths."""
    states = patches._rasa_prediction_states(policy, tracker, DOMAIN)  # Rasa's own
    return {policy._create_feature_key(states[-k:]): f"action_{k}" for k in lengths}


def test_rule_states_of_the_tail_are_rasas(tmp_path):
    """The tail's states, but its first, are the last states of Rasa's whole-conversation states."""
    policy = rule_policy(tmp_path, {})
    for cut in (None, -1, -2, -3, -4):
        tracker = long_tracker(40, cut)
        tail = patches.tail_tracker(tracker, DOMAIN, 4)
        assert tail is not None and len(tail.events) < len(tracker.events) / 5
        full = patches._rasa_prediction_states(policy, tracker, DOMAIN)
        short = patches._rasa_prediction_states(policy, tail, DOMAIN)
        assert len(short) >= 6
        assert short[1:] == full[-(len(short) - 1) :]


@pytest.mark.parametrize("cut", [None, -1, -2, -3, -4])
def test_rule_predictions_are_rasas(tmp_path, monkeypatch, cut):
    """The patched RulePolicy predicts what Rasa's does, for matching and non-matching rules."""
    reference = long_tracker(30, cut)
    policy = rule_policy(tmp_path, {})
    rules = rules_from(reference, policy, [2, 3, 5])
    rules.update(rules_from(long_tracker(31, -2), policy, [4]))  # a rule of another moment: no match here
    policy = rule_policy(tmp_path, rules)
    for tracker in (long_tracker(30, cut), long_tracker(3, cut), long_tracker(60, cut)):
        monkeypatch.setattr(Policy, "_prediction_states", patches._rasa_prediction_states)
        expected = policy._find_action_from_rules(tracker, DOMAIN, False)[0]
        monkeypatch.setattr(Policy, "_prediction_states", patches._prediction_states)
        got = policy._find_action_from_rules(tracker, DOMAIN, False)[0]
        assert got == expected
    assert expected is None or expected.startswith("action_")


def test_rule_states_fall_back_to_rasa():
    """Short conversations, undone events, slots that count or forms: Rasa's whole conversation."""
    assert patches.tail_tracker(long_tracker(2), DOMAIN, 4) is None
    undone = long_tracker(20)
    undone.update(UserUtteranceReverted(timestamp=99.0))
    assert patches.tail_tracker(undone, DOMAIN, 4) is None
    counting = Domain.from_yaml(
        'version: "3.1"\nintents: [greet]\nslots:\n  topic: {type: text, mappings: [{type: custom}]}\n'
    )
    assert patches.tail_tracker(long_tracker(20), counting, 4) is None


def previous_user_message_of_actions() -> Any:
    """actions/service.py's previous_user_message itself (its module needs the app's environment)."""
    source = (ROOT / "actions" / "service.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "previous_user_message")
    namespace: dict[str, Any] = {
        "requested_language": requested_language,
        "without_language_request": without_language_request,
        "Tracker": Tracker,
        "Any": Any,
    }
    exec(compile(ast.Module(body=[node], type_ignores=[]), "service.py", "exec"), namespace)  # noqa: S102
    return namespace["previous_user_message"]


@pytest.mark.parametrize("turns", [1, 2, 3, 7, 25])
def test_action_server_gets_what_the_actions_read(turns):
    """The trimmed tracker has Rasa's slots and latest message and the same previous user message."""
    previous = previous_user_message_of_actions()
    action = RemoteAction("action_answer", None)
    for cut in (None, -3):
        tracker = long_tracker(turns, cut)
        rasa = patches._rasa_action_call_format(action, tracker, DOMAIN)
        ours = patches._action_call_format(action, tracker, DOMAIN)
        assert "current_state" not in vars(tracker)
        assert {k: v for k, v in ours["tracker"].items() if k != "events"} == {
            k: v for k, v in rasa["tracker"].items() if k != "events"
        }
        assert {k: v for k, v in ours.items() if k != "tracker"} == {k: v for k, v in rasa.items() if k != "tracker"}
        assert ours["tracker"]["events"] == rasa["tracker"]["events"][-len(ours["tracker"]["events"]) :]
        full, short = Tracker.from_dict(rasa["tracker"]), Tracker.from_dict(ours["tracker"])
        assert previous(short) == previous(full)
    if turns >= 7:
        assert len(ours["tracker"]["events"]) < len(rasa["tracker"]["events"]) / 2


def test_tracker_store_hands_back_only_saved_trackers(tmp_path):
    """The kept tracker comes back while it holds exactly the stored events; else it is rebuilt from rows."""
    store = PooledSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))

    async def run() -> None:
        tracker = long_tracker(3)
        await store.save(tracker)
        again = await store.retrieve("s")
        assert again is tracker
        for event in turn(9, 50.0)[:2]:  # a message that failed before its save
            again.update(event)
        rebuilt = await store.retrieve("s")
        assert rebuilt is not again
        assert [e.as_dict() for e in rebuilt.events] == [e.as_dict() for e in long_tracker(3).events]

    asyncio.run(run())


def sparse(rows: int, cols: int, nnz: int, dtype: Any, seed: int, fmt: str = "coo") -> Any:
    """A random sparse matrix as the CountVectorsFeaturizers make them (COO, counts)."""
    import numpy as np
    import scipy.sparse

    rng = np.random.default_rng(seed)
    dense = np.zeros((rows, cols), dtype=dtype)
    for _ in range(nnz):
        dense[rng.integers(rows), rng.integers(cols)] += 1
    return scipy.sparse.coo_matrix(dense).asformat(fmt)


def combined(fix: Any, left: Any, right: Any) -> Any:
    """Features(left).combine_with_features(Features(right)) with `fix` as _combine_sparse_features."""
    from rasa.shared.nlu.training_data.features import Features

    mine = Features(left, "sequence", "text", "CountVectorsFeaturizer1")
    theirs = Features(right, "sequence", "text", "CountVectorsFeaturizer2")
    fix(mine, theirs)
    return mine.features


@pytest.mark.parametrize(
    "left, right",
    [
        ((7, 1200, 15, "float32", 1), (7, 30000, 60, "float32", 2)),  # words, then character n-grams
        ((1, 1200, 4, "int64", 3), (1, 30000, 20, "int64", 4)),  # the sentence features
        ((3, 50, 0, "float32", 5), (3, 80, 9, "float32", 6)),  # nothing in the first
        ((2, 50, 5, "float32", 7), (2, 80, 0, "float32", 8)),  # nothing in the second
        ((4, 50, 5, "float32", 9), (4, 80, 5, "float64", 10)),  # dtypes differ: Rasa's code (upcast)
        ((4, 50, 5, "float32", 11, "csr"), (4, 80, 5, "float32", 12)),  # not COO: Rasa's code
    ],
)
def test_sparse_features_are_joined_as_rasa_joins_them(left, right):
    a, b = sparse(*left), sparse(*right)
    ours = combined(patches._combine_sparse_features, a, b)
    rasas = combined(patches._rasa_combine_sparse_features, a, b)
    assert (ours.format, ours.dtype, ours.shape) == (rasas.format, rasas.dtype, rasas.shape)
    for part in ("row", "col", "data"):
        assert getattr(ours, part).dtype == getattr(rasas, part).dtype, part
        assert getattr(ours, part).tolist() == getattr(rasas, part).tolist(), part
    assert (ours != rasas).nnz == 0


def test_sparse_features_of_different_lengths_get_rasas_error():
    a, b = sparse(3, 50, 5, "float32", 1), sparse(4, 80, 5, "float32", 2)
    with pytest.raises(ValueError, match="sequence dimensions do not match"):
        combined(patches._combine_sparse_features, a, b)


def test_a_messages_sparse_features_are_rasas_with_the_fix_applied(monkeypatch):
    """Message.get_sparse_features, as DIET calls it, gives the same matrices with and without the fix."""
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    def message() -> Message:
        msg = Message(data={"text": "尊老金 发 了 多少"})
        for n, (seq, sent) in enumerate([((4, 900, 8), (1, 900, 4)), ((4, 20000, 30), (1, 20000, 25))]):
            name = f"CountVectorsFeaturizer{n}"
            msg.add_features(Features(sparse(*seq, "float32", n), "sequence", "text", name))
            msg.add_features(Features(sparse(*sent, "float32", n + 10), "sentence", "text", name))
        return msg

    monkeypatch.setattr(Features, "_combine_sparse_features", patches._rasa_combine_sparse_features)
    expected = message().get_sparse_features("text")
    monkeypatch.setattr(Features, "_combine_sparse_features", patches._combine_sparse_features)
    got = message().get_sparse_features("text")
    for ours, rasas in zip(got, expected, strict=True):
        assert ours.features.shape == rasas.features.shape and (ours.features != rasas.features).nnz == 0
        assert ours.features.col.tolist() == rasas.features.col.tolist()


def tiny_diet(tmp_path: Path, diet_class: Any = None, **overrides: Any) -> tuple[Any, Any, list[Any], Any, Any]:
    """A DIET (Rasa's, or `diet_class`) trained for two epochs on a few examples (with the tokenizer and
    featurizer it reads), persisted; `overrides`: settings of DIET's config."""
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = {
        "greet": ["hello there", "hi", "good morning", "hey friend"],
        "ask_allowance": ["how much is the elder allowance", "elder allowance amount", "allowance for seniors"],
        "ask_insurance": ["medical insurance refund", "how do I claim insurance", "insurance office hours"],
    }
    data = TrainingData([Message(data={"text": t, "intent": i}) for i, ts in examples.items() for t in ts])
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(graph_schema=None, model_id="m")  # type: ignore[arg-type]
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizer = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("cvf"), context
    )
    tokenizer.process_training_data(data)
    featurizer.train(data)
    featurizer.process_training_data(data)
    config = {**DIETClassifier.get_default_config(), "epochs": 2, "random_seed": 1, "entity_recognition": False}
    config.update(overrides)
    DIETClassifier = diet_class or DIETClassifier  # noqa: N806 (the class)
    resource = DIETClassifier.create(config, storage, Resource("diet"), context).train(data)
    texts = ["hello", "elder allowance please", "insurance refund amount", "good evening friend"]
    return DIETClassifier, config, texts, (storage, resource, context), (tokenizer, featurizer)


def test_diet_loads_without_a_training_step_and_predicts_as_rasas_load(tmp_path, monkeypatch):
    """Rasa's load and ours give the same intent ranking, to the last digit; ours does not call `fit`."""
    from rasa.shared.nlu.training_data.message import Message
    from rasa.utils.tensorflow.models import RasaModel

    diet, config, texts, (storage, resource, context), (tokenizer, featurizer) = tiny_diet(tmp_path)

    def predictions() -> list:
        classifier = diet.load(config, storage, resource, context)
        messages = [Message(data={"text": t}) for t in texts]
        tokenizer.process(messages)
        featurizer.process(messages)
        classifier.process(messages)
        return [(m.get("intent"), m.get("intent_ranking")) for m in messages]

    monkeypatch.setattr(RasaModel, "load", classmethod(patches._rasa_model_load))
    rasas = predictions()
    monkeypatch.setattr(RasaModel, "load", classmethod(patches._model_load))
    fitted: list = []
    monkeypatch.setattr(RasaModel, "fit", lambda self, *a, **k: fitted.append(1))
    assert predictions() == rasas
    assert not fitted, "no training step at load"


def test_diet_load_falls_back_to_rasa_when_a_weight_is_missing(tmp_path, monkeypatch):
    """A weights file that lacks a weight of the model: Rasa's own load (and its training step) runs."""
    from rasa.utils.tensorflow.models import RasaModel

    diet, config, _, (storage, resource, context), _ = tiny_diet(tmp_path)
    calls: list = []
    rasas_own = patches._rasa_model_load

    def rasa_load(cls, *args, **kwargs):
        calls.append(args[3] if len(args) > 3 else kwargs.get("finetune_mode"))
        return rasas_own(cls, *args, **kwargs)

    def broken(self, *args, **kwargs):
        status = real_load_weights(self, *args, **kwargs)

        class Unmatched:
            def assert_existing_objects_matched(self):
                raise AssertionError("a weight is missing")

            def expect_partial(self):
                return status.expect_partial()

        return Unmatched()

    real_load_weights = RasaModel.load_weights
    monkeypatch.setattr(patches, "_rasa_model_load", rasa_load)
    monkeypatch.setattr(RasaModel, "load", classmethod(patches._model_load))
    monkeypatch.setattr(RasaModel, "load_weights", broken)
    assert diet.load(config, storage, resource, context).model is not None  # Rasa's own load does not ask
    assert calls == [False], "Rasa's load was asked"


@pytest.mark.parametrize(
    "domain",
    [Domain.empty(), DOMAIN, Domain.from_dict({"intents": ["greet"]}), Domain.from_dict({})],
    ids=["empty", "a domain", "one intent", "parsed from {}"],
)
def test_whether_a_domain_is_empty_is_rasas_answer(domain):
    assert patches._domain_is_empty(domain) is patches._rasa_domain_is_empty(domain)


def test_the_objects_of_the_start_up_are_frozen_once_the_server_has_started():
    import gc

    from bot.rasa_ext.channel import ZhitangRestInput

    async def on_new_message(_message: Any) -> None:
        return None

    blueprint = ZhitangRestInput().blueprint(on_new_message)
    listeners = [(f.listener, f.event) for f in blueprint._future_listeners]
    assert (patches.freeze_loaded_objects, "after_server_start") in listeners
    try:
        patches.freeze_loaded_objects(None, None)  # Sanic passes the app and the loop
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


COUNT_TEXTS = [
    "尊老金 发 了 多少",
    "How much is the Elder allowance",
    "allowance allowance 2024 是 多少",
    "zzz 未知 词",
]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 3},
        {"analyzer": "char", "min_ngram": 2, "max_ngram": 4, "lowercase": False},
        {"OOV_token": "oov", "OOV_words": ["zzz"]},
        {"use_shared_vocab": True},
    ],
    ids=["words", "char_wb 1-3 (config.yml)", "char 2-4", "OOV token", "shared vocabulary"],
)
def test_count_vectors_of_a_message_are_rasas(tmp_path, monkeypatch, config):
    """Each message's sequence and sentence rows equal Rasa's (values, indices, order, dtype, shape), with rows
    of tokens seen before taken from memory."""
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    storage, context = LocalModelStorage(tmp_path), ExecutionContext(graph_schema=None, model_id="m")  # type: ignore
    featurizer = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), **config}, storage, Resource("cvf"), context
    )
    data = TrainingData([Message(data={"text": t, "intent": "x"}) for t in COUNT_TEXTS[:3] + ["zzz seen"]])
    tokenizer.process_training_data(data)
    featurizer.train(data)

    def features(texts: list[str]) -> list:
        messages = [Message(data={"text": t}) for t in texts]
        tokenizer.process(messages)
        for message in messages:
            featurizer.process([message])
        return [[f.features for f in m.features] for m in messages]

    texts = COUNT_TEXTS + ["多少 多少 allowance", "2024"]
    monkeypatch.setattr(CountVectorsFeaturizer, "_create_features", patches._rasa_create_features)
    rasas = features(texts)
    monkeypatch.setattr(CountVectorsFeaturizer, "_create_features", patches._create_features)
    ours = features(texts) + features(texts)  # the second time from the kept rows
    assert featurizer.__dict__["_zhitang_rows"], "the rows were kept"
    for mine, theirs in zip(ours, rasas + rasas, strict=True):
        assert len(mine) == len(theirs) == 2
        for a, b in zip(mine, theirs, strict=True):
            assert a.format == b.format == "coo" and a.shape == b.shape and a.dtype == b.dtype
            for part in ("row", "col", "data"):
                assert getattr(a, part).tolist() == getattr(b, part).tolist()
                assert getattr(a, part).dtype == getattr(b, part).dtype


def test_count_vectors_of_several_messages_or_no_tokens_are_rasas_own(monkeypatch):
    calls: list = []
    monkeypatch.setattr(patches, "_rasa_create_features", lambda self, a, tokens: calls.append(tokens) or ([], []))

    from sklearn.feature_extraction.text import CountVectorizer

    class Featurizer:
        vectorizers = {"text": CountVectorizer()}

    patches._create_features(Featurizer(), "text", [["a"], ["b"]])  # type: ignore[arg-type]
    patches._create_features(Featurizer(), "text", [[]])  # type: ignore[arg-type]
    assert calls == [[["a"], ["b"]], [[]]]


def test_action_calls_reuse_one_connection_with_the_endpoints_headers(monkeypatch):
    """Rasa's `EndpointConfig.request` with the kept session: three calls, one TCP connection, the endpoint's
    headers on each; another endpoint setting gets its own session; nothing is kept outside an event loop."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    monkeypatch.setattr(EndpointConfig, "session", patches._endpoint_session)
    seen: list[tuple[int, str | None]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((id(request.transport), request.headers.get("Authorization")))
        return web.json_response({"ok": await request.json()})

    async def run() -> list:
        app = web.Application()
        app.router.add_post("/webhook", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"Authorization": "Bearer s"})
        replies = [await endpoint.request(json={"n": n}) for n in range(3)]
        other = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"Authorization": "Bearer t"})
        replies.append(await other.request(json={"n": 3}))
        loop = asyncio.get_running_loop()
        sessions = [s for e in (endpoint, other) for s in e.__dict__["_zhitang_sessions"][loop].values()]
        assert len(sessions) == 2 and not any(s.closed for s in sessions)
        for s in sessions:
            await s.close()
        await runner.cleanup()
        return replies

    assert asyncio.run(run()) == [{"ok": {"n": n}} for n in range(4)]
    assert len({transport for transport, _ in seen[:3]}) == 1, "one connection for the three calls"
    assert [auth for _, auth in seen] == ["Bearer s"] * 3 + ["Bearer t"]
    monkeypatch.setattr(patches, "_rasa_endpoint_session", lambda endpoint: "Rasa's own")
    assert EndpointConfig("http://127.0.0.1:1/").session() == "Rasa's own"  # not in an event loop


def sample_events() -> list[dict[str, Any]]:
    """One event of each type Rasa serialises, as an action server sends it back."""
    from datetime import datetime

    from rasa.shared.core import events as ev

    made = [
        ev.UserUttered("尊老金", {"name": "ask", "confidence": 0.9}, [{"entity": "e", "value": "v"}], timestamp=1.0),
        ev.ActionExecuted("action_answer", policy="RulePolicy", confidence=1.0),
        ev.SlotSet("topic", {"nested": [1, "a"]}),
        ev.SlotSet("topic", None),
        ev.BotUttered("reply", {"buttons": []}, {"cite": "x"}),
        ev.SessionStarted(),
        ev.Restarted(),
        ev.AllSlotsReset(),
        ev.FollowupAction("action_listen"),
        ev.ActiveLoop("a_form"),
        ev.ActiveLoop(None),
        ev.ReminderScheduled("EXTERNAL_remind", datetime(2026, 12, 1, 12, 0), name="r"),
        ev.ReminderCancelled(name="r"),
        ev.ConversationPaused(),
        ev.ConversationResumed(),
        ev.UserUtteranceReverted(),
        ev.ActionReverted(),
        ev.StoryExported("story.yml"),
        ev.LoopInterrupted(True),
        ev.EntitiesAdded([{"entity": "language", "value": "en"}]),
        ev.ActionExecutionRejected("action_answer"),
        ev.AgentUttered("hi"),
        ev.DefinePrevUserUtteredFeaturization(False),
    ]
    return [event.as_dict() for event in made]


def broken(event: dict[str, Any]) -> list[Any]:
    """Ways an event can break Rasa's schema (or not: the check decides), one change each."""
    wrong = [1, "x", None, [1], {"a": 1}, True, 2.5]
    out: list[Any] = [{k: v for k, v in event.items() if k != "event"}, [event], "slot", None]
    out += [{**event, "event": name} for name in ("nonsense", 3, ["slot"], None, "")]
    out += [{**event, key: value} for key in [*event, "name", "text", "entities", "confidence"] for value in wrong]
    return out


def responses_to_check() -> list[Any]:
    """Valid responses and many broken ones, at the top level and in each event."""
    events = sample_events()
    out: list[Any] = [{}, {"events": []}, {"responses": []}, {"events": events, "responses": [{"text": "a"}]}]
    out += [{"events": [event], "responses": []} for event in events]
    out += [{"events": [events[2], bad]} for event in events for bad in broken(event)]
    out += [[], "x", {"events": "not a list"}, {"events": None}, {"responses": [1]}, {"responses": {"a": 1}}]
    out += [{"events": [events[2]], "responses": [{"text": 1}, "text"]}, {"events": [[]]}, {"events": [{}]}]
    return out


def test_a_response_checked_by_event_type_is_accepted_exactly_when_rasas_schema_accepts_it():
    """Every sample and every broken variant: the by-type check says valid exactly when jsonschema.validate
    on Rasa's own schema does (so the shortcut never accepts what Rasa refuses, and is taken for valid ones)."""
    from jsonschema import ValidationError, validate

    def rasa_accepts(result: Any) -> bool:
        try:
            validate(result, RemoteAction.action_response_format_spec())
            return True
        except ValidationError:
            return False

    checked = responses_to_check()
    verdicts = [(patches.valid_by_event_type(r), rasa_accepts(r)) for r in checked]
    assert all(ours == rasas for ours, rasas in verdicts), [
        r for r, v in zip(checked, verdicts, strict=True) if v[0] != v[1]
    ]
    assert sum(rasas for _, rasas in verdicts) >= 30 and sum(not rasas for _, rasas in verdicts) >= 200
    assert len(patches._event_validators()) == 23


def test_an_invalid_response_still_gets_rasas_error():
    """The patched check raises Rasa's ValidationError, with Rasa's message, for what the schema refuses."""
    from jsonschema import ValidationError

    action = RemoteAction("action_answer", None)
    bad = {"events": [{"event": "slot", "value": 1}]}  # a slot without its name
    with pytest.raises(ValidationError) as rasas:
        patches._rasa_validate(action, bad)
    with pytest.raises(ValidationError) as ours:
        patches._validate_action_result(action, bad)
    assert str(ours.value) == str(rasas.value) and "Failed to validate Action server response" in str(ours.value)


def conversation_states(tmp_path: Path) -> list[list[dict[str, Any]]]:
    """Every prediction point of a few conversations (Rasa's states), and a conversation start."""
    policy = rule_policy(tmp_path, {})
    out = []
    for turns, cut in ((6, None), (6, -1), (6, -2), (6, -3), (2, -4), (9, None)):
        states = patches._rasa_prediction_states(policy, long_tracker(turns, cut), DOMAIN)
        out += [states[:k] for k in range(1, len(states) + 1)]
    return out


def test_possible_rules_are_rasas_whatever_the_rules_last_previous_action(tmp_path):
    """Rules of every kind (named previous actions, conversation starts, `action_text`, a previous action that
    must not be set, one that any previous action meets, rules of one to five states): the rules that can apply are Rasa's at every point.
    """
    policy = rule_policy(tmp_path, {})
    rules: dict[str, str] = {}
    for turns, cut in ((5, None), (5, -1), (5, -2), (7, -3), (4, -4)):
        rules.update(rules_from(long_tracker(turns, cut), policy, [1, 2, 3, 5]))
    start = {"user": {"intent": "greet"}}
    by_text = {"prev_action": {"action_text": "hi"}, "user": {"intent": "thank"}}
    not_set = {"prev_action": {"action_name": "should_not_be_set"}, "user": {"intent": "ask_a"}}
    listening = {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "ask_b"}}
    any_action = {"prev_action": {"action_text": ""}, "user": {"intent": "ask_a"}}  # no constraint on it
    for n, states in enumerate([[start], [by_text], [not_set], [listening], [start, listening], [any_action]]):
        rules[policy._create_feature_key(states)] = f"special_{n}"
    policy = rule_policy(tmp_path, rules)
    assert len(patches.rule_groups(policy, rules)) > 5
    found = 0
    for states in [*conversation_states(tmp_path), [start], [by_text], [listening]]:
        for lookup in (rules, {}):
            expected = patches._rasa_get_possible_keys(policy, lookup, states)
            assert patches._get_possible_keys(policy, lookup, states) == expected
            found += len(expected)
        if states[-1].get("prev_action"):
            assert len(patches.rules_that_can_apply(policy, rules, states[-1])) < len(rules)
    assert found > 50  # the rules do apply at many points


def test_the_rule_groups_follow_a_new_rule_table(tmp_path):
    """Groups are kept per table: another table (or the same one grown) is grouped again."""
    policy = rule_policy(tmp_path, {})
    rules = rules_from(long_tracker(5), policy, [2])
    first = patches.rule_groups(policy, rules)
    assert patches.rule_groups(policy, rules) is first
    rules.update(rules_from(long_tracker(6, -2), policy, [3]))
    assert patches.rule_groups(policy, rules) is not first
    assert sum(map(len, patches.rule_groups(policy, rules).values())) == len(rules)


def test_the_trained_models_rules_predict_as_rasas_at_every_step_of_the_test_stories(monkeypatch, trained_agent):
    """The project's RulePolicy (`make train`) at every action of tests/stories: with the rules grouped by the
    previous action (fix 10) it finds the same action, rule and loop flag as with Rasa's whole rule table."""
    from rasa.core.test import _create_data_generator

    nodes = trained_agent.processor.graph_runner._instantiated_nodes
    policy = next(n._component for n in nodes.values() if isinstance(n._component, RulePolicy))
    domain = trained_agent.domain
    generator = _create_data_generator(str(ROOT / "tests" / "stories"), trained_agent, use_conversation_test_files=True)
    points, found = 0, 0
    for story in generator.generate_story_trackers():
        events = list(story.events)
        for index, event in enumerate(events):
            if not isinstance(event, ActionExecuted) or index == 0:
                continue
            tracker = DialogueStateTracker.from_events(story.sender_id, events[:index], domain.slots, domain=domain)
            for use_text in (False, True):
                monkeypatch.setattr(RulePolicy, "_get_possible_keys", patches._rasa_get_possible_keys)
                expected = policy._find_action_from_rules(tracker, domain, use_text)
                monkeypatch.setattr(RulePolicy, "_get_possible_keys", patches._get_possible_keys)
                assert policy._find_action_from_rules(tracker, domain, use_text) == expected, story.sender_id
                points += 1
                found += expected[0] is not None
    rules = policy.lookup[RULES]
    assert points > 500 and found > 250
    assert len(patches.rule_groups(policy, rules)) > 20
    largest = max(map(len, policy.__dict__["_zhitang_rule_groups"][id(rules)][3].values()))
    assert largest < len(rules) / 5  # at most a fifth of the rules are checked at any point


class Node:
    """A stand-in for a GraphNode: returns (its name, the names and values it got), counting its calls."""

    def __init__(self, name: str, fails: bool = False) -> None:
        self.name, self.fails, self.calls = name, fails, 0

    def __call__(self, *needs: Any) -> tuple[str, Any]:
        self.calls += 1
        if self.fails:
            raise ValueError(f"{self.name} failed")
        return self.name, [self.name, *needs]


def graph_runner(needs: dict[str, dict[str, str]], targets: list[str], failing: str = "") -> Any:
    """A DaskGraphRunner over stand-in nodes (`needs`: node -> its needs), as Rasa builds one from a schema."""
    from rasa.engine.graph import GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner

    schema = GraphSchema(
        {
            name: SchemaNode(
                needs=wanted, uses=RulePolicy, constructor_name="load", fn="run", config={}, is_target=name in targets
            )
            for name, wanted in needs.items()
        }
    )
    runner = object.__new__(DaskGraphRunner)
    runner._graph_schema, runner._execution_context = schema, None
    runner._instantiated_nodes = {name: Node(name, name == failing) for name in needs}  # type: ignore[assignment]
    return runner


DIAMOND = {
    "tokens": {"message": "__message__"},
    "a": {"in": "tokens"},
    "b": {"in": "tokens", "literal": "not_a_node"},
    "joined": {"x": "a", "y": "b"},
    "unused": {"in": "tokens"},
    "end": {"joined": "joined", "tracker": "__tracker__"},
}


@pytest.mark.parametrize("targets", [None, ["end"], ["joined", "a"], ["__message__", "end"]])
def test_the_graph_runs_as_dask_runs_it(targets):
    """The same results for the targets, each needed node called once, unneeded nodes not at all."""
    inputs = {"__message__": "尊老金", "__tracker__": {"events": []}}
    rasas, ours = graph_runner(DIAMOND, ["end"]), graph_runner(DIAMOND, ["end"])
    expected = patches._rasa_graph_run(rasas, inputs, targets)
    assert patches._graph_run(ours, inputs, targets) == expected
    assert patches._graph_run(ours, inputs, targets) == expected  # the kept plan gives it again
    assert {n: node.calls for n, node in rasas._instantiated_nodes.items()} == {
        n: node.calls / 2 for n, node in ours._instantiated_nodes.items()
    }
    assert ours._instantiated_nodes["unused"].calls == 0 and expected


def failure(run: Any, *args: Any) -> tuple[type, str]:
    """The exception a run raises: its type and message."""
    with pytest.raises(Exception) as raised:
        run(*args)
    return type(raised.value), str(raised.value)[:200]


def test_a_failing_node_a_cycle_and_a_clashing_input_end_as_they_do_in_rasa():
    """A node's exception comes through unchanged, an input named after a node is GraphRunError, and a cycle
    fails as it fails in Rasa (whose schema walk recurses without end)."""
    from rasa.engine.exceptions import GraphRunError

    inputs = {"__message__": "x", "__tracker__": None}
    cycle = {"a": {"x": "b"}, "b": {"x": "a"}, "end": {"a": "a"}}
    cases = [
        (graph_runner(DIAMOND, ["end"], failing="b"), inputs, ValueError),
        (graph_runner(DIAMOND, ["end"]), {"__message__": "tokens"}, GraphRunError),
        (graph_runner(cycle, ["end"]), {}, RecursionError),
    ]
    for runner, given, kind in cases:
        rasas = failure(patches._rasa_graph_run, runner, given, None)
        assert failure(patches._graph_run, runner, given, None) == rasas and rasas[0] is kind


def test_the_trained_models_graph_gives_rasas_parse_and_predictions(monkeypatch, trained_agent):
    """The project's model: parsing the e2e questions and predicting at every step of tests/stories give what
    they give through dask."""
    from rasa.core.test import _create_data_generator
    from rasa.engine.runner.dask import DaskGraphRunner
    from test_diet_numpy import project_texts

    texts = project_texts()[-300:]
    generator = _create_data_generator(str(ROOT / "tests" / "stories"), trained_agent, use_conversation_test_files=True)
    stories = generator.generate_story_trackers()
    domain = trained_agent.domain

    def run() -> tuple[list, list]:
        parses = [asyncio.run(trained_agent.parse_message(text)) for text in texts]
        predictions = []
        for story in stories:
            for index, event in enumerate(story.events):
                if isinstance(event, ActionExecuted) and index:
                    events = list(story.events)[:index]
                    tracker = DialogueStateTracker.from_events(story.sender_id, events, domain.slots, domain=domain)
                    prediction = trained_agent.processor._predict_next_with_tracker(tracker)
                    predictions.append((prediction.max_confidence_index, prediction.policy_name, prediction.events))
        return parses, predictions

    monkeypatch.setattr(DaskGraphRunner, "run", patches._rasa_graph_run)
    rasas = run()
    monkeypatch.setattr(DaskGraphRunner, "run", patches._graph_run)
    ours = run()
    assert ours == rasas and len(rasas[1]) > 500
