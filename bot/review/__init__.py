"""The review queue of stored conversations and the redaction of what it shows."""
