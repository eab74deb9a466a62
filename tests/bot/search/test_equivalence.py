"""The fast scoring paths of search give exactly what the plain definitions give.

Search scores every candidate with :func:`bot.search.query.coverage` on the message's stems
only, stops looking at a concept's phrases once no phrase can raise its credit, and
computes the "best other cosine" decision feature in one pass. These tests hold each
shortcut to the plain definition it replaces, bit for bit.
"""

from __future__ import annotations

import random

import pytest

from bot.search import match
from bot.search.index import ArchiveIndex
from bot.search.query import EXPANSION_CREDIT, LEAD_CREDIT, Concept, coverage


def plain_coverage(
    concepts: list[Concept], weights: list[float], head: set[str], lead: set[str]
) -> tuple[float, tuple[str, ...]]:
    """Coverage as defined: the best credit of every phrase, phrase by phrase."""
    total = sum(weights)
    if total <= 0:
        return 0.0, ()
    gained = 0.0
    matched: list[str] = []
    for concept, weight in zip(concepts, weights, strict=True):
        best = 0.0
        for position, phrase in enumerate(concept.phrases):
            credit = 1.0 if position == 0 else EXPANSION_CREDIT
            if all(s in head for s in phrase):
                best = max(best, credit)
            elif all(s in lead for s in phrase):
                best = max(best, credit * LEAD_CREDIT)
        if best:
            matched.append(" ".join(concept.own))
            gained += weight * best
    return gained / total, tuple(matched)


def test_coverage_equals_the_plain_definition_on_random_records() -> None:
    rng = random.Random(7)
    stems = [f"s{i}" for i in range(12)]
    for _ in range(2000):
        concepts = []
        for _ in range(rng.randint(1, 5)):
            phrases = tuple(
                tuple(rng.sample(stems, rng.randint(1, 2))) for _ in range(rng.randint(1, 4))
            )
            concepts.append(Concept(own=phrases[0], phrases=phrases, boost=rng.choice((1, 1.5))))
        weights = [rng.uniform(0.1, 5.0) for _ in concepts]
        head = set(rng.sample(stems, rng.randint(0, 6)))
        lead = set(rng.sample(stems, rng.randint(0, 8)))
        assert coverage(concepts, weights, head, lead) == plain_coverage(
            concepts, weights, head, lead
        )


def test_search_scores_candidates_as_with_every_word_of_the_record(index: ArchiveIndex) -> None:
    """The sets of the message's stems that search hands to coverage score each
    candidate exactly as the record's whole title, question, topics and lead do."""
    from bot.search.query import analyze, concept_weight, keep_rarest

    messages = [
        "my muscles twitch and my left hand is weak, could it be als",
        "pins and needles in my feet at night, I have diabetes",
        "pressing headache every afternoon behind my eyes",
        "tingling and twitching and weakness",
    ]
    for text in messages:
        found = index.candidates(text)
        assert found is not None
        candidates, _ = found
        concepts = analyze(text, index.vocabulary)
        stems = {s for c in concepts for s in c.stems}
        doc_freq = index._doc_freq(stems)
        weights = [concept_weight(c, doc_freq, index._total()) for c in concepts]
        concepts, weights = keep_rarest(concepts, weights)
        for candidate in candidates:
            title, question, topics, lead = index.db.execute(
                "SELECT title, question, topics, lead FROM search WHERE rowid = ?",
                (candidate.rowid,),
            ).fetchone()
            head = set(f"{title} {question} {topics}".split())
            expected = plain_coverage(concepts, weights, head, set(lead.split()))
            assert (candidate.signals.coverage, candidate.matched) == expected
            assert candidate.signals.length == len(set(f"{title} {question}".split()))


def plain_best_other_cosine(cosines: list[float], position: int) -> float:
    return max(cosines[:position] + cosines[position + 1 :], default=0.0)


@pytest.mark.parametrize("count", [1, 2, 3, 8, 60])
def test_decision_features_read_the_best_other_cosine_as_defined(count: int) -> None:
    rng = random.Random(count)
    context = match.Context(6, 9.0, True, 40.0)
    for _ in range(50):
        # few distinct values, so the largest cosine is often held by several candidates
        cosines = [rng.choice((-0.2, 0.1, 0.4, 0.4, 0.7, 0.7)) for _ in range(count)]
        ranked = [
            match.Signals(
                coverage=0.5, bm25=0.3, word=0.4, cosine=c, fts_rank=1, dense_rank=None, length=7
            )
            for c in cosines
        ]
        scores = sorted((rng.uniform(-3, 3) for _ in range(count)), reverse=True)
        rows = match.decision_features(ranked, scores, context)
        column = match.DECISION_FEATURES.index("cosine_margin")
        for position, cosine in enumerate(cosines):
            expected = cosine - plain_best_other_cosine(cosines, position)
            assert rows[position, column] == expected
