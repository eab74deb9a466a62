"""The archive record: one patient question and the reply it received."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

#: Source line of the team's sample archive; answers drawn from it say so.
SAMPLE_SOURCE = "Sample archive (written by the project team for demonstration)"


@dataclass(frozen=True)
class Record:
    """One archived question with its reply, as the archive records it.

    Attributes:
        id: Stable identifier; re-importing the same id updates the record.
        title: The page title of the question.
        question: The patient's question, verbatim.
        reply: The reply, verbatim.
        source: The hospital or publishing source (e.g. "Taoyuan Hospital").
        responder: Who replied (a doctor's name) when the source names one.
        department: The replying department, when given.
        asker_age_range: The asker's age range, when given (e.g. "10~19").
        asker_sex: The asker's sex, when given.
        asked_date: When the question was asked, as the archive writes it.
        reply_date: When the reply was given, as the archive writes it.
        url: Where the record was published.
        topics: Related topics, most specific first.
        similar_titles: Titles the source lists as similar questions.
    """

    id: str
    title: str
    question: str
    reply: str
    source: str
    responder: str | None = None
    department: str | None = None
    asker_age_range: str | None = None
    asker_sex: str | None = None
    asked_date: str | None = None
    reply_date: str | None = None
    url: str | None = None
    topics: tuple[str, ...] = field(default_factory=tuple)
    similar_titles: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a JSON-ready dict (tuples become lists)."""
        data = asdict(self)
        data["topics"] = list(self.topics)
        data["similar_titles"] = list(self.similar_titles)
        return data

    def to_json(self) -> str:
        """Return the record as one line of JSON."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """Build a record from :meth:`to_dict` output."""
        values = dict(data)
        values["topics"] = tuple(values.get("topics") or ())
        values["similar_titles"] = tuple(values.get("similar_titles") or ())
        return cls(**values)
