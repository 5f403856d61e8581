"""Custom Rasa NLU component (runs in the Rasa environment): Jieba made fit for residents' text."""

from __future__ import annotations

import re
import unicodedata

import zhconv
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

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
