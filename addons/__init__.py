"""Extensions loaded by the Rasa server itself (NLU component, guarded channels)."""
