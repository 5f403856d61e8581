"""Profile-guided fixes to Rasa 3.6, applied when the REST channel starts (`patches.apply()`, bot.rasa_ext.channel).

Each fix replaces one Rasa method, names it, keeps Rasa's errors, and falls back to Rasa's own code whenever
its shortcut could differ from Rasa's result. tests/rasa/test_patches.py checks each against Rasa's own code.

1. `RemoteAction._validate_action_result` (rasa/core/actions/action.py): Rasa checks every action-server
   response with `jsonschema.validate`, which first re-validates the response *schema* against the JSON-Schema
   meta-schema, on every call (about half of Rasa's CPU per message). We validate against a validator
   compiled once (the same schema, the same check); an invalid response still goes through Rasa's own code,
   so its error message is unchanged.

2. `RulePolicy._prediction_states` (inherited from `Policy._prediction_states`, rasa/core/policies/policy.py):
   at every prediction Rasa replays the whole conversation (`DialogueStateTracker.generate_all_prior_trackers`
   via `Domain.states_for_tracker_history`) to build one state per action, then RulePolicy compares only the
   last few states with its rules (`RulePolicy._get_possible_keys`: a rule of k states decides on the last k;
   further back every rule is "applicable"). So the cost of a message grew with the length of the
   conversation. We build the states of the tail of the conversation only: the events from a user message
   that has more actions after it than the longest rule has states. Every state but the first of that tail
   equals Rasa's (the first lacks the previous action), so the rules see the same last states. The shortcut
   is used only where that holds: no slot influences the conversation, no forms (active loops), no event in
   the tail that undoes earlier ones (UserUtteranceReverted, ActionReverted), and a plain tracker at
   prediction (training's TrackerWithCachedStates goes to Rasa's code). Otherwise: Rasa's code, unchanged.

3. `RemoteAction._action_call_format` (rasa/core/actions/action.py): Rasa sends the whole tracker,
   `tracker.current_state(EventVerbosity.ALL)` (every event of the session as JSON), to the action server at
   every custom action, and rasa_sdk parses it back. Our actions read the slots, the latest message and, of
   the events, only the resident's previous message that is not a language request
   (actions/service.py previous_user_message). We send Rasa's state with every field as Rasa computes it
   (`current_state(EventVerbosity.NONE)`: slots, latest_message, active_loop, latest_action, ...) and the
   events from that previous message on (all events when there is none: the same result for the actions).

4. `Features._combine_sparse_features` (rasa/shared/nlu/training_data/features.py): DIET reads a message's
   sparse features with `Message.get_sparse_features`, which joins the two CountVectorsFeaturizers' matrices
   with `scipy.sparse.hstack`; for two small COO matrices scipy's generic block assembly (`bmat`) and its
   checks showed as 11% of Rasa's samples in a py-spy profile taken under heavy shared load (one resident,
   unique texts). Measured on a quiet machine it is less: 0.23 -> 0.09 ms per message's features, within
   the noise of Rasa's 11 ms of CPU per message. Two COO matrices of the same dtype are joined by
   concatenating their entries, the second's columns shifted: what `bmat` does for them, without its generic
   assembly. Anything else (other formats or dtypes, rows that differ, with Rasa's error) goes to Rasa's code.

5. `RasaModel.load` (rasa/utils/tensorflow/models.py): to give DIET's weights their shapes before reading
   them from the model, Rasa *trains* on one example (`model.fit`: the whole training step traced by
   TensorFlow, gradients and an optimizer step on weights that are then overwritten): 27% of `rasa run`'s
   start-up (py-spy). We compute the loss of that example once instead (`batch_loss`, which calls every layer
   the training step calls, so every weight is made), then load the weights as Rasa does and check that every
   weight of the model was found in the file (`assert_existing_objects_matched`); the optimizer's state, which
   only training reads, is left unread. If that check fails, or for fine-tuning, Rasa's own load runs.
   The warm-up prediction that follows is Rasa's. About 1.8 s less start-up; the same predictions.

6. Python's cyclic garbage collector (not a Rasa method: `freeze_loaded_objects`, run by the REST channel's
   blueprint once the server has started, after Rasa's own start-up listener has loaded the model). TensorFlow,
   Rasa and the model leave over half a million long-lived objects, and every full collection walked all of
   them: 0.25-0.3 s each, a pause for every conversation in flight, about 3% of Rasa's CPU at 10 residents
   (measured with gc.callbacks). `gc.freeze()` after a collection moves what exists then out of the
   collector's sight (CPython's documented use for long-lived start-up objects); what is made later is
   collected as before. The cost: objects of the start-up that become garbage later are never freed (the
   model is loaded once: this channel runs with the HTTP API that could replace it disabled).

7. `Domain.is_empty` (rasa/shared/core/domain.py): `self.as_dict() == Domain.empty().as_dict()`, and
   `Domain.empty()` parses an empty domain (every default action, intent and slot) on every call; the processor
   asks at every message (`_check_for_unseen_features`): 2% of Rasa's CPU. The empty domain's dict is the same
   every time, so it is made once; the comparison is Rasa's.

8. `CountVectorsFeaturizer._create_features` (rasa/nlu/featurizers/sparse_featurizer/count_vectors_featurizer.py)
   for one message at a time (as the processor sends them): Rasa calls sklearn's `CountVectorizer.transform` on
   the tokens (one row per token) and on the joined text (the sentence row), each through sklearn's and scipy's
   generic checks and conversions: 8% of Rasa's CPU per message after DIET's TensorFlow call was gone. A token's
   row depends on that token alone (`transform` analyses each document apart against the fitted vocabulary), so
   each token's row is computed once and kept (bounded, per featurizer); the sentence row is counted as sklearn's
   `_count_vocab` counts it (the vectorizer's own analyzer and vocabulary), and both are built as the sorted COO
   matrices Rasa makes of them (same dtype, shape, indices). Any other vectorizer than sklearn's own
   CountVectorizer, or several messages at once (training), goes to Rasa's code.

9. `EndpointConfig.session` (rasa/utils/endpoints.py): Rasa's `request` makes a new aiohttp ClientSession, so a
   new connection pool and a new TCP connection to the action server, for every custom action, and closes it
   after the reply (connecting was 4% of Rasa's CPU per message, plus the action server's accepting and setting
   up each connection). `request` itself is Rasa's; the session it gets is kept per endpoint settings and event
   loop, with the settings Rasa gives it (headers, basic auth, timeout), and reuses its connections. It closes an
   idle connection after 2 s, before the action server (Sanic: 5 s) would, so a request never goes out on a
   connection the server is closing; a connection of an action server that died is dropped when its socket
   closes. No limit on connections, as with one session per request.

10. `RulePolicy._get_possible_keys` (rasa/core/policies/rule_policy.py): at every prediction Rasa checks every
   rule against the conversation's last state (`_is_rule_applicable` at turn 0, then the survivors further
   back), twice per message (the prediction after the message and the one after the action). A rule whose last
   state names a previous action (`prev_action: {action_name: X}`) or an intent (`user: {intent: Y}`) can only
   apply when the conversation's last state names the same (`_does_rule_match_state`), and nearly every rule
   names both. The rules are grouped once by those two names; Rasa's `_get_possible_keys` then runs unchanged
   on the groups the conversation's last state can meet (its own names, or none). The rules left out are
   exactly those Rasa's check would drop at turn 0, so the result is Rasa's set. A conversation's start state
   (no previous action) gets the whole table: there Rasa takes every start rule without comparing names. The groups are kept per rule
   table (while the same table object of the same size is asked: a loaded policy never changes its rules).

11. The action response's schema check, by event type (`RemoteAction._validate_action_result` again, see 1):
   even compiled, the check runs Rasa's `oneOf` over all 23 event types for every event of the response
   (0.68 ms for a response of three slots, about a tenth of Rasa's CPU per message). Every branch of that
   `oneOf` fixes `event` to a constant of its own, so an event can only match the branch of its own type:
   each event is checked against that branch alone (0.07 ms). Only a True is taken from it; anything else
   (an unknown type, a schema of another shape) goes to the whole compiled schema and then Rasa's own error.
12. `DaskGraphRunner.run` (rasa/engine/runner/dask.py): Rasa runs its model graph (the NLU pipeline for every
   message, the policies for every prediction) with `dask.get`, dask's synchronous scheduler: it orders the
   tasks, tracks their states and dependents and calls them one by one on this thread. For a graph of about
   a dozen nodes that bookkeeping was 12% of Rasa's CPU per message (py-spy at 10 residents), and the
   schema of the nodes the targets need was recomputed at every run. We call the same nodes (Rasa's
   `GraphNode`s, their hooks included) with the same arguments (each node's result for each of its `needs`,
   an input as `(name, value)`, a name that is no node as itself), each once, dependencies first, on the
   same thread; the targets' results come back as Rasa's dict. An exception of a node propagates as it does
   through dask (re-raised unchanged); an input whose name clashes with a node is Rasa's GraphRunError, and
   a cycle fails in Rasa's own schema walk, as before. The nodes a set of targets needs are kept per targets
   (the schema never changes once loaded).
"""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from functools import lru_cache
from typing import Any

import aiohttp
import numpy as np
import scipy.sparse
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.policies.policy import Policy
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionReverted, UserUtteranceReverted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.nlu.constants import ACTION_NAME, INTENT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.utils.schemas.events import EVENT_SCHEMA, EVENTS_SCHEMA
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.models import RasaModel
from sklearn.feature_extraction.text import CountVectorizer

from bot.language import requested_language

_rasa_validate = RemoteAction._validate_action_result
_rasa_action_call_format = RemoteAction._action_call_format
_rasa_prediction_states = Policy._prediction_states
_rasa_combine_sparse_features = Features._combine_sparse_features
_rasa_model_load = RasaModel.load.__func__  # type: ignore[attr-defined]
_rasa_domain_is_empty = Domain.is_empty
_rasa_create_features = CountVectorsFeaturizer._create_features
_rasa_endpoint_session = EndpointConfig.session
_rasa_get_possible_keys = RulePolicy._get_possible_keys
_rasa_graph_run = DaskGraphRunner.run


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _event_validators() -> dict[str, Any]:
    """One compiled validator per event type: Rasa's event schema with its `oneOf` narrowed to that type's
    branch. Empty (no shortcut) unless the response schema is the shape this relies on: every branch of the
    `oneOf` fixes `event` to a constant of its own, so an event can match that branch only."""
    expected = {
        "type": "object",
        "properties": {"events": EVENTS_SCHEMA, "responses": {"type": "array", "items": {"type": "object"}}},
    }
    if RemoteAction.action_response_format_spec() != expected or set(EVENTS_SCHEMA) != {"type", "items"}:
        return {}
    branches = EVENT_SCHEMA.get("oneOf", [])
    names = [branch.get("properties", {}).get("event", {}).get("const") for branch in branches]
    if not branches or not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        return {}
    base = {key: value for key, value in EVENT_SCHEMA.items() if key != "oneOf"}
    validators = {}
    for name, branch in zip(names, branches, strict=True):
        schema = {**base, "allOf": [branch]}
        cls = validator_for(schema)
        cls.check_schema(schema)
        validators[name] = cls(schema)
    return validators


def valid_by_event_type(result: Any) -> bool:
    """True only when Rasa's schema accepts the response, each event checked against its own type's branch
    (False sends it to the whole schema: an unknown event type, anything but plain dicts and lists)."""
    validators = _event_validators()
    if not validators or type(result) is not dict:
        return False
    events, responses = result.get("events", []), result.get("responses", [])
    if type(events) is not list or type(responses) is not list or any(type(r) is not dict for r in responses):
        return False
    for event in events:
        name = event.get("event") if type(event) is dict else None
        validator = validators.get(name) if type(name) is str else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Valid responses pass on the compiled validators (by event type, else the whole schema); invalid ones
    get Rasa's own error."""
    if valid_by_event_type(result) or _response_validator().is_valid(result):
        return True
    return _rasa_validate(self, result)


# --- 2. RulePolicy: the states of the tail of the conversation -------------------------------------------

_UNDOING = (UserUtteranceReverted, ActionReverted)


def longest_rule(policy: RulePolicy) -> int:
    """The number of states of the policy's longest rule (remembered per policy)."""
    known = policy.__dict__.get("_zhitang_longest_rule")
    if known is None:
        keys = [*policy.lookup.get(RULES, {}), *policy.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {})]
        known = max((len(policy._rule_key_to_state(key)) for key in keys), default=0)
        policy.__dict__["_zhitang_longest_rule"] = known
    return known


def tail_events(tracker: DialogueStateTracker, actions_needed: int) -> list | None:
    """The events from the latest user message with at least `actions_needed` actions after it, or None
    (the whole conversation is that short, or the tail holds an event that undoes earlier ones)."""
    events = tracker.events
    actions = 0
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, _UNDOING):
            return None
        if isinstance(event, ActionExecuted):
            actions += 1
        elif isinstance(event, UserUttered) and actions >= actions_needed:
            return [events[i] for i in range(index, len(events))] if index > 0 else None
    return None


def tail_tracker(tracker: DialogueStateTracker, domain: Any, states_needed: int) -> DialogueStateTracker | None:
    """A tracker of the conversation's tail whose last `states_needed` states are the tracker's, or None."""
    if type(tracker) is not DialogueStateTracker or domain.form_names:
        return None
    if any(slot.influence_conversation for slot in domain.slots):
        return None
    # One state per action, plus the state now; the tail's first state differs from Rasa's: one more.
    events = tail_events(tracker, states_needed + 1)
    if events is None:
        return None
    return DialogueStateTracker.from_events(tracker.sender_id, events, domain.slots, domain=domain)


def _prediction_states(
    self: Policy,
    tracker: DialogueStateTracker,
    domain: Any,
    use_text_for_last_user_input: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list:
    """RulePolicy: Rasa's states of the conversation's tail when the rules cannot tell the difference."""
    if isinstance(self, RulePolicy):
        tail = tail_tracker(tracker, domain, longest_rule(self) + 1)
        if tail is not None:
            tracker = tail
    return _rasa_prediction_states(self, tracker, domain, use_text_for_last_user_input, rule_only_data)


# --- 3. The tracker sent to the action server --------------------------------------------------------------


def action_events(tracker: DialogueStateTracker) -> list:
    """The events from the resident's previous message that is not a language request (all when none)."""
    events = tracker.events
    users = 0
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, UserUttered):
            users += 1
            text = event.text or ""
            if users >= 2 and not (requested_language(text) and not text.startswith("/")):
                return [events[i] for i in range(index, len(events))]
    return list(events)


def _action_call_format(self: RemoteAction, tracker: DialogueStateTracker, domain: Any) -> dict[str, Any]:
    """Rasa's request to the action server, with the events the actions read instead of all of them."""
    original = tracker.current_state

    def current_state(event_verbosity: EventVerbosity = EventVerbosity.NONE) -> dict[str, Any]:
        if event_verbosity != EventVerbosity.ALL:
            return original(event_verbosity)
        state = original(EventVerbosity.NONE)
        state["events"] = [event.as_dict() for event in action_events(tracker)]
        return state

    tracker.current_state = current_state  # type: ignore[method-assign]
    try:
        return _rasa_action_call_format(self, tracker, domain)
    finally:
        del tracker.current_state


# --- 4. Joining the featurizers' sparse matrices ------------------------------------------------------------


def _combine_sparse_features(self: Features, additional_features: Features) -> None:
    """`hstack([self.features, additional_features.features])` for two COO matrices of one dtype."""
    left, right = self.features, additional_features.features
    if not (
        type(left) is scipy.sparse.coo_matrix
        and type(right) is scipy.sparse.coo_matrix
        and left.dtype == right.dtype
        and left.shape[0] == right.shape[0]
        and left.shape[1] + right.shape[1] < np.iinfo(np.int32).max  # the column indices' dtype stays bmat's
    ):
        return _rasa_combine_sparse_features(self, additional_features)
    self.features = scipy.sparse.coo_matrix(
        (
            np.concatenate([left.data, right.data]),
            (np.concatenate([left.row, right.row]), np.concatenate([left.col, right.col + left.shape[1]])),
        ),
        shape=(left.shape[0], left.shape[1] + right.shape[1]),
    )
    self._cached_fingerprint = None
    return None


# --- 5. Loading DIET's weights without a training step ----------------------------------------------------


def _model_load(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """Rasa's `RasaModel.load`, with the weights made by one loss computation instead of one training step."""
    if finetune_mode:  # training goes on from the loaded weights: the optimizer's state matters
        return _rasa_model_load(cls, model_file_name, model_data_example, predict_data_example, True, *args, **kwargs)
    import tensorflow as tf

    config = kwargs.get("config", {})
    model = cls(*args, **kwargs)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=config.get(RUN_EAGERLY)
    )
    batch_in = RasaBatchDataGenerator(model_data_example, batch_size=1)[0][0]
    model._training = False  # as in Rasa's test_step: no dropout while the weights are made
    model.batch_loss(batch_in)
    model._training = None
    status = model.load_weights(model_file_name)
    try:
        status.assert_existing_objects_matched()
    except AssertionError:  # a weight of the model is not in the file: let Rasa load it its own way
        return _rasa_model_load(cls, model_file_name, model_data_example, predict_data_example, False, *args, **kwargs)
    status.expect_partial()  # the optimizer's slots in the file: only training reads them
    if predict_data_example:
        model.run_inference(predict_data_example)
    return model


# --- 6. The garbage collector and the objects of the start-up ----------------------------------------------


def freeze_loaded_objects(*_: Any) -> None:
    """Collect once, then keep everything alive now out of later collections (a Sanic server listener)."""
    gc.collect()
    gc.freeze()


# --- 7. Is the domain empty? --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _empty_domain_dict() -> dict[str, Any]:
    return Domain.empty().as_dict()


def _domain_is_empty(self: Domain) -> bool:
    """Rasa's comparison with the empty domain's dict, that dict made once."""
    return bool(self.as_dict() == _empty_domain_dict())


# --- 8. The count vectors of one message --------------------------------------------------------------------

TOKEN_ROWS = 20_000  # rows kept per featurizer and attribute (then the memory starts again)


def _counts(vectorizer: CountVectorizer, analyze: Any, doc: str) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's `_count_vocab` of one document against the fitted vocabulary: (sorted columns, counts)."""
    vocabulary = vectorizer.vocabulary_
    counter: dict[int, int] = {}
    for feature in analyze(doc):
        index = vocabulary.get(feature)
        if index is not None:
            counter[index] = counter.get(index, 0) + 1
    columns = np.array(sorted(counter), dtype=np.int32)
    values = np.ones(len(columns), vectorizer.dtype) if vectorizer.binary else [counter[c] for c in columns]
    return columns, np.asarray(values, dtype=vectorizer.dtype)


def _coo(rows: list[tuple[np.ndarray, np.ndarray]], vectorizer: CountVectorizer) -> scipy.sparse.coo_matrix:
    """The sorted COO matrix of the rows, as `transform(...)` + `sort_indices()` + `tocoo()` gives it."""
    lengths = [len(columns) for columns, _ in rows]
    row = np.repeat(np.arange(len(rows), dtype=np.int32), lengths)
    columns = np.concatenate([columns for columns, _ in rows]) if rows else np.zeros(0, np.int32)
    values = np.concatenate([values for _, values in rows]) if rows else np.zeros(0, vectorizer.dtype)
    return scipy.sparse.coo_matrix((values, (row, columns)), shape=(len(rows), len(vectorizer.vocabulary_)))


def _create_features(self: CountVectorsFeaturizer, attribute: str, all_tokens: list[list[str]]) -> tuple:
    """Rasa's sequence and sentence rows of one message, each token's row computed once."""
    vectorizer = (self.vectorizers or {}).get(attribute)
    if type(vectorizer) is not CountVectorizer or len(all_tokens) != 1 or not all_tokens[0]:
        return _rasa_create_features(self, attribute, all_tokens)
    kept = self.__dict__.setdefault("_zhitang_rows", {})
    if kept.get(attribute, (None,))[0] is not vectorizer:
        kept[attribute] = (vectorizer, vectorizer.build_analyzer(), {})
    _, analyze, rows = kept[attribute]
    if len(rows) > TOKEN_ROWS:
        rows.clear()
    tokens = all_tokens[0]
    for token in tokens:
        if token not in rows:
            rows[token] = _counts(vectorizer, analyze, token)
    sequence = _coo([rows[token] for token in tokens], vectorizer)
    if attribute not in DENSE_FEATURIZABLE_ATTRIBUTES:
        return [sequence], [None]
    return [sequence], [_coo([_counts(vectorizer, analyze, " ".join(tokens))], vectorizer)]


# --- 9. One HTTP session per endpoint ------------------------------------------------------------------------

KEEP_ALIVE = 2.0  # seconds an idle connection is kept (less than the action server's Sanic keep-alive, 5 s)


class _KeptSession:
    """What `async with endpoint.session() as session` needs: the kept session, left open at the end."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_: Any) -> None:
        return None


def _endpoint_session(self: EndpointConfig) -> Any:
    """The endpoint's kept session for the running event loop (Rasa's own session outside one)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _rasa_endpoint_session(self)
    per_loop = self.__dict__.setdefault("_zhitang_sessions", weakref.WeakKeyDictionary()).setdefault(loop, {})
    key = (json.dumps(self.headers, sort_keys=True, default=str), json.dumps(self.basic_auth, sort_keys=True))
    session = per_loop.get(key)
    if session is None or session.closed:
        auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
        session = aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEP_ALIVE),
        )
        per_loop[key] = session
    return _KeptSession(session)


# --- 10. The rules that can apply, by the conversation's previous action and intent ------------------------


def _named(state: dict[str, Any], part: str, key: str) -> str | None:
    """The name a state gives in `part` under `key` (None when it gives none, or says it must not be set)."""
    name = (state.get(part) or {}).get(key)
    return name if isinstance(name, str) and name and name != SHOULD_NOT_BE_SET else None


def _names(state: dict[str, Any]) -> tuple[str | None, str | None]:
    """A state's previous action and intent, as a rule's last state constrains them."""
    return _named(state, PREVIOUS_ACTION, ACTION_NAME), _named(state, USER, INTENT)


def rule_groups(policy: RulePolicy, lookup: dict[str, str]) -> dict[tuple[str | None, str | None], dict[str, str]]:
    """The rule table split by (previous action, intent) of each rule's last state (None: it names none).
    Made once per table."""
    kept = policy.__dict__.setdefault("_zhitang_rule_groups", {})
    known = kept.get(id(lookup))
    if known is not None and known[0] is lookup and known[1] == len(lookup):
        return known[2]
    groups: dict[tuple[str | None, str | None], dict[str, str]] = {}
    for key, action in lookup.items():
        states = policy._rule_key_to_state(key)
        groups.setdefault(_names(states[-1]) if states else (None, None), {})[key] = action
    kept[id(lookup)] = (lookup, len(lookup), groups, {})
    return groups


def rules_that_can_apply(policy: RulePolicy, lookup: dict[str, str], state: dict[str, Any]) -> dict[str, str]:
    """The rules whose last state's previous action and intent are the conversation state's or unnamed."""
    groups = rule_groups(policy, lookup)
    action, intent = _names(state)
    merged = policy.__dict__["_zhitang_rule_groups"][id(lookup)][3]
    if (action, intent) not in merged:
        found: dict[str, str] = {}
        for names in {(action, intent), (action, None), (None, intent), (None, None)}:
            found.update(groups.get(names, {}))
        merged[(action, intent)] = found
    return merged[(action, intent)]


def _get_possible_keys(self: RulePolicy, lookup: dict[str, str], states: list) -> set[str]:
    """Rasa's `_get_possible_keys` over the rules that can apply to the conversation's last state."""
    if not states or not states[-1].get(PREVIOUS_ACTION):  # a start state: Rasa matches start rules on no name
        return _rasa_get_possible_keys(self, lookup, states)
    return _rasa_get_possible_keys(self, rules_that_can_apply(self, lookup, states[-1]), states)


# --- 12. Running the model graph without dask's scheduler --------------------------------------------------


def _needed(runner: DaskGraphRunner, targets: list[str]) -> dict[str, tuple]:
    """Each node the targets need -> (its GraphNode, the names it needs), as `_build_dask_graph` builds them
    from `minimal_graph_schema`; kept per targets."""
    kept = runner.__dict__.setdefault("_zhitang_needed", {})
    key = tuple(targets)
    if key not in kept:
        schema = runner._graph_schema.minimal_graph_schema(targets)
        kept[key] = {
            name: (runner._instantiated_nodes[name], tuple(node.needs.values())) for name, node in schema.nodes.items()
        }
    return kept[key]


def run_graph(graph: dict[str, Any], inputs: dict[str, Any], targets: list[str]) -> dict[str, Any]:
    """The targets' results: each node called once on its needs' results, dependencies first."""
    results: dict[str, Any] = {name: (name, value) for name, value in inputs.items()}
    running: set[str] = set()

    def result(name: str) -> Any:
        if name in results:
            return results[name]
        if name not in graph:  # dask passes an argument that names no task as it is
            return name
        if name in running:
            raise RuntimeError(f"Cycle detected in the model graph at '{name}'")
        running.add(name)
        node, needs = graph[name]
        results[name] = node(*(result(need) for need in needs))
        running.discard(name)
        return results[name]

    return dict(result(target) for target in targets)


def _graph_run(
    self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
) -> dict[str, Any]:
    """Rasa's `DaskGraphRunner.run` with the nodes called in order here instead of through `dask.get`."""
    run_targets = targets if targets else self._graph_schema.target_names
    graph = _needed(self, run_targets)
    for value in (inputs or {}).values():  # Rasa's check: an input *value* that names a node
        if isinstance(value, str) and value in graph:
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the input names "
                f"passed to the `run` method are the same as node names in the graph schema."
            )
    graph = {name: task for name, task in graph.items() if name not in (inputs or {})}
    try:
        return run_graph(graph, inputs or {}, run_targets)
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def apply() -> None:
    """Install the fixes (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
    RemoteAction._action_call_format = _action_call_format
    Policy._prediction_states = _prediction_states
    Features._combine_sparse_features = _combine_sparse_features
    RasaModel.load = classmethod(_model_load)  # type: ignore[method-assign,assignment]
    Domain.is_empty = _domain_is_empty  # type: ignore[method-assign]
    CountVectorsFeaturizer._create_features = _create_features  # type: ignore[method-assign]
    EndpointConfig.session = _endpoint_session  # type: ignore[method-assign]
    RulePolicy._get_possible_keys = _get_possible_keys  # type: ignore[method-assign]
    DaskGraphRunner.run = _graph_run  # type: ignore[method-assign]
