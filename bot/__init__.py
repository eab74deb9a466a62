"""Neurobot in plain Python, free of Rasa: the shared core here, each job in a subpackage."""

__version__ = "0.1.0"
