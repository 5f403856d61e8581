"""In the Rasa environment: Rasa's REST channel masks personal numbers itself, so a message sent straight to
/webhooks/rest/webhook (not through the gateway) never reaches the NLU, the tracker store or the actions raw."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.rasa_ext.channel import ZhitangRestInput


def request(body: dict) -> SimpleNamespace:
    """What the channel reads of a webhook request: its JSON body."""
    return SimpleNamespace(json=body)


@pytest.mark.parametrize(
    "typed, kept",
    [
        ("我的手机１３８００１３８０００", "我的手机138****8000"),
        ("call 0086 138.0013.8000 please", "call 138****8000 please"),
        ("身份证３２０５８１１９８００１０１１２３Ｘ", "身份证320***********123X"),
        ("旧身份证320581\u00ad800101123", "旧身份证320********1123"),
        ("尊老金2022年发了1428.35万元?", "尊老金2022年发了1428.35万元?"),
    ],
)
def test_the_webhook_masks_the_message_before_rasa_reads_it(typed, kept):
    channel = ZhitangRestInput()
    assert channel._extract_message(request({"sender": "s1", "message": typed})) == kept


def test_a_masked_button_payload_still_carries_the_widgets_language():
    channel = ZhitangRestInput()
    body = {"sender": "s1", "message": "/greet", "metadata": {"lang": "en"}}
    assert channel._extract_message(request(body)) == '/greet{"language": "en"}'


def test_metadata_stored_with_the_message_is_masked_too():
    """Rasa keeps a message's metadata in the tracker: a number there is masked, the language kept."""
    channel = ZhitangRestInput()
    body = {"sender": "s1", "message": "hi", "metadata": {"lang": "zh", "note": ["手机 138 0013 8000"], "n": 3}}
    assert channel.get_metadata(request(body)) == {"lang": "zh", "note": ["手机 138****8000"], "n": 3}
