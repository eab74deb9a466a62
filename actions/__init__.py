"""Custom actions run by the action server (``python -m actions.server``)."""
