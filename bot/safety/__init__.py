"""Emergency red-flag assessment of patient messages.

Every patient message goes through :func:`assess` before anything else happens. It looks
for the neurological signs that need an ambulance now (stroke signs, a seizure that does
not stop, a thunderclap headache, meningitis signs, ...) and for thoughts of self-harm,
which take precedence. It is rule based (plain :mod:`re`), deterministic and never raises.
A caller that holds a session asks :func:`decide` with the patient's messages.

The package, in the order a message is read:

- :mod:`bot.safety.normalise`: lower case, accents, apostrophes and misspellings, then
  sentences and clauses.
- :mod:`bot.safety.context`: negation, general questions and hypotheticals, and each
  clause's time status (acute, past or chronic, or neither).
- :mod:`bot.safety.signs`: the table of signs, one row per sign or pattern group, and
  how to add one.
- :mod:`bot.safety.engine`: reads the table over the clauses. Signs acute by nature (face
  droop, slurred speech, worst-ever headache, unconscious) are emergencies unless their
  clause is past or chronic; signs alarming only when new (one-sided weakness or
  numbness, loss of vision, double vision, confusion, not being able to walk or find
  words) need an onset in their clause, their message or a recent message; combined
  signs (head injury with vomiting, fever with a stiff neck and a headache, ...) need all
  their parts.
"""

from __future__ import annotations

from bot.safety.engine import (
    RECENT_MESSAGES,
    Assessment,
    Level,
    assess,
    assess_conversation,
    decide,
)
from bot.safety.signs import (
    CANNOT_WALK,
    CAUDA_EQUINA,
    COLLAPSE,
    DOUBLE_VISION,
    EXPLICIT_EMERGENCY,
    FACE_DROOP,
    HEAD_INJURY,
    MENINGITIS_SIGNS,
    ONE_SIDED_WEAKNESS,
    OVERDOSE,
    PROLONGED_SEIZURE,
    SELF_INJURY,
    SPEECH_DIFFICULTY,
    SPREADING_WEAKNESS,
    SUDDEN_CONFUSION,
    SUDDEN_ONSET,
    SUICIDAL_THOUGHTS,
    SUSPECTED_STROKE,
    THUNDERCLAP_HEADACHE,
    UNRESPONSIVE,
    VISION_LOSS,
)

__all__ = [
    "CANNOT_WALK",
    "CAUDA_EQUINA",
    "COLLAPSE",
    "DOUBLE_VISION",
    "EXPLICIT_EMERGENCY",
    "FACE_DROOP",
    "HEAD_INJURY",
    "MENINGITIS_SIGNS",
    "ONE_SIDED_WEAKNESS",
    "OVERDOSE",
    "PROLONGED_SEIZURE",
    "RECENT_MESSAGES",
    "SELF_INJURY",
    "SPEECH_DIFFICULTY",
    "SPREADING_WEAKNESS",
    "SUDDEN_CONFUSION",
    "SUDDEN_ONSET",
    "SUICIDAL_THOUGHTS",
    "SUSPECTED_STROKE",
    "THUNDERCLAP_HEADACHE",
    "UNRESPONSIVE",
    "VISION_LOSS",
    "Assessment",
    "Level",
    "assess",
    "assess_conversation",
    "decide",
]
