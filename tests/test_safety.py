"""Tests of the emergency red-flag assessment (bot/safety.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.safety import (
    Assessment,
    Level,
    TriageReport,
    assess,
    assess_conversation,
    evaluate_triage,
)

TRIAGE = Path(__file__).resolve().parent / "data" / "triage.jsonl"

E = Level.EMERGENCY
S = Level.SELF_HARM
N = Level.NONE

# ------------------------------------------------------------------ red flags, by sign

RED_FLAGS = [
    # phrasings the NLU cross-validation showed the deterministic check missing
    ("had a seizure for the first time ever just now", E),
    ("sometimes i think everyone would be better off without me", S),
    ("i feel like ending it", S),
    ("i can't feel my legs after lifting something and i've wet myself", E),
    ("what's the point of living with this illness", S),
    ("i wish i could go to sleep and never wake up", S),
    ("i have pills saved up and i'm thinking of taking them all", S),
    ("this is an emergency", E),
    ("i need an ambulance", E),
    ("i can't go on like this, i want it to stop for good", S),
    ("i've written goodbye letters to my family", S),
    ("my legs just gave way and i can't stand up at all", E),
    ("after the car accident i have a bad headache and keep being sick", E),
    ("my child has a fever, a stiff neck and purple spots", E),
    ("i want to disappear forever", S),
    ("no one would care if i was gone", S),
    ("i'm scared i might do something to myself tonight", S),
    # a seizure happening now
    ("my husband is having a seizure", E),
    ("she is seizing on the kitchen floor", E),
    # face droop
    ("His face is drooping on one side", E),
    ("the corner of her mouth is droopy and crooked", E),
    ("her smile looks uneven all of a sudden", E),
    # one-sided weakness or numbness with an onset
    ("My right arm went weak suddenly", E),
    ("left leg numb since this morning", E),
    ("half of my body feels heavy, it started 30 minutes ago", E),
    ("i cant lift my left arm, it just happened", E),
    # speech
    ("his speech is slurred", E),
    ("she's slurring her words", E),
    ("I can't find the words all of a sudden", E),
    # vision
    ("I lost the vision in my right eye an hour ago", E),
    ("suddenly seeing double", E),
    # headache
    ("worst headache of my life", E),
    ("a thunderclap headache", E),
    ("my headache came on like being hit on the head with a hammer", E),
    ("sudden excruciating headache while at the gym", E),
    # seizures
    ("the seizure has lasted more than 5 minutes", E),
    ("she keeps having seizures one after another", E),
    ("he had a seizure and he hasn't woken up", E),
    # head injury, meningitis, spreading weakness, cauda equina
    ("he banged his head and has vomited twice", E),
    ("headache, fever and a stiff neck", E),
    ("my legs are getting weaker and now I have trouble swallowing", E),
    ("lower back pain and I have lost control of my bladder", E),
    ("sciatica and my groin is numb", E),
    # confusion, walking, collapse, unresponsive, stroke
    ("my dad is suddenly confused", E),
    ("I suddenly can't walk", E),
    ("my wife collapsed", E),
    ("he is unconscious", E),
    ("she's not responding", E),
    ("I think I'm having a stroke", E),
    # self-harm
    ("I want to kill myself", S),
    ("i keep thinking about suicide", S),
    ("I want to end it all", S),
    ("i feel like hurting myself", S),
    ("I'm going to take all my tablets tonight", S),
    ("i wanna unalive myself", S),
    # more face weakness
    ("he can't smile properly and one eye won't close", E),
]


@pytest.mark.parametrize(("text", "level"), RED_FLAGS)
def test_red_flags(text: str, level: Level) -> None:
    result = assess(text)
    assert result.level is level
    assert result.urgent
    assert result.signs


BENIGN = [
    "i feel like ending it with my boyfriend",
    "I had my first seizure when I was 12, now I am 30",
    "does the ambulance come if i call 112?",
    "my legs go numb when I sit cross-legged",
    "I was in a car accident 5 years ago and have back pain",
    "I can't walk at all since my stroke two years ago",
    "I cannot go on like this with these headaches, what can I do",
    "my son is having seizures every month and the neurologist is adjusting his dose",
    "my eyelid twitches",
    "slight headache every afternoon for weeks",
    "numb fingers at night for months",
    "I'm scared of stroke, what are the signs?",
    "my grandmother had a stroke years ago",
    "had a TIA last year, now fine",
    "weeks of intermittent twitching",
    "just killing time before my appointment",
    "this headache is killing me",
    "I'm dying to know what the MRI shows",
    "What does a seizure look like?",
    "How can I tell if someone is having a stroke?",
    "Does MS cause double vision?",
    "my left knee gets weak when I climb stairs",
    "I lost my glasses and can't see the screen",
    "I was confused about the appointment time",
    "I can't stand the smell of coffee any more",
    "",
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign(text: str) -> None:
    assert assess(text) == Assessment(Level.NONE, ())


@pytest.mark.parametrize(
    ("text", "signs"),
    [
        ("My face started drooping an hour ago", ("face_droop", "sudden_onset")),
        ("slurred speech and face droop", ("face_droop", "speech_difficulty")),
        ("suddenly my left arm went numb", ("one_sided_weakness", "sudden_onset")),
        (
            "seizure for 10 minutes and she won't wake up",
            ("prolonged_seizure", "unresponsive", "sudden_onset"),
        ),
        ("I want to die and my face is drooping", ("suicidal_thoughts", "face_droop")),
    ],
)
def test_signs(text: str, signs: tuple[str, ...]) -> None:
    assert assess(text).signs == signs


# ---------------------------------------------------------------------------- negation


@pytest.mark.parametrize(
    "text",
    [
        "no slurred speech",
        "I hit my head but I never lost consciousness",
        "sudden headache without any weakness",
        "my face is not drooping",
        "patient denies facial droop or slurred speech",
        "headache and stiff neck but no fever",
        "I'm not having a stroke, my doctor checked",
        "no thoughts of suicide",
        "I would never hurt myself",
        "I don't want to die",
    ],
)
def test_negated_red_flags_are_not_urgent(text: str) -> None:
    assert assess(text).level is Level.NONE


@pytest.mark.parametrize(
    "text",
    [
        "no headache but my face is drooping",
        "I'm not sure what is happening, my speech is slurred",
        "I don't know why, but my left arm went numb suddenly",
        "he isn't making any sense and started slurring 20 minutes ago",
    ],
)
def test_negation_ends_at_its_clause(text: str) -> None:
    assert assess(text).level is Level.EMERGENCY


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I did not vomit or feel drowsy after I hit my head", N),
        ("I don't have any slurred speech or face droop", N),
        ("my child has a fever, a rash that does not fade and a stiff neck", E),
        ("a headache that does not go away, a fever and a stiff neck", E),
    ],
)
def test_negated_lists_and_relative_clauses(text: str, level: Level) -> None:
    assert assess(text).level is level


@pytest.mark.parametrize(
    "text",
    [
        "my left arm has no strength since this morning",
        "her face is not moving on one side",
        "his speech is not right",
        "I was not able to move my left leg an hour ago",
        "she is not responding to me at all",
    ],
)
def test_negation_words_that_belong_to_the_sign(text: str) -> None:
    assert assess(text).level is Level.EMERGENCY


@pytest.mark.parametrize(
    "text",
    [
        "it was not sudden, my left arm has been numb",
        "my left arm is numb, it didn't start suddenly",
        "her eczema is not responding to the cream",
        "I could get double vision if I stop my eye drops",
        "my dad collapsed laughing at my joke",
        "I collapsed on the sofa after work",
        "tingling in my hands and short of breath when I panic",
    ],
)
def test_negated_onsets_conditions_and_idioms(text: str) -> None:
    assert assess(text).level is Level.NONE


# ------------------------------------------------------------------------------- onset


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # Signs that need an onset.
        ("my left arm is numb", N),
        ("my left arm is numb since this morning", E),
        ("my left arm went numb 30 minutes ago", E),
        ("my left arm has been numb on and off for years", N),
        ("I have double vision", N),
        ("double vision started today", E),
        ("double vision, right now", E),
        ("I'm confused", N),
        ("all of a sudden I'm confused", E),
        # Signs that are acute by nature, unless clearly in the past.
        ("my face is drooping", E),
        ("two years ago my face was drooping for a week", N),
        ("I had a stroke in 2019 and now my face is drooping", E),
        ("had a seizure that would not stop, back in 2015", N),
        ("worst headache of my life five years ago, it was a migraine", N),
        ("I get the worst headaches of my life every month", N),
        # Explicit recent times beat long durations; long durations beat manner words.
        ("migraines for years and this morning my left arm went weak", E),
        ("I've had migraines for years and suddenly I have double vision", E),
        ("two years ago I suddenly lost vision in one eye", N),
    ],
)
def test_onset(text: str, level: Level) -> None:
    assert assess(text).level is level


# ----------------------------------------------------------------------------- self-harm


def test_self_harm_takes_precedence_over_emergency() -> None:
    result = assess("my speech is slurred and I want to kill myself")
    assert result.level is Level.SELF_HARM
    assert "suicidal_thoughts" in result.signs
    assert "speech_difficulty" in result.signs


@pytest.mark.parametrize(
    "text",
    [
        "killing time",
        "this headache is killing me",
        "dying to know",
        "my feet are killing me",
        "I hurt myself when I fell off my bike",
        "I killed myself laughing at that film",
        "I could murder a coffee",
    ],
)
def test_idioms_are_not_self_harm(text: str) -> None:
    assert assess(text).level is Level.NONE


# -------------------------------------------------------------------------- conversation


def test_conversation_is_urgent_when_any_message_is() -> None:
    result = assess_conversation(["hello", "my face is drooping", "thanks"])
    assert result.level is Level.EMERGENCY
    assert result.signs == ("face_droop",)


def test_conversation_joins_onset_and_sign_across_recent_messages() -> None:
    assert assess("my left arm is numb").level is Level.NONE
    result = assess_conversation(["my left arm is numb", "it started about an hour ago"])
    assert result == Assessment(Level.EMERGENCY, ("one_sided_weakness", "sudden_onset"))
    onset_first = assess_conversation(["it came on suddenly", "I have double vision"])
    assert onset_first.level is Level.EMERGENCY


def test_conversation_does_not_join_old_or_chronic_messages() -> None:
    far_apart = ["my left arm is numb", "ok", "thanks", "bye", "it started an hour ago"]
    assert assess_conversation(far_apart).level is Level.NONE
    chronic = ["my left arm has been numb for years", "I had a headache this morning"]
    assert assess_conversation(chronic).level is Level.NONE


def test_conversation_self_harm_precedence_and_empty() -> None:
    result = assess_conversation(["I want to die", "my face is drooping"])
    assert result.level is Level.SELF_HARM
    assert assess_conversation([]) == Assessment(Level.NONE, ())


def test_urgent_property() -> None:
    assert not Assessment(Level.NONE).urgent
    assert Assessment(Level.EMERGENCY, ("face_droop",)).urgent
    assert Assessment(Level.SELF_HARM, ("suicidal_thoughts",)).urgent


# ---------------------------------------------------------------------------- held back
# Written apart from tests/data/triage.jsonl and not used to write the rules' wording:
# they check that the patterns generalise beyond the table.

HELD_BACK_EMERGENCIES = [
    "my wife's face has gone lopsided and she is dribbling from one corner of her mouth",
    "all of a sudden I cant lift my right arm above my head",
    "he sounds drunk but hasn't had anything to drink, his words are slurry",
    "Came on in a second - the most horrendous headache I have ever had",
    "She's been seizing for ten minutes now",
    "my boy whacked his head on the trampoline and he keeps vomiting",
    "cant swallow properly and my legs have got weaker over the past day",
    "I've lost control of my bowels and my back is agony",
    "Half my body went numb 10 minutes ago",
    "I am planning to overdose tonight",
    "My dad isn't making any sense and started talking gibberish 20 minutes ago",
    "my grandma suddenly cant see anything out of her left eye",
    "my mum cant wake up and is breathing funny",
    "HELP my brother is having a fit and it has been 8 mins",
    "i keep thinking about ending my life",
    "the right side of my face feels numb and my smile is wonky since an hour",
    "got the worst headache in my life right now",
    "her face dropped on the left and she cant talk",
    "my husband is slurring and his left side has gone floppy",
    "woke up unable to move my right leg",
    "i cant see properly out of my left eye and it happened in the last hour",
    "mum's mouth droops on the right since lunch",
    "My friend took a hit to the head in a fight and keeps falling asleep",
    "Severe headache came on out of nowhere while straining on the toilet",
    "I want to hurt myself",
    "life isn't worth living anymore",
    "we cant rouse him after his seizure",
    "the fits keep coming one after the other",
    "sudden numbness in my face and arm on the left side",
    "his speech went all garbled a few minutes ago",
    "stiff neck, temperature of 39.5 and splitting headache",
    "my legs are getting weaker by the hour and now I am choking on my own saliva",
    "can't pee since this morning and my back is killing me",
    "my husband suddenly doesn't recognise me",
    "he suddenly collapsed on the street",
    "seeing double since I woke up",
    "I'm thinking of ending it all",
    "Is this a stroke? My mouth is drooping on one side",
]

HELD_BACK_BENIGN = [
    "What's the difference between a migraine and a stroke?",
    "my knee gave way on the stairs last year and I have had physio since",
    "I'm not having any slurred speech or weakness, just tiredness",
    "My eye twitches every few days",
    "I've had tension headaches for ten years",
    "Can seizures cause memory problems?",
    "I get pins and needles in my left hand when I sleep on it",
    "my father had a TIA in 2012 and is fine",
    "Stress is killing me at work",
    "I've been feeling a bit down but I'd never hurt myself",
    "Numbness in both feet from diabetes",
    "I'm worried about having a seizure while driving",
    "my face feels puffy in the mornings",
    "I nearly fainted at the gym yesterday but I am fine now",
    "Can a stroke cause double vision?",
    "I had Bells palsy 3 years ago and it recovered fully",
    "My left knee is weak after my ACL surgery in March",
    "what happens if someone has a seizure for more than 5 minutes",
    "My smile has been slightly lopsided since my Bell's palsy in 2018",
    "I had a seizure in 2016 that lasted 20 minutes, am I allowed to drive now?",
    "No fever, no neck stiffness, just a headache after a long day",
    "Is slurred speech a side effect of pregabalin?",
    "I feel weak and tired all the time",
    "My arm fell asleep while I was lying on it",
    "I'm scared my headaches mean a brain tumour",
    "After a long day my legs feel heavy",
    "my toddler bumped his head on the table but is playing happily and eating normally",
    "I'd never kill myself, I just want the pain to stop",
    "My father had a brain bleed two years ago and is doing well",
    "My grandma gets confused when she has a urine infection",
    "I get numbness in my right hand when typing",
    "How long does a migraine aura usually last?",
    "my dad collapsed laughing at my joke",
]


@pytest.mark.parametrize("text", HELD_BACK_EMERGENCIES)
def test_held_back_emergencies(text: str) -> None:
    assert assess(text).urgent


@pytest.mark.parametrize("text", HELD_BACK_BENIGN)
def test_held_back_benign(text: str) -> None:
    assert not assess(text).urgent


# ---------------------------------------------------------------------------- evaluation


def test_triage_table_recall_and_false_alarms() -> None:
    report = evaluate_triage(TRIAGE)
    assert report.total >= 90
    assert report.emergencies >= 45
    assert report.total - report.emergencies >= 45
    assert report.missed == ()
    assert report.recall == 1.0
    assert report.false_alarm_rate <= 0.05


def test_triage_report_counts_self_harm_as_emergency(tmp_path: Path) -> None:
    table = tmp_path / "small.jsonl"
    rows = [
        {"text": "I want to kill myself", "emergency": True},
        {"text": "my face is drooping", "emergency": True},
        {"text": "my left arm is numb", "emergency": True},
        {"text": "my eyelid twitches", "emergency": False},
        {"text": "he is unconscious", "emergency": False},
    ]
    table.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    report = evaluate_triage(table)
    assert report == TriageReport(
        total=5,
        emergencies=3,
        recall=2 / 3,
        false_alarm_rate=0.5,
        missed=("my left arm is numb",),
        false_alarms=("he is unconscious",),
    )
    assert report.to_dict() == {
        "total": 5,
        "emergencies": 3,
        "recall": 2 / 3,
        "false_alarm_rate": 0.5,
        "missed": ["my left arm is numb"],
        "false_alarms": ["he is unconscious"],
    }
    json.dumps(report.to_dict())


@pytest.mark.parametrize(
    "bad_line",
    [
        '{"text": "my face is drooping", "emergency": tru',
        '["my face is drooping", true]',
        '{"text": 3, "emergency": true}',
        '{"text": "my face is drooping", "emergency": "yes"}',
        '{"text": "my face is drooping"}',
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad_line: str) -> None:
    table = tmp_path / "broken_triage.jsonl"
    good = json.dumps({"text": "my eyelid twitches", "emergency": False})
    table.write_text(f"{good}\n\n{bad_line}\n{good}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken_triage\.jsonl.*line 3"):
        evaluate_triage(table)


def test_empty_table(tmp_path: Path) -> None:
    table = tmp_path / "empty.jsonl"
    table.write_text("", encoding="utf-8")
    assert evaluate_triage(table) == TriageReport(0, 0, 1.0, 0.0, (), ())


# -------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00",
        "((((",
        "*" * 10000,
        "\U0001f600\U0001f9e0\U0001f4a5",
        'NEAR("a" "b")',
        "face:droop OR (slurred AND speech) -weakness",
        "\\d+[a-z]*?(?:x)|^$",
        "   \n\t  ",
        "|||,,,;;;...---",
        "é" * 5000,
        "no " * 3000 + "slurred",
        "and my " * 5000,
        "my left arm is weak suddenly " * 2000,
    ],
)
def test_assess_never_raises(text: str) -> None:
    result = assess(text)
    assert isinstance(result, Assessment)
    assert isinstance(result.level, Level)
    assert all(isinstance(sign, str) for sign in result.signs)
    assert assess_conversation([text, text]).level in tuple(Level)


def test_bot_safety_does_not_import_rasa() -> None:
    code = (
        "import sys, bot.safety; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('rasa', 'rasa_sdk')]; "
        "sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run([sys.executable, "-c", code], cwd=root, check=False)
    assert completed.returncode == 0
