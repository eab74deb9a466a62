"""Query analysis and scoring: from a patient's words to weighted concepts.

A *concept* is one thing the patient said (a word, or a phrase of the vocabulary)
together with the phrases that mean the same. Search first gathers candidates with
FTS5 (any phrase of the rarest concepts, :func:`candidate_concepts`), then scores each
candidate by how much of the patient's message it covers, weighting rare concepts more
(IDF), the patient's own words more than vocabulary expansions, and the archived
question and title more than the lead of the reply; the index mixes in the candidate's
BM25 rank. That score lies in [0, 1] and is what the no-match threshold is calibrated
on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.search.vocabulary import Phrase, Vocabulary
from bot.text import content_stems

#: Credit for a concept found only through a vocabulary expansion.
EXPANSION_CREDIT = 0.8
#: Credit for a concept found only in the lead of the reply, not in the question.
LEAD_CREDIT = 0.7
#: Extra weight of concepts that the NLU recognised as entities (symptom, body part...).
ENTITY_BOOST = 1.5
#: At most this many concepts are kept from a long message (the rarest ones).
MAX_CONCEPTS = 40


@dataclass(frozen=True)
class Concept:
    """One thing the patient said and the phrases that mean the same.

    Attributes:
        own: The phrase as the patient wrote it (stems).
        phrases: ``own`` first, then vocabulary expansions.
        boost: Weight multiplier (entities recognised by the NLU get more).
    """

    own: Phrase
    phrases: tuple[Phrase, ...]
    boost: float = 1.0

    @property
    def stems(self) -> set[str]:
        """Every stem of every phrase."""
        return {s for p in self.phrases for s in p}


def analyze(text: str, vocabulary: Vocabulary, boost_terms: Iterable[str] = ()) -> list[Concept]:
    """Turn a patient's message into concepts, longest vocabulary phrases first.

    Args:
        text: The patient's words (any characters; nothing here can raise).
        vocabulary: Phrase groups used to expand lay words to clinical ones and back.
        boost_terms: Words the NLU extracted as entities; concepts holding them weigh more.

    Returns:
        Concepts in order of appearance, duplicates removed.
    """
    stems = content_stems(text)
    boosted = {s for term in boost_terms for s in content_stems(term)}
    concepts: list[Concept] = []
    seen: set[Phrase] = set()
    position = 0
    longest = vocabulary.longest
    while position < len(stems):
        for size in range(min(longest, len(stems) - position), 0, -1):
            phrase = tuple(stems[position : position + size])
            group = vocabulary.group_of.get(phrase)
            if group is not None or size == 1:
                break
        if phrase not in seen:
            seen.add(phrase)
            others = (
                () if group is None else tuple(p for p in vocabulary.groups[group] if p != phrase)
            )
            boost = ENTITY_BOOST if boosted & set(phrase) else 1.0
            concepts.append(Concept(own=phrase, phrases=(phrase, *others), boost=boost))
        position += len(phrase)
    return concepts


def fts_query(concepts: Sequence[Concept]) -> str:
    """Build an FTS5 query matching any phrase of any concept.

    Every phrase is a quoted FTS5 string, so no character of the patient's text can
    act as query syntax.
    """
    parts: list[str] = []
    for concept in concepts:
        for phrase in concept.phrases:
            quoted = '"' + " ".join(phrase).replace('"', '""') + '"'
            if quoted not in parts:
                parts.append(quoted)
    return " OR ".join(parts)


def idf(doc_count: int, total: int) -> float:
    """Smoothed inverse document frequency, as BM25 uses it (never negative)."""
    return math.log(1.0 + (total - doc_count + 0.5) / (doc_count + 0.5))


def concept_weight(concept: Concept, doc_freq: dict[str, int], total: int) -> float:
    """The weight of a concept: the IDF of the patient's own phrase times its boost.

    A phrase's document frequency is taken as that of its rarest stem. When the
    patient's own words never occur in the archive, the best expansion stands in, and
    a concept unknown to the archive altogether gets the weight of a rare word, so that
    an unmatched topic lowers the score instead of vanishing from it.
    """

    def phrase_df(phrase: Phrase) -> int:
        return min((doc_freq.get(s, 0) for s in phrase), default=0)

    own_df = phrase_df(concept.own)
    if own_df == 0:
        known = [phrase_df(p) for p in concept.phrases[1:] if phrase_df(p) > 0]
        own_df = max(known) if known else 1
    return idf(own_df, max(total, 1)) * concept.boost


def coverage(
    concepts: Sequence[Concept],
    weights: Sequence[float],
    head: set[str],
    lead: set[str],
) -> tuple[float, tuple[str, ...]]:
    """Score how much of the patient's message a record covers.

    Args:
        concepts: The patient's concepts.
        weights: One weight per concept (:func:`concept_weight`).
        head: Stems of the record's title, question and topics (those of the
            message's concepts are enough: no other stem is looked up).
        lead: Stems of the beginning of the record's reply (the same).

    Returns:
        The score in [0, 1] and the concepts matched (as the patient's stems).
    """
    total = sum(weights)
    if total <= 0:
        return 0.0, ()
    gained = 0.0
    matched: list[str] = []
    expansion_lead = EXPANSION_CREDIT * LEAD_CREDIT
    for concept, weight in zip(concepts, weights, strict=True):
        # the best credit of the concept's phrases: the patient's own phrase first; an
        # expansion is looked at only while it could still raise the credit
        phrases = concept.phrases
        best = 0.0
        if phrases:
            if head.issuperset(phrases[0]):
                best = 1.0
            elif lead.issuperset(phrases[0]):
                best = LEAD_CREDIT
            for phrase in phrases[1:]:
                if best >= EXPANSION_CREDIT:
                    break
                if head.issuperset(phrase):
                    best = max(best, EXPANSION_CREDIT)
                elif best < expansion_lead and lead.issuperset(phrase):
                    best = expansion_lead
        if best:
            matched.append(" ".join(concept.own))
            gained += weight * best
    return gained / total, tuple(matched)


def keep_rarest(concepts: list[Concept], weights: list[float]) -> tuple[list[Concept], list[float]]:
    """Keep at most :data:`MAX_CONCEPTS` concepts, dropping the most common ones."""
    if len(concepts) <= MAX_CONCEPTS:
        return concepts, weights
    order = sorted(range(len(concepts)), key=lambda i: -weights[i])[:MAX_CONCEPTS]
    keep = sorted(order)
    return [concepts[i] for i in keep], [weights[i] for i in keep]


def candidate_concepts(
    concepts: Sequence[Concept], doc_freq: dict[str, int], budget: int
) -> list[Concept]:
    """The concepts the candidate query looks for: the rarest known ones within a budget.

    A concept's cost is the number of documents its phrases' stems occur in (what FTS5
    reads to rank them). Concepts are taken rarest first while the costs add up to at
    most ``budget``; the rarest is always taken. Concepts unknown to the archive are
    left out.
    """

    def cost(concept: Concept) -> int:
        return sum(doc_freq.get(s, 0) for s in concept.stems)

    known = sorted((c for c in concepts if cost(c) > 0), key=cost)
    chosen: list[Concept] = []
    spent = 0
    for concept in known:
        if chosen and spent + cost(concept) > budget:
            break
        chosen.append(concept)
        spent += cost(concept)
    return chosen


#: Traits a question may state that change which reply is right for it, each with its
#: values and the stems that state them: the side of the body, whose question it is (a
#: child's or an older person's), and how it began. "Left arm weak since this morning"
#: and "right arm weak since birth" share their words but not their answer.
TRAITS: dict[str, dict[str, frozenset[str]]] = {
    "side": {"left": frozenset({"left"}), "right": frozenset({"right"})},
    "age": {
        "child": frozenset(
            {
                "child",
                "children",
                "kid",
                "son",
                "daughter",
                "babi",
                "toddler",
                "infant",
                "newborn",
                "teen",
                "teenag",
                "boy",
                "girl",
                "pediatr",
                "paediatr",
            }
        ),
        "older": frozenset(
            {"elder", "grandfath", "grandmoth", "grandma", "grandpa", "retir", "senior"}
        ),
    },
    "onset": {
        "sudden": frozenset({"sudden", "abrupt", "instant", "overnight"}),
        "lifelong": frozenset({"birth", "born", "congenit", "inherit", "hereditari"}),
        "gradual": frozenset({"gradual", "slowli", "progress"}),
    },
}


def traits(stems: Iterable[str]) -> dict[str, frozenset[str]]:
    """The values of :data:`TRAITS` that a text's stems state, per trait (traits it does
    not state are left out)."""
    present = set(stems)
    found = {}
    for trait, values in TRAITS.items():
        stated = frozenset(value for value, marks in values.items() if marks & present)
        if stated:
            found[trait] = stated
    return found


def trait_conflicts(query: dict[str, frozenset[str]], record: dict[str, frozenset[str]]) -> int:
    """How many traits both texts state with no value in common (the patient's left
    side against the record's right side, a child against a grandfather, ...)."""
    return sum(
        1 for trait, values in query.items() if trait in record and not values & record[trait]
    )
