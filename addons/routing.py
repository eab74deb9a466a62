"""NLU component: a health question always reaches the archive search.

DIET separates small talk and follow-ups from descriptions well on the team's examples,
but on real patients' questions it sends some health questions to ``out_of_scope``,
to the low-confidence ``nlu_fallback``, or to small talk ("What antihypertensives do
not cause impotence?" reads as ``deny``). After the ``FallbackClassifier``, this
component asks :func:`bot.guard.topic.route_intent`, which reads the words: such a message is
handled as ``describe_symptoms`` (the archive answer, or the honest no-match with the
safety advice). The NLU's own choice is kept under ``routed_from`` in the parse data.

Emergencies are not decided here: the safety policy (``addons/policies.py``) reads the
words of every message whatever its intent.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.guard.topic import route_intent

INTENT_RANKING_KEY = "intent_ranking"
ROUTED_FROM_KEY = "routed_from"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class HealthQuestionRouter(GraphComponent):
    """Hands health questions the NLU could not place to the archive search."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> HealthQuestionRouter:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Set ``describe_symptoms`` on health questions taken for something else."""
        for message in messages:
            intent = message.get(INTENT) or {}
            name = intent.get(INTENT_NAME_KEY)
            if not name:
                continue
            routed = route_intent(str(name), str(message.get(TEXT) or ""))
            if routed == name:
                continue
            ranking = message.get(INTENT_RANKING_KEY) or []
            confidence = next(
                (
                    r.get(PREDICTED_CONFIDENCE_KEY, 0.0)
                    for r in ranking
                    if r.get(INTENT_NAME_KEY) == routed
                ),
                0.0,
            )
            new = {INTENT_NAME_KEY: routed, PREDICTED_CONFIDENCE_KEY: confidence}
            others = [r for r in ranking if r.get(INTENT_NAME_KEY) != routed]
            message.set(INTENT, new, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [new, *others], add_to_output=True)
            message.set(ROUTED_FROM_KEY, name, add_to_output=True)
        return messages
