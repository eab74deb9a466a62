"""The sign table (bot/safety/signs.py): red flags and their benign look-alikes, by sign.

Adding a sign is one row in ``bot/safety/signs.py`` plus one row here, in ``RED_FLAGS``
(and a benign look-alike in ``BENIGN``).
"""

from __future__ import annotations

import re

import pytest

from bot.safety import Assessment, Level, assess
from bot.safety.finder import literal_prefixes
from bot.safety.signs import COMBINATIONS, SIGN_ORDER, SIGNS, Combination, Lasting, Sign

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


# ------------------------------------------------------------------------------ the table


def test_every_row_is_well_formed() -> None:
    rows: list[Sign | Combination] = [*SIGNS, *COMBINATIONS]
    assert {row.name for row in rows} <= set(SIGN_ORDER)
    for sign in SIGNS:
        assert isinstance(sign.patterns, tuple)
        assert sign.patterns
        assert all(isinstance(p, str) for p in sign.patterns)
        for pattern in sign.patterns:
            re.compile(pattern)
    for combination in COMBINATIONS:
        assert len(combination.needs) >= 2
        assert all(isinstance(need, tuple) and need for need in combination.needs)


def test_every_sign_name_is_reported_by_some_row() -> None:
    named = {row.name for row in [*SIGNS, *COMBINATIONS]}
    assert set(SIGN_ORDER) - named == {"sudden_onset"}


def _patterns() -> list[str]:
    found = [p for sign in SIGNS for p in sign.patterns]
    for combination in COMBINATIONS:
        for need in combination.needs:
            found += [p.pattern for p in need if not isinstance(p, Lasting)]
    return found


def test_literal_prefixes_start_every_match() -> None:
    # The engine skips a pattern when none of its literal prefixes is in the text; a
    # prefix that some match does not start with would hide a sign.
    texts = [t for t, _ in RED_FLAGS] + BENIGN + HELD_BACK_EMERGENCIES + HELD_BACK_BENIGN
    from bot.safety.normalise import split_clauses

    joined = [split_clauses(t).joined for t in texts]
    checked = 0
    for pattern in _patterns():
        prefixes = literal_prefixes(pattern)
        if prefixes is None:
            continue
        for text in joined:
            for m in re.finditer(pattern, text):
                checked += 1
                assert m.group(0).startswith(prefixes), (pattern, m.group(0))
    assert checked > 100


@pytest.mark.parametrize(
    ("pattern", "prefixes"),
    [
        (
            r"\b(?:cant|couldnt) (?:stand|walk)\b",
            ("cant stand", "cant walk", "couldnt stand", "couldnt walk"),
        ),
        (r"\bslur+(?:e?d|ing)?\b", ("slur",)),
        (r"\blips?\b|\blip\b", ("lip",)),
        (r"(?<!as )\bif (?:i|he)\b", ("if he", "if i")),
        (r"(?:a |an )?stroke", None),
        (r"\w+ stroke", None),
        (r"\bnum+b", ("num",)),
    ],
)
def test_literal_prefixes(pattern: str, prefixes: tuple[str, ...] | None) -> None:
    assert literal_prefixes(pattern) == prefixes
