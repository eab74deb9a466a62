"""The NLU component that hands health questions to the archive search."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from addons.routing import HealthQuestionRouter


def parsed(text: str, intent: str, ranking: list[tuple[str, float]]) -> Message:
    return Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": ranking[0][1]},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        }
    )


def test_a_health_question_taken_for_out_of_scope_becomes_a_description() -> None:
    message = parsed(
        "Can I take Zyrtec with ibuprofen?",
        "out_of_scope",
        [("out_of_scope", 0.8), ("describe_symptoms", 0.15), ("greet", 0.05)],
    )
    [result] = HealthQuestionRouter().process([message])
    assert result.get("intent") == {"name": "describe_symptoms", "confidence": 0.15}
    assert [r["name"] for r in result.get("intent_ranking")] == [
        "describe_symptoms",
        "out_of_scope",
        "greet",
    ]
    assert result.get("routed_from") == "out_of_scope"


def test_small_talk_keeps_its_intent() -> None:
    message = parsed("hello there", "greet", [("greet", 0.99), ("thanks", 0.01)])
    [result] = HealthQuestionRouter().process([message])
    assert result.get("intent") == {"name": "greet", "confidence": 0.99}
    assert result.get("routed_from") is None
