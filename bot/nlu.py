"""Custom Rasa NLU component (runs in the Rasa environment): Jieba made fit for residents' text."""

from __future__ import annotations

import copy
import re
import unicodedata
from collections import OrderedDict

import zhconv
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import ENTITY_RECOGNITION

from bot import rasa_patches

rasa_patches.apply()

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


def normalize_text(text: str) -> str:
    """NFKC (full-width to half-width), no control characters, traditional to simplified Chinese."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text))
    return zhconv.convert(text, "zh-cn")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class ZhitangTokenizer(JiebaTokenizer):
    """JiebaTokenizer that simplifies traditional characters and drops whitespace tokens.

    Jieba returns spaces as tokens in mixed Chinese/English text; featurizers then strip them,
    which misaligns tokens and features (Rasa issue #7910).
    """

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Normalise the message text in place, then tokenize without whitespace tokens."""
        if attribute == TEXT:
            message.set(TEXT, normalize_text(message.get(TEXT)))
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
