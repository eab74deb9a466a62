"""Neurobot core: the archive, search, safety and answer composition, free of Rasa."""

__version__ = "0.1.0"
