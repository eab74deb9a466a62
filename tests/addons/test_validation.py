"""The action server's replies are checked as strictly as Rasa does, once per schema."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

import addons.policies  # noqa: F401 - loading the policy installs the validator
from addons import validation

VALID = {
    "events": [{"event": "slot", "name": "current_record", "value": "t1"}],
    "responses": [{"response": "utter_safety_advice"}],
}
INVALID = [
    {"events": "not a list"},
    {"events": [{"no": "event key"}]},
    {"responses": {"response": "not a list"}},
]


def remote() -> RemoteAction:
    return RemoteAction.__new__(RemoteAction)


def test_loading_the_policy_installs_the_validator() -> None:
    assert RemoteAction._validate_action_result is validation.validate_action_result


def test_a_valid_reply_passes() -> None:
    assert remote()._validate_action_result(VALID) is True


@pytest.mark.parametrize("reply", INVALID)
def test_an_invalid_reply_fails_with_the_error_jsonschema_validate_gives(
    reply: dict[str, object],
) -> None:
    schema = RemoteAction.action_response_format_spec()
    with pytest.raises(jsonschema.ValidationError) as expected:
        jsonschema.validate(reply, schema)
    with pytest.raises(jsonschema.ValidationError) as ours:
        remote()._validate_action_result(reply)
    assert ours.value.message.startswith(expected.value.message)
    assert "Failed to validate Action server response" in ours.value.message
    assert list(ours.value.path) == list(expected.value.path)


def test_the_schema_is_checked_once() -> None:
    assert validation.response_validator() is validation.response_validator()


def test_install_refuses_a_method_it_does_not_know(monkeypatch: pytest.MonkeyPatch) -> None:
    def other(self: RemoteAction, result: dict[str, object]) -> bool:
        return True

    monkeypatch.setattr(RemoteAction, "_validate_action_result", other)
    with pytest.raises(RuntimeError, match=r"not Rasa 3\.6's"):
        validation.install()
