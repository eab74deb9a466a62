"""The action server's replies checked with one schema validator, built once.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every
reply of the action server, and ``jsonschema.validate`` first checks the (constant)
response schema against its meta-schema: about 20 ms of the Rasa server's 70 to 90 ms of
CPU a message (``scripts/profile_message.py``). :func:`install` replaces that method
with one that validates against a validator of the same schema class, built and checked
once: the same checks, the same error (``best_match``, with Rasa's hint appended), none
of the repeated meta-schema work. Rasa is pinned (``rasa==3.6.21``); :func:`install`
refuses to patch a ``RemoteAction`` whose method is not the one it knows, so an upgrade
fails loudly in the tests instead of silently changing what is checked.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

#: What Rasa's own method calls; :func:`install` checks it is still there.
_ORIGINAL_CALL = "validate(result, self.action_response_format_spec())"


@lru_cache(maxsize=1)
def response_validator() -> Any:
    """The validator of Rasa's action server response format (schema checked once)."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's check of an action server reply, with the validator built once.

    Raises:
        ValidationError: The reply does not have Rasa's format (the most relevant
            error, as ``jsonschema.validate`` raises it, with Rasa's hint).
    """
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Use :func:`validate_action_result` in every ``RemoteAction`` of this process.

    Raises:
        RuntimeError: Rasa's method is not the one this replaces (another Rasa version).
    """
    current = RemoteAction._validate_action_result
    if current is validate_action_result:
        return
    if _ORIGINAL_CALL not in inspect.getsource(current):
        raise RuntimeError(
            "RemoteAction._validate_action_result is not Rasa 3.6's: "
            "addons/validation.py must be checked against this Rasa version"
        )
    RemoteAction._validate_action_result = validate_action_result


__all__ = ["ValidationError", "install", "response_validator", "validate_action_result"]
