"""Profile-guided fixes to Rasa 3.6, applied when Rasa imports bot.rasa_ext.components (our pipeline component).

Rasa 3.6 checks every action-server response with `jsonschema.validate`, which first re-validates the
response *schema* against the JSON-Schema meta-schema, on every call. Profiling `rasa run` showed that
meta-check taking about half of Rasa's CPU per message. We validate against a validator compiled once
(the same schema, the same check); an invalid response still goes through Rasa's own code, so its error
message is unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

_rasa_validate = RemoteAction._validate_action_result


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Valid responses pass on the compiled validator; invalid ones get Rasa's own error."""
    if _response_validator().is_valid(result):
        return True
    return _rasa_validate(self, result)


def apply() -> None:
    """Install the fixes (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
