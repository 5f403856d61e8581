"""The NLU components named in config.yml (Rasa's process): Jieba made fit for residents' text, DIET with a
cache of repeated texts, and the language of each message as the `language` entity (bot.language's rule)."""

from __future__ import annotations

import copy
import hashlib
import re
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Any

import zhconv
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import ENTITY_RECOGNITION

from bot.language import message_language
from bot.rasa_ext.diet_numpy import IntentModel
from bot.rewrite import Rewriter

#: A component's settings from config.yml (the type Rasa's GraphComponent methods take).
Config = dict[str, Any]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


def normalize_text(text: str) -> str:
    """NFKC (full-width to half-width), no control characters, traditional to simplified Chinese."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))
    return zhconv.convert(text, "zh-cn")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class ZhitangTokenizer(JiebaTokenizer):
    """JiebaTokenizer that first rewrites residents' words into the KB's (bot/rewrite.py: dialect, pinyin),
    simplifies traditional characters, and drops whitespace tokens.

    Jieba returns spaces as tokens in mixed Chinese/English text; featurizers then strip them, which
    misaligns tokens and features (Rasa issue #7910). The rewrite tables (`lexicon_path`, made by
    `make userdict`) are kept in the model beside jieba's user dictionary.
    """

    TABLES_FILE = "zhitang-rewrite.json"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """JiebaTokenizer's settings plus `lexicon_path`, the rewrite tables' JSON file."""
        return {**JiebaTokenizer.get_default_config(), "lexicon_path": None}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, model_storage, resource)
        self.rewriter = Rewriter()

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The contents of jieba's user dictionaries and of the rewrite tables. Rasa fingerprints a component by
        its config and inputs only, so without this a change to the lexicon or to the KB's names alone would
        restore the old tokenizer from Rasa's training cache, and the new model would keep the old tables."""
        digest = hashlib.sha256()
        folder = config.get("dictionary_path")
        files = sorted(p for p in Path(folder).glob("*") if p.is_file()) if folder and Path(folder).is_dir() else []
        lexicon = config.get("lexicon_path")
        if lexicon and Path(lexicon).is_file():
            files.append(Path(lexicon))
        for path in files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    @classmethod
    def create(
        cls, config: Config, model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> ZhitangTokenizer:
        """A new tokenizer with the user dictionary and the rewrite tables of the build folder."""
        tokenizer = super().create(config, model_storage, resource, execution_context)
        tokenizer.rewriter = Rewriter.from_file(config.get("lexicon_path"))
        return tokenizer  # type: ignore[return-value]

    @classmethod
    def load(
        cls,
        config: Config,
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> ZhitangTokenizer:
        """The tokenizer with the user dictionary and the rewrite tables kept in the model."""
        tokenizer = super().load(config, model_storage, resource, execution_context, **kwargs)
        try:
            with model_storage.read_from(resource) as folder:
                tokenizer.rewriter = Rewriter.from_file(Path(folder) / cls.TABLES_FILE)
        except ValueError:  # trained without a dictionary: nothing was kept
            pass
        return tokenizer  # type: ignore[return-value]

    @staticmethod
    def _load_custom_dictionary(path: str) -> None:
        """Jieba's user dictionaries of the folder (the rewrite tables kept beside them are not one)."""
        import jieba

        for userdict in sorted(Path(path).glob("*")):
            if userdict.is_file() and userdict.name != ZhitangTokenizer.TABLES_FILE:
                jieba.load_userdict(str(userdict))

    def persist(self) -> None:
        """Keep jieba's user dictionary and the rewrite tables in the model."""
        super().persist()
        lexicon = self._config.get("lexicon_path")
        if lexicon and Path(lexicon).is_file():
            with self._model_storage.write_to(self._resource) as folder:
                (Path(folder) / self.TABLES_FILE).write_text(
                    Path(lexicon).read_text(encoding="utf-8"), encoding="utf-8"
                )

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Rewrite and normalise the message text in place, then tokenize without whitespace tokens."""
        if attribute == TEXT:
            message.set(TEXT, normalize_text(self.rewriter.rewrite(message.get(TEXT))))
        tokens = super().tokenize(message, attribute)
        return [t for t in tokens if t.text.strip()]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class CachedDIETClassifier(DIETClassifier):
    """DIET that remembers its intent ranking for texts it has already seen.

    When a policy changes, many residents ask the same question in the same words; the prediction for a
    text never changes for a loaded model, so repeated texts skip TensorFlow (bounded LRU, per process).
    """

    CACHE_SIZE = 20_000
    #: Compute the intent ranking with NumPy where bot.rasa_ext.diet_numpy covers the model (else Rasa's code).
    NUMPY = True

    def _predict(self, message: Message) -> dict[str, Any] | None:
        """Rasa's `_predict`, by NumPy when the model allows it and no diagnostic data is asked for."""
        if self.NUMPY and self.model is not None and not self._execution_context.should_add_diagnostic_data:
            numpy_model = self._numpy_model()
            out = numpy_model.predict(message) if numpy_model is not None else None
            if out is not None:
                return out
        return super()._predict(message)

    def _numpy_model(self) -> IntentModel | None:
        """The NumPy model of the loaded model (made once per model; None when it is not covered)."""
        if not getattr(self.model, "prepared_for_prediction", False):
            return None  # Rasa's first prediction prepares it (at load, its warm-up prediction)
        made = self.__dict__.get("_zhitang_numpy")
        if made is None or made[0] is not self.model:
            made = (self.model, IntentModel.from_diet(self))
            self.__dict__["_zhitang_numpy"] = made
        return made[1]

    def process(self, messages: list[Message]) -> list[Message]:
        """Predict only texts not seen before; answer the others from the cache."""
        cache: OrderedDict = self.__dict__.setdefault("_zhitang_cache", OrderedDict())
        todo = []
        for message in messages:
            text = message.get(TEXT)
            hit = None if self.component_config[ENTITY_RECOGNITION] else cache.get(text)
            if hit is None:
                todo.append(message)
                continue
            cache.move_to_end(text)
            message.set(INTENT, copy.deepcopy(hit[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, copy.deepcopy(hit[1]), add_to_output=True)
        super().process(todo)
        for message in todo:
            text = message.get(TEXT)
            if isinstance(text, str) and message.get(INTENT) is not None:
                cache[text] = (copy.deepcopy(message.get(INTENT)), copy.deepcopy(message.get(INTENT_RANKING_KEY)))
                if len(cache) > self.CACHE_SIZE:
                    cache.popitem(last=False)
        return messages


LANGUAGE_ENTITY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LanguageDetector(GraphComponent):
    """Sets the `language` entity of each message by bot.language's rule, so the `language` slot (from_entity)
    is filled inside Rasa: no action-server round trip, and fixed replies follow it at once.

    A message with no language of its own (emoji, digits) gets no entity, so the conversation keeps its
    language. Test stories state the entity (`entities: [language: en]`) where a message has a language, so
    `rasa test core` sets the slot as Rasa does. The KB's Chinese names (the tokenizer's user dictionary) are kept with the model, so "What is
    跨村通办?" is English.
    """

    NAMES_FILE = "names.txt"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`dictionary_path`: the folder of Jieba user dictionaries whose first column are the KB's names."""
        return {"dictionary_path": None}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, names: list[str]):
        self._config, self._storage, self._resource = config, model_storage, resource
        self.names = names

    @staticmethod
    def _read_names(folder: Path) -> list[str]:
        names = []
        for path in sorted(folder.glob("*.txt")):
            names += [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return names

    @classmethod
    def create(
        cls, config: Config, model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> LanguageDetector:
        """A new detector with the names of `dictionary_path` (none when it is not set)."""
        folder = config.get("dictionary_path")
        names = cls._read_names(Path(folder)) if folder and Path(folder).is_dir() else []
        return cls(config, model_storage, resource, names)

    @classmethod
    def load(
        cls, config: Config, model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> LanguageDetector:
        """The detector with the names kept in the model (Rasa passes a load only the arguments it names)."""
        try:
            with model_storage.read_from(resource) as folder:
                names = cls._read_names(Path(folder))
        except ValueError:  # no names were kept (trained without a dictionary)
            names = []
        return cls(config, model_storage, resource, names)

    def train(self, training_data: TrainingData) -> Resource:
        """Keep the names with the model (nothing is learnt)."""
        with self._storage.write_to(self._resource) as folder:
            (Path(folder) / self.NAMES_FILE).write_text("".join(f"{n}\n" for n in self.names), encoding="utf-8")
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the `language` entity where the message says which language it is in."""
        for message in messages:
            text = message.get(TEXT)
            metadata = message.get(METADATA) or {}
            chosen = metadata.get("lang") if isinstance(metadata, dict) else None
            lang = message_language(text, chosen, self.names) if isinstance(text, str) else None
            if lang:
                entity = {
                    "entity": LANGUAGE_ENTITY,
                    "value": lang,
                    "start": 0,
                    "end": 0,
                    "extractor": "LanguageDetector",
                }
                entities = [e for e in message.get(ENTITIES, []) if e.get("entity") != LANGUAGE_ENTITY]
                message.set(ENTITIES, [*entities, entity], add_to_output=True)
        return messages
