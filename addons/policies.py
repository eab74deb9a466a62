"""The safety policy: the emergency and crisis decision, made once and final.

After every patient message this policy reads the patient's messages of the session
from the tracker and asks :func:`bot.safety.session.safety_decision` whether this turn needs the
emergency message (``utter_emergency``) or the crisis message (``utter_self_harm``). When
it does, the policy predicts that response with full confidence at a priority above every
other policy, so neither the NLU's intent, the ``FallbackClassifier``, a rule, a story nor
a typed ``/intent{...}`` payload can replace it. The response is rendered by the Rasa
server itself (the numbers come as slots set by the prediction), so an emergency gets its
message even when the action server is down.

The decision reads the words the patient typed, not the intent: DIET's ``emergency`` and
``self_harm`` intents without a sign lead to the archive answer and the safety advice.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from addons import validation
from bot.names import (
    SLOT_CRISIS_LINE,
    SLOT_EMERGENCY_NUMBER,
    UTTER_EMERGENCY,
    UTTER_SELF_HARM,
)
from bot.safety import Assessment, Level
from bot.safety.session import safety_decision
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

# Every server that loads the model loads this policy: the action server's replies are
# checked there with a validator built once (addons/validation.py: 20 ms a message).
validation.install()

EMERGENCY_RESPONSE = UTTER_EMERGENCY
CRISIS_RESPONSE = UTTER_SELF_HARM
#: Above RulePolicy (6): the safety decision wins every tie at full confidence.
PRIORITY = 10


def last_reply_level(tracker: DialogueStateTracker) -> Level:
    """``EMERGENCY`` or ``SELF_HARM`` when the bot's reply before the patient's latest
    message was the emergency or crisis message, else ``NONE``."""
    seen_user = False
    for event in reversed(tracker.events):
        if isinstance(event, (SessionStarted, Restarted)):
            break
        if isinstance(event, UserUttered):
            if seen_user:
                break
            seen_user = True
        elif seen_user and isinstance(event, ActionExecuted):
            if event.action_name == EMERGENCY_RESPONSE:
                return Level.EMERGENCY
            if event.action_name == CRISIS_RESPONSE:
                return Level.SELF_HARM
    return Level.NONE


def patient_messages(tracker: DialogueStateTracker) -> list[str]:
    """The patient's messages since the session started (or restarted), oldest first."""
    texts: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, (SessionStarted, Restarted)):
            break
        if isinstance(event, UserUttered) and event.text:
            texts.append(event.text)
    texts.reverse()
    return texts


#: Metadata key of the channels' guard (``addons.channels.URGENT_KEY``): the red-flag
#: decision it took on a message too long for the NLU, which reaches the policy cut.
GUARD_URGENT_KEY = "neurobot_urgent"


def _guard_decision(tracker: DialogueStateTracker) -> Level | None:
    """The level the guard decided for the latest message, when it decided one."""
    metadata = tracker.latest_message.metadata if tracker.latest_message else None
    value = metadata.get(GUARD_URGENT_KEY) if isinstance(metadata, dict) else None
    try:
        return Level(value) if value is not None else None
    except ValueError:
        return None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class SafetyPolicy(Policy):
    """Predicts the emergency or crisis message when the patient's words call for it."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Priority above every other policy."""
        return {"priority": PRIORITY}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self._settings = settings

    @property
    def settings(self) -> Settings:
        """The settings (emergency and crisis numbers), read on first use."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """Nothing to learn: the decision is the deterministic one of :mod:`bot`."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """The emergency or crisis response right after a message that calls for it;
        listening right after that response; no opinion otherwise."""
        probabilities = self._default_predictions(domain)
        latest = tracker.latest_action_name
        if latest in (EMERGENCY_RESPONSE, CRISIS_RESPONSE):
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(probabilities)
        if latest != ACTION_LISTEN_NAME:
            return self._prediction(probabilities)
        intent = (
            (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
        )
        forced = _guard_decision(tracker)
        decision = (
            Assessment(forced, ("long_message",))
            if forced is not None
            else safety_decision(
                patient_messages(tracker), previous=last_reply_level(tracker), intent=intent
            )
        )
        if not decision.urgent:
            return self._prediction(probabilities)
        name = CRISIS_RESPONSE if decision.level is Level.SELF_HARM else EMERGENCY_RESPONSE
        probabilities[domain.index_for_action(name)] = 1.0
        numbers = [
            SlotSet(SLOT_EMERGENCY_NUMBER, self.settings.emergency_number),
            SlotSet(SLOT_CRISIS_LINE, self.settings.crisis_line),
        ]
        # Sign names only: the log holds no patient text.
        logger.info("red flags %s: %s", ",".join(decision.signs), name)
        return self._prediction(probabilities, events=numbers)
