"""NLU component: the deterministic red-flag check overrides the predicted intent.

DIET can misclassify "hi, my dad's face is drooping" as a greeting. This component
runs :func:`bot.safety.assess` on every message after the intent classifier and, when
it finds emergency signs, sets the intent to ``emergency`` (or ``self_harm``) with full
confidence, so the rules send the emergency reply first.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.safety import Level, assess

INTENT_RANKING_KEY = "intent_ranking"
EMERGENCY_INTENT = "emergency"
SELF_HARM_INTENT = "self_harm"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class RedFlagIntentOverride(GraphComponent):
    """Sets the emergency intent when the red-flag assessment finds signs."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagIntentOverride:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Override the intent of messages that show red flags."""
        for message in messages:
            assessment = assess(message.get(TEXT) or "")
            if not assessment.urgent:
                continue
            name = SELF_HARM_INTENT if assessment.level is Level.SELF_HARM else EMERGENCY_INTENT
            intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name
            ]
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
        return messages
