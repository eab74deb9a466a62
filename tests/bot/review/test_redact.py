"""Redaction of personal details: one row per case, the whole redacted text asserted."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.review.redact import Span, find, redact
from tests.conftest import ROOT

PHRASES = ROOT / "tests" / "data" / "redaction_phrases.jsonl"
#: Highest share of a kind's phrases whose secret may survive (issue 18).
MISS_RATE_TARGETS = {"phone": 0.0, "email": 0.0, "id": 0.0, "name": 0.05, "address": 0.05}

CASES = [
    # names: introductions, titles, relatives, closings
    ("My name is Anna Kowalski and my hands shake", "My name is [name] and my hands shake"),
    ("my name is john smith i have headaches", "my name is [name] i have headaches"),
    ("Hi, I'm Sarah, 34, and my left eye twitches", "Hi, I'm [name], 34, and my left eye twitches"),
    ("Dr. Patel said it is a migraine", "Dr. [name] said it is a migraine"),
    ("Mrs O'Neill from next door has the same", "Mrs [name] from next door has the same"),
    ("my son Tom has had seizures since May", "my son [name] has had seizures since May"),
    ("My husband, John, says I slur my words", "My husband, [name], says I slur my words"),
    ("it tingles at night. Thanks, Maria", "it tingles at night. Thanks, [name]"),
    ("my feet burn\nKind regards,\nPeter Jones", "my feet burn\nKind regards,\n[name]"),
    # phone numbers: national and international formats
    ("call me on 07700 900123 please", "call me on [phone] please"),
    ("my number is +44 7700 900123", "my number is [phone]"),
    ("ring 415-555-2671 after six", "ring [phone] after six"),
    ("tel (212) 555-0199", "tel [phone]"),
    ("Handy: 0176 12345678", "Handy: [phone]"),
    # e-mail addresses
    ("write to anna.k+neuro@example.co.uk", "write to [email]"),
    ("mail: J_Doe99@mail-server.org.", "mail: [email]."),
    # dates of birth: full dates, and a year or date after a birth cue
    ("born on 3 March 1984, numb fingers", "born on [date of birth], numb fingers"),
    ("DOB: 02/03/1984", "DOB: [date of birth]"),
    ("date of birth 1984-03-02", "date of birth [date of birth]"),
    ("I was born in 1984 and have tremors", "I was born in [date of birth] and have tremors"),
    ("my birthday is March 2nd", "my birthday is [date of birth]"),
    ("it started on March 2, 2021", "it started on [date of birth]"),
    # what a probe found left visible (issue 18): each row failed before
    ("I am John Smith from Taipei", "I am [name] from Taipei"),
    ("i am john smith", "i am [name]"),
    ("John Smith here", "[name] here"),
    ("The patient is Mary Jones", "The patient is [name]"),
    ("我叫王小明", "我叫[name]"),
    ("我是王小明，今年45歲", "我是[name]，今年45歲"),
    ("本人陳大文，手會抖", "本人[name]，手會抖"),
    ("名字是李四", "名字是[name]"),
    ("221B Baker Street, London NW1 6XE", "[address]"),
    ("1600 Pennsylvania Ave NW, Washington, DC 20500", "[address]"),
    ("台北市中正區重慶南路一段122號", "[address]"),
    ("I live at 12 elm street and have migraines", "I live at [address] and have migraines"),
    ("john dot smith at example dot com", "[email]"),
    ("john(at)example(dot)com", "[email]"),
    ("john [at] example [dot] com", "[email]"),
    ("A123456789", "[id number]"),
    ("my SSN is 123-45-6789", "my SSN is [id number]"),
    ("943 476 5919", "[id number]"),
    (
        '/feedback_unhelpful{"record_id": "John Smith 0912-345-678"}',
        '/feedback_unhelpful{"record_id": "[name] [phone]"}',
    ),
    # everything at once
    (
        "I'm Lena. Born 12.05.1990. Call +49 30 1234567 or lena@example.de",
        "I'm [name]. Born [date of birth]. Call [phone] or [email]",
    ),
]

KEPT = [
    # what a doctor needs stays: onset, ages, doses, pressures, eponyms, plain words
    "I have had Parkinson's symptoms since March 2021",
    "Bell's palsy on my left side, I am 45 years old",
    "blood pressure 140/90, I take 50 mg of topiramate twice a day",
    "Could it be Guillain-Barre? It started 3 weeks ago",
    "I am worried about my memory, my mum had Alzheimer's",
    "my daughter has headaches every morning",
    "I'm Scared. My hands shake.",
    # weak cues followed by an illness, a state, an age or a drug
    "I am Parkinson's patient",
    "I am dizzy",
    "I am having Bell's palsy",
    "The patient is 45",
    "Multiple Sclerosis here",
    "I'm taking Lyrica",
    "I am Huntington's carrier, is it Tourette or Meniere?",
    "我是高血壓患者",
    "我是帕金森病人",
    '/feedback_helpful{"record_id": "kqa-12"}',
    "",
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_personal_details_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_medical_details_are_kept(text: str) -> None:
    assert redact(text) == text
    assert find(text) == []


def test_overlapping_finds_become_one_placeholder() -> None:
    # the full date is found as a date and after the birth cue: one span
    assert [s.kind for s in find("born 3 March 1984")] == ["birth_date"]


def test_an_nhs_number_is_an_id_and_a_phone_number_stays_a_phone_number() -> None:
    # both are ten digits; the NHS number's check digit is right, the phone's is not
    assert find("943 476 5919 or 0912 345 678") == [Span("id", 0, 12), Span("phone", 16, 28)]


def test_the_phrase_table_meets_the_miss_rate_targets() -> None:
    rows = [json.loads(line) for line in PHRASES.read_text(encoding="utf-8").splitlines()]
    phrases = Counter(row["kind"] for row in rows)
    missed = Counter(
        row["kind"]
        for row in rows
        if row["kind"] != "none" and any(s in redact(row["text"]) for s in row["secret"])
    )
    over_redacted = [
        row["text"] for row in rows if row["kind"] == "none" and redact(row["text"]) != row["text"]
    ]

    assert len(rows) >= 60
    assert {kind for kind in phrases} == {*MISS_RATE_TARGETS, "none"}
    assert {k: missed[k] / phrases[k] <= t for k, t in MISS_RATE_TARGETS.items()} == dict.fromkeys(
        MISS_RATE_TARGETS, True
    )
    assert over_redacted == []
