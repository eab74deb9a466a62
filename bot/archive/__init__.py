"""The archive of answered questions: its records and the readers of its formats."""
