"""Reading archive files: JSON Lines, CSV, seed-format text pages and MedQuAD.

Field mapping for JSON Lines and CSV (first name is the canonical one, the others are
accepted aliases; unknown columns are ignored):

=================  =========================================  ========
field              aliases                                    required
=================  =========================================  ========
id                 record_id                                  yes
question           body, question_text                        yes
reply              answer, response                           yes
source             hospital, institution                      yes
title              subject                                    no (first sentence of question)
responder          doctor, replied_by                         no
department         dept, specialty                            no
asker_age_range    age_range, age                             no
asker_sex          sex, gender                                no
asked_date         ask_date, question_date                    no
reply_date         answer_date                                no
url                link                                       no
topics             related_topics, tags                       no (list, or text split on | ;)
similar_titles     similar_questions                          no (list, or text split on | ;)
=================  =========================================  ========
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bot.archive.records import Record
from bot.errors import ArchiveFormatError
from bot.jsonl import json_objects

FORMATS = ("auto", "jsonl", "csv", "seed", "medquad")

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("record_id",),
    "question": ("body", "question_text"),
    "reply": ("answer", "response"),
    "source": ("hospital", "institution"),
    "title": ("subject",),
    "responder": ("doctor", "replied_by"),
    "department": ("dept", "specialty"),
    "asker_age_range": ("age_range", "age"),
    "asker_sex": ("sex", "gender"),
    "asked_date": ("ask_date", "question_date"),
    "reply_date": ("answer_date",),
    "url": ("link",),
    "topics": ("related_topics", "tags"),
    "similar_titles": ("similar_questions",),
}
REQUIRED = ("id", "question", "reply", "source")
LIST_FIELDS = ("topics", "similar_titles")

#: How MedQuAD's source abbreviations are shown: the publishing institute, never a doctor.
MEDQUAD_SOURCES = {
    "NINDS": "NINDS, National Institutes of Health",
    "GARD": "GARD (Genetic and Rare Diseases Information Center), National Institutes of Health",
    "GHR": "Genetics Home Reference, U.S. National Library of Medicine",
    "NIHSeniorHealth": "NIHSeniorHealth, National Institutes of Health",
    "NIDDK": "NIDDK, National Institutes of Health",
    "MPlusHealthTopics": "MedlinePlus, U.S. National Library of Medicine",
    "NHLBI": "NHLBI, National Institutes of Health",
    "CancerGov": "National Cancer Institute, National Institutes of Health",
    "CDC": "Centers for Disease Control and Prevention",
}


def read_archive(paths: Iterable[Path | str], fmt: str = "auto") -> list[Record]:
    """Read every record of the given files (folders are read file by file, sorted).

    All files are read before anything is returned, so a caller that imports the
    result imports everything or, when a file is malformed, nothing.

    Args:
        paths: Files or folders.
        fmt: One of :data:`FORMATS`; ``auto`` picks by file name and content.

    Returns:
        The records, in file order.

    Raises:
        ArchiveFormatError: A file cannot be read; the message names file and line.
    """
    if fmt not in FORMATS:
        raise ArchiveFormatError("-", None, f"unknown format {fmt!r}; use one of {FORMATS}")
    records: list[Record] = []
    for path in _expand(paths):
        records.extend(read_file(path, fmt))
    return records


def read_file(path: Path, fmt: str = "auto") -> list[Record]:
    """Read one archive file; see :func:`read_archive`."""
    if fmt == "auto":
        fmt = detect_format(path)
    try:
        if fmt == "csv":
            return list(_read_csv(path))
        if fmt == "seed":
            return [_read_seed(path)]
        return list(_read_jsonl(path, medquad=fmt == "medquad"))
    except UnicodeDecodeError as exc:
        raise ArchiveFormatError(path, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ArchiveFormatError(path, None, f"cannot read: {exc.strerror}") from None


def detect_format(path: Path) -> str:
    """Guess a file's format from its name and, for JSON Lines, its first record."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".txt":
        return "seed"
    if suffix in (".jsonl", ".json", ".ndjson"):
        try:
            with path.open(encoding="utf-8") as handle:
                first = next((line for line in handle if line.strip()), "")
            keys = set(json.loads(first)) if first else set()
        except (OSError, ValueError, TypeError, UnicodeDecodeError):
            return "jsonl"
        return "medquad" if {"focus", "qtype", "answer"} <= keys else "jsonl"
    raise ArchiveFormatError(path, None, "unknown file type; pass --format")


def _expand(paths: Iterable[Path | str]) -> Iterator[Path]:
    for item in paths:
        path = Path(item)
        if path.is_dir():
            children = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in (".jsonl", ".ndjson", ".csv", ".txt")
            )
            if not children:
                raise ArchiveFormatError(path, None, "folder holds no archive files")
            yield from children
        elif path.exists():
            yield path
        else:
            raise ArchiveFormatError(path, None, "no such file")


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _as_list(value: Any, where: tuple[Path, int], name: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in re.split(r"[|;]", value) if p.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise ArchiveFormatError(where[0], where[1], f"{name} must be a list of strings")


def record_from_mapping(row: dict[str, Any], path: Path, line: int) -> Record:
    """Map one JSON object or CSV row to a record using the documented field mapping.

    Raises:
        ArchiveFormatError: A required field is missing or a field has the wrong type.
    """
    values: dict[str, Any] = {}
    for field, aliases in ALIASES.items():
        for name in (field, *aliases):
            if name in row and row[name] not in (None, ""):
                values[field] = row[name]
                break
    missing = [f for f in REQUIRED if _clean(values.get(f)) is None]
    if missing:
        raise ArchiveFormatError(path, line, f"missing required field(s): {', '.join(missing)}")
    for field, value in values.items():
        if field not in LIST_FIELDS and not isinstance(value, (str, int, float)):
            raise ArchiveFormatError(path, line, f"{field} must be text")
    question = str(values["question"]).strip()
    title = _clean(values.get("title")) or _first_sentence(question)
    return Record(
        id=str(values["id"]).strip(),
        title=title,
        question=question,
        reply=str(values["reply"]).strip(),
        source=str(values["source"]).strip(),
        responder=_clean(values.get("responder")),
        department=_clean(values.get("department")),
        asker_age_range=_clean(values.get("asker_age_range")),
        asker_sex=_clean(values.get("asker_sex")),
        asked_date=_clean(values.get("asked_date")),
        reply_date=_clean(values.get("reply_date")),
        url=_clean(values.get("url")),
        topics=_as_list(values.get("topics"), (path, line), "topics"),
        similar_titles=_as_list(values.get("similar_titles"), (path, line), "similar_titles"),
    )


def _first_sentence(text: str, limit: int = 90) -> str:
    sentence = re.split(r"(?<=[.?!])\s", text, maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _read_jsonl(path: Path, *, medquad: bool) -> Iterator[Record]:
    with path.open(encoding="utf-8") as handle:
        for number, row in json_objects(handle, path):
            yield (
                _medquad_record(row, path, number)
                if medquad
                else record_from_mapping(row, path, number)
            )


def _medquad_record(row: dict[str, Any], path: Path, line: int) -> Record:
    missing = [k for k in ("id", "source", "focus", "question", "answer") if not row.get(k)]
    if missing:
        raise ArchiveFormatError(path, line, f"missing MedQuAD field(s): {', '.join(missing)}")
    abbreviation = str(row["source"])
    question = str(row["question"]).strip()
    return Record(
        id=str(row["id"]),
        title=question,
        question=question,
        reply=str(row["answer"]).strip(),
        source=MEDQUAD_SOURCES.get(abbreviation, abbreviation),
        responder=None,
        department=None,
        url=_clean(row.get("url")),
        topics=tuple(t for t in (_clean(row.get("focus")), _clean(row.get("qtype"))) if t),
    )


def _read_csv(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ArchiveFormatError(path, 1, "empty CSV file (no header)")
        try:
            for row in reader:
                if None in row:
                    raise ArchiveFormatError(path, reader.line_num, "more cells than header")
                yield record_from_mapping(dict(row), path, reader.line_num)
        except csv.Error as exc:
            raise ArchiveFormatError(path, reader.line_num, f"bad CSV: {exc}") from None


_ASKER = re.compile(r"Ask Date:\s*(?P<date>\S+)\s*$")
_AGE = re.compile(r"(?P<age>\d+\s*[~\-]\s*\d+|\d+)\s*years?\s*old", re.IGNORECASE)
_SEX = re.compile(r"\b(female|male)\b", re.IGNORECASE)
_REPLIER = re.compile(r"^(?P<who>.+?)\s+reply\s+(?P<dept>.+)$")
_REPLY_DATE = re.compile(r"^Reply Date:\s*(?P<date>\S+)\s*$")


def _read_seed(path: Path) -> Record:
    """Parse a page in the seed's text format (see ``../shared/seeds``).

    Only the doctor's own reply is kept: the page's "More Info" section is not the
    doctor's text and is left out. The asker's name is left out; age range and sex kept.
    """
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]

    def find(pattern: re.Pattern[str], start: int, what: str) -> tuple[int, re.Match[str]]:
        for index in range(start, len(lines)):
            match = pattern.search(lines[index])
            if match:
                return index, match
        raise ArchiveFormatError(path, len(lines) or 1, f"no {what} line found")

    if not lines or not lines[0]:
        raise ArchiveFormatError(path, 1, "first line must be the title")
    ask_at, ask = find(_ASKER, 1, "'Ask Date:'")
    question = "\n".join(line for line in lines[1:ask_at] if line)
    if not question:
        raise ArchiveFormatError(path, ask_at + 1, "no question text before the 'Ask Date:' line")
    reply_at = ask_at + 1
    replier = _REPLIER.match(lines[reply_at]) if reply_at < len(lines) else None
    if replier is None:
        raise ArchiveFormatError(path, reply_at + 1, "expected '<doctor> reply <department>'")
    date_at, reply_date = find(_REPLY_DATE, reply_at + 1, "'Reply Date:'")
    signature_at = date_at - 1
    signature = lines[signature_at] if signature_at > reply_at else ""
    if "," not in signature:
        raise ArchiveFormatError(
            path, signature_at + 1, "expected the signature '<name>, <hospital>' before Reply Date"
        )
    body_end = signature_at - 1 if lines[signature_at - 1] in ("Dr.", "Dr") else signature_at
    reply = "\n".join(line for line in lines[reply_at + 1 : body_end] if line)
    if not reply:
        raise ArchiveFormatError(path, reply_at + 2, "empty reply")
    asker_line = lines[ask_at]
    age = _AGE.search(asker_line)
    sex = _SEX.search(asker_line)
    return Record(
        id=path.stem,
        title=lines[0],
        question=question,
        reply=reply,
        source=signature.rsplit(",", 1)[1].strip(),
        responder=replier.group("who").strip(),
        department=replier.group("dept").strip(),
        asker_age_range=age.group("age").replace(" ", "") if age else None,
        asker_sex=sex.group(1).lower() if sex else None,
        asked_date=ask.group("date"),
        reply_date=reply_date.group("date"),
        topics=_seed_topics(lines, date_at),
        similar_titles=_seed_similar(lines, date_at),
    )


def _section(lines: list[str], start: int, heading: str) -> list[str]:
    headings = {"More Info", "Similar Q&A", "Related FAQ"}
    try:
        begin = lines.index(heading, start) + 1
    except ValueError:
        return []
    end = next((i for i in range(begin, len(lines)) if lines[i] in headings), len(lines))
    return lines[begin:end]


def _seed_similar(lines: list[str], start: int) -> tuple[str, ...]:
    marker = "[Read More]"
    return tuple(
        line.split(marker, 1)[1].strip()
        for line in _section(lines, start, "Similar Q&A")
        if marker in line and line.split(marker, 1)[1].strip()
    )


def _seed_topics(lines: list[str], start: int) -> tuple[str, ...]:
    topics = []
    for line in _section(lines, start, "Related FAQ"):
        name = re.sub(r"\([^)]*\)$", "", line).strip()
        if name:
            topics.append(name)
    return tuple(topics)
