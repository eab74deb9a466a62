"""Redaction of personal details: one row per case, the whole redacted text asserted."""

from __future__ import annotations

import pytest

from bot.redact import find, redact

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
