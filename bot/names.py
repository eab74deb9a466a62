"""The names code shares with ``domain.yml``: responses, slots, and the card payload's key.

Every bot message carries its response's name in a ``custom`` payload (``{"response":
"utter_archive_answer", ...}``, filled by Rasa from the response's ``custom:`` in
``domain.yml``, or added by the channels for a response that has none). Clients draw a
message by that name and its fields, and the live evaluation and the launcher's warm-up
classify replies by it; none of them reads the patient-facing wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The key of a message's ``custom`` payload that names its response.
RESPONSE_KEY = "response"

# --- responses ---------------------------------------------------------------------------
UTTER_ARCHIVE_ANSWER = "utter_archive_answer"
UTTER_SIMILAR_ANSWER = "utter_similar_answer"
UTTER_CHOSEN_ANSWER = "utter_chosen_answer"
UTTER_FULL_REPLY = "utter_full_reply"
UTTER_CLOSE_QUESTIONS = "utter_close_questions"
UTTER_NONE_OF_THESE = "utter_none_of_these"
UTTER_SAFETY_ADVICE = "utter_safety_advice"
UTTER_NO_MATCH = "utter_no_match"
#: Said after the no-match when the message names nothing of the archive's scope.
UTTER_OUTSIDE_SCOPE = "utter_outside_scope"
UTTER_NO_MORE_SIMILAR = "utter_no_more_similar"
UTTER_NOTHING_SHOWN_YET = "utter_nothing_shown_yet"
UTTER_FEEDBACK_THANKS = "utter_feedback_thanks"
UTTER_FEEDBACK_NOT_HELPFUL = "utter_feedback_not_helpful"
UTTER_EMERGENCY = "utter_emergency"
UTTER_SELF_HARM = "utter_self_harm"
UTTER_TECHNICAL_PROBLEM = "utter_technical_problem"
UTTER_MESSAGE_TOO_LONG = "utter_message_too_long"
UTTER_SLOW_DOWN = "utter_slow_down"
UTTER_DEFAULT = "utter_default"
UTTER_OUT_OF_SCOPE = "utter_out_of_scope"
UTTER_DISCLAIMER = "utter_disclaimer"

#: Responses shown as an archive card (title, attribution, excerpt or reply).
ANSWER_CARDS = frozenset(
    {UTTER_ARCHIVE_ANSWER, UTTER_SIMILAR_ANSWER, UTTER_CHOSEN_ANSWER, UTTER_FULL_REPLY}
)

# --- slots -------------------------------------------------------------------------------
SLOT_HITS = "archive_hits"
SLOT_SHOWN = "shown_records"
SLOT_CURRENT = "current_record"
#: The close questions offered when the bot was unsure (ids), until the patient chooses.
SLOT_OFFERED = "offered_records"
#: What the patient chose among them: ``{"record_id": id or None, "offered": [ids]}``
#: (None: "None of these"); the review queue and the match model's training read it.
SLOT_CHOICE = "offer_choice"
#: ``{"rating": "helpful" | "unhelpful", "record_id": ...}``.
SLOT_FEEDBACK = "feedback"
SLOT_EMERGENCY_NUMBER = "emergency_number"
SLOT_CRISIS_LINE = "crisis_line"


def response_name(message: Mapping[str, Any]) -> str | None:
    """The response a bot message names in its card payload: ``custom`` (REST) or
    ``metadata.custom`` (socket.io); None when it names none."""
    metadata = message.get("metadata")
    for custom in (
        message.get("custom"),
        metadata.get("custom") if isinstance(metadata, Mapping) else None,
    ):
        if isinstance(custom, Mapping) and isinstance(custom.get(RESPONSE_KEY), str):
            return str(custom[RESPONSE_KEY])
    return None
