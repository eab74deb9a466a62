"""The match decision: how likely an archived question asks the same as the patient's.

Search gathers candidates from two sources (FTS5 over the patient's concepts, and the
nearest sentence vectors) and measures, for each, what :class:`Signals` holds: how much
of the patient's concepts it covers, its BM25 rank, the cosine of its sentence vector to
the message, its rank in each source, and the lengths of both questions. Two logistic
regressions, fitted by ``bot match train`` on labelled pairs, then turn those signals
into decisions:

1. candidates are ordered by the search score (:func:`order_score`: half the word
   score, half the cosine), and the **ranker** scores each one on its own signals
   (plus the archive's typical question and reply lengths, so one set of weights can
   serve archives of one-line FAQ questions and of long patient-written ones);
   ordering by the ranker itself was tried and ranks worse on MedQuAD's lay queries
   (dev hit@1 .595 against .649), as well on the others;
2. the **decision** model reads the ranker's score, its margin to the next candidate
   and its gap to the best one, and gives the *probability* that the archived
   question asks the same as the patient's.

Both are a weighted sum of standardised features (``(x - mean) / scale``) passed through
the logistic function, so applying them needs only numpy; their parameters live in
``bot/search/match_model.json`` (fitted with MiniLM's cosines; also used by a search on
words alone) and ``bot/search/match_model.mpnet.json`` (fitted with MPNet's: two models'
cosines are not on one scale, so each sentence model has its own fit,
:func:`model_file`), each with its own offer floors (:class:`Floors`, written by ``bot
eval retrieval --write-floors``). Each file also holds the **cut-off table**: for each
probability cut-off, the share of shown answers that were the wrong record on the
development archives (the worst of them) and the share of queries answered. An operator
names the share of wrong answers they accept (``NEUROBOT_MAX_WRONG``);
:meth:`MatchModel.cutoff` returns the lowest probability at which the table stays
within it. The best hit is shown as the answer when its probability reaches the
cut-off; then the further hits whose probability reaches :data:`SIMILAR_PROBABILITY`
are offered as similar questions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.settings import DEFAULTS

#: The default accepted share of wrong answers (``NEUROBOT_MAX_WRONG``).
DEFAULT_MAX_WRONG = float(DEFAULTS["MAX_WRONG"])
#: The shipped parameters (written by ``bot match train``), per sentence model.
MODEL_FILE = Path(__file__).with_name("match_model.json")
MODEL_FILES = {
    "minilm": MODEL_FILE,
    "mpnet": Path(__file__).with_name("match_model.mpnet.json"),
}
#: Share of the order score that comes from the cosine (the rest is the word score).
DENSE_WEIGHT = 0.5
#: Rank given to a candidate a source did not return (one past the last it returns).
ABSENT_RANK = 60
#: Lowest probability of a further hit offered as a similar question, once the best hit
#: is shown. The probability is that the archived question asks *the same* as the
#: patient's; a related question the patient may pick from a list scores lower (next to a
#: near-certain answer, 0.02 to 0.3 on the sample archive), so the bar is lower too.
SIMILAR_PROBABILITY = 0.02
#: Least evidence a candidate needs for the model's probability to count: the record
#: covers at least this share of the patient's concepts, or its sentence vector is at
#: least :data:`MIN_COSINE` close; below both, its probability is 0 (never shown, never
#: offered as similar). The decision model reads how far the best candidate stands
#: out from the others, so on a small archive a message about something else entirely
#: ("renew my car insurance" against "economic cost of sepsis": coverage 0.17, cosine
#: 0.08) could still look certain. On the four archives of ``bot eval retrieval`` no
#: right answer falls below both floors, and the off-topic messages shown an answer on
#: the RQE test archive drop from 3 of 36 to none.
MIN_COVERAGE = 0.25
MIN_COSINE = 0.30
#: When the best hit is not shown as the answer, the bot offers the patient close
#: questions to choose from if one of the top :data:`MAX_OFFERED` hits has a probability
#: that reaches this, a score (coverage of the patient's concepts mixed with the
#: sentence cosine) that reaches :data:`OFFER_SCORE` and a cosine that reaches
#: :data:`OFFER_COSINE`; it then lists every one of those
#: top hits whose score reaches :data:`OFFER_SCORE` (:func:`bot.search.compose.reply_kind`).
#: When none does, it says there is no close match. A message outside a neurology
#: archive's scope is held to :data:`OUTSIDE_COSINE` as well. Chosen by ``bot eval
#: retrieval`` on the development archives (:func:`bot.evaluation.retrieval.fit_offer`):
#: among the settings at which, on every archive, at most 10% of the queries whose right
#: record is in the top 3 end in "no close match", the one that shows least (answers or
#: close questions) to the development off-topic messages (K-QA's questions of other
#: specialties), then reaches the right record most often.
OFFER_PROBABILITY = 0.05
#: See :data:`OFFER_PROBABILITY`. Before the scope (:mod:`bot.search.scope`) kept
#: questions of other specialties to the cosine floor, a score floor of 0.24 halved the
#: close questions they were offered; the fit with the scope keeps none, so a plausible
#: hit lists all of the top 3 (the patient's right record among them more often).
OFFER_SCORE = 0.0
#: See :data:`OFFER_PROBABILITY`: the hit that makes an offer must also be this close in
#: meaning (the cosine of its sentence vector to the message's; not applied to a search
#: on words alone). A question about another specialty shares an everyday word with
#: some archived title ("a passport appointment for my baby" and "I have epilepsy and we
#: want a baby", probability 0.62) but seldom its meaning: on the sample archive the
#: hits offered to the team's off-topic messages have cosines of 0.28 to 0.40, those
#: offered to its lay neurology questions mostly 0.44 to 0.57. Fitted with the other two
#: floors (:func:`bot.evaluation.retrieval.fit_offer`) on MiniLM's cosines, it stays 0:
#: the right record's cosine is far lower on an archive of one-line questions (MedQuAD,
#: median 0.45) than on one of patient-written questions (the sample archive, 0.70), and
#: 0.40, which keeps the sample archive's off-topic offers under 10%, tells MedQuAD's lay
#: patients "no close match" for 23% of the queries whose right record is in the top 3
#: (README, "What patients meet"). These are MiniLM's floors; each model's file holds
#: its own (:class:`Floors`).
OFFER_COSINE = 0.0
#: In a neurology archive, a message that names nothing of neurology
#: (:func:`bot.search.scope.is_neurological` is False: a sprained knee, bleeding gums,
#: a passport for a baby) is answered with confidence only when it nearly repeats an
#: archived question (:data:`OUTSIDE_ANSWER_COSINE`), and is offered only
#: archived questions whose sentence cosine to it reaches this: it shares words with some
#: archived title, seldom its meaning. A patient's own words for a neurological sign that
#: the lexicon misses still reach a record that means nearly the same. Fitted with the
#: offer floors (:func:`bot.evaluation.retrieval.fit_offer`) on the development archives
#: and K-QA's questions of other specialties.
OUTSIDE_COSINE = 0.45
#: A message outside the scope is answered with confidence only by an archived question
#: it nearly repeats: the best hit's probability reaches the cut-off and its cosine this
#: (a question of another specialty that a doctor answered through the review queue
#: and the hospital imported, asked again). Chosen on the development splits: above the
#: highest cosine of a confident answer to K-QA's questions of other specialties (0.56,
#: "is low lipase related to pancreatic cancer" -> acid lipase disease), it gives back
#: every confident right answer the scope took from the sample paraphrases (71.3% ->
#: 77.8% of the dev split) and no confident wrong one.
OUTSIDE_ANSWER_COSINE = 0.6
#: Most archived questions offered to choose from.
MAX_OFFERED = 3


@dataclass(frozen=True)
class Signals:
    """What search knows about one candidate.

    Attributes:
        coverage: Share of the patient's concept weight the record covers, in [0, 1].
        bm25: The candidate's BM25 rank relative to the best FTS5 candidate's, in
            [0, 1] (0 when FTS5 did not return it).
        word: The word score (coverage mixed with the BM25 rank), in [0, 1].
        cosine: Cosine between the message's and the record's sentence vectors (0
            without vectors).
        fts_rank: 1-based rank among FTS5's candidates, or None.
        dense_rank: 1-based rank among the nearest vectors, or None.
        length: Content words of the record's title and question.
        conflicts: Traits both questions state differently (the side of the body, a
            child or an older person, how it began: :func:`bot.search.query.trait_conflicts`).
    """

    coverage: float
    bm25: float
    word: float
    cosine: float
    fts_rank: int | None
    dense_rank: int | None
    length: int
    conflicts: int = 0


@dataclass(frozen=True)
class Context:
    """What is shared by every candidate of one message.

    Attributes:
        query_length: Content words of the patient's message.
        archive_length: Median content words of the archive's questions (title and
            question): a one-line FAQ archive is about 5, a patient-written one 40+.
        dense: Whether the search had sentence vectors.
        reply_length: Median content words of the lead of the archive's replies (0
            for an archive of questions alone).
    """

    query_length: int
    archive_length: float
    dense: bool
    reply_length: float = 0.0


RANKER_FEATURES = (
    "coverage",
    "bm25",
    "word",
    "cosine",
    "cosine_sq",
    "from_fts",
    "from_dense",
    "log_fts_rank",
    "log_dense_rank",
    "log_length",
    "log_ratio",
    "coverage_x_archive",
    "cosine_x_archive",
    "cosine_x_query",
    "coverage_x_query",
    "cosine_x_reply",
    "coverage_x_reply",
    "bm25_x_reply",
    "conflicts",
)

DECISION_FEATURES = (
    "ranker",
    "margin",
    "gap",
    "log_rank",
    "coverage",
    "cosine",
    "cosine_margin",
    "log_query",
    "log_archive",
    "dense",
    "log_reply",
    "ranker_x_reply",
    "cosine_x_reply",
    "margin_x_reply",
    "ranker_x_archive",
    "conflicts",
)


def order_score(signals: Signals, context: Context) -> float:
    """What candidates are ordered by: the word score, mixed half and half with the
    cosine when the search had sentence vectors (a negative cosine counts as 0)."""
    if not context.dense:
        return signals.word
    return (1 - DENSE_WEIGHT) * signals.word + DENSE_WEIGHT * max(0.0, signals.cosine)


def ordering(signals: Sequence[Signals], context: Context) -> list[int]:
    """Indexes of the candidates, best first by :func:`order_score` (ties: input order)."""
    scores = [order_score(s, context) for s in signals]
    return sorted(range(len(signals)), key=lambda i: (-scores[i], i))


def ranker_features(signals: Sequence[Signals], context: Context) -> Any:
    """One row of :data:`RANKER_FEATURES` per candidate (float64 matrix)."""
    log_query = math.log1p(context.query_length)
    log_archive = math.log1p(context.archive_length)
    log_reply = math.log1p(context.reply_length)
    rows = []
    for s in signals:
        log_length = math.log1p(s.length)
        rows.append(
            (
                s.coverage,
                s.bm25,
                s.word,
                s.cosine,
                s.cosine * s.cosine,
                1.0 if s.fts_rank is not None else 0.0,
                1.0 if s.dense_rank is not None else 0.0,
                math.log(s.fts_rank or ABSENT_RANK),
                math.log(s.dense_rank or ABSENT_RANK),
                log_length,
                abs(log_length - log_query),
                s.coverage * log_archive,
                s.cosine * log_archive,
                s.cosine * log_query,
                s.coverage * log_query,
                s.cosine * log_reply,
                s.coverage * log_reply,
                s.bm25 * log_reply,
                float(s.conflicts),
            )
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(RANKER_FEATURES))


def decision_features(ranked: Sequence[Signals], scores: Sequence[float], context: Context) -> Any:
    """One row of :data:`DECISION_FEATURES` per candidate, in ranked order.

    Args:
        ranked: The candidates, best first.
        scores: Their ranker scores (log-odds), in the same order.
        context: The message's context.
    """
    count = len(ranked)
    best = scores[0] if count else 0.0
    log_reply = math.log1p(context.reply_length)
    log_archive = math.log1p(context.archive_length)
    cosines = [s.cosine for s in ranked]
    # the largest cosine of the other candidates: the largest of all, except for the
    # candidate that holds it (the first one that does), whose is the second largest
    top = max(range(count), key=cosines.__getitem__, default=0)
    second = max(cosines[:top] + cosines[top + 1 :], default=0.0)
    rows = []
    for position, (s, score) in enumerate(zip(ranked, scores, strict=True)):
        following = scores[position + 1] if position + 1 < count else score - 4.0
        rows.append(
            (
                score,
                score - following,
                best - score,
                math.log(position + 1),
                s.coverage,
                s.cosine,
                s.cosine - (second if position == top else cosines[top]),
                math.log1p(context.query_length),
                log_archive,
                1.0 if context.dense else 0.0,
                log_reply,
                score * log_reply,
                s.cosine * log_reply,
                (score - following) * log_reply,
                score * log_archive,
                float(s.conflicts),
            )
        )
    return np.asarray(rows, dtype=np.float64).reshape(count, len(DECISION_FEATURES))


@dataclass(frozen=True)
class Linear:
    """A standardised linear model: ``(x - mean) / scale @ coef + intercept``."""

    features: tuple[str, ...]
    mean: Any
    scale: Any
    coef: Any
    intercept: float

    def logits(self, matrix: Any) -> Any:
        """The log-odds of each row."""
        if len(matrix) == 0:
            return np.zeros(0)
        return ((matrix - self.mean) / self.scale) @ self.coef + self.intercept

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: Sequence[str]) -> Linear:
        """Parameters read back; the feature names must be the code's."""
        features = tuple(data["features"])
        if features != tuple(expected):
            raise ValueError(f"model features {features} are not the code's {tuple(expected)}")
        return cls(
            features,
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )


@dataclass(frozen=True)
class Cutoff:
    """One row of the cut-off table.

    Attributes:
        probability: The lowest probability shown.
        wrong: Share of the answers shown that were the wrong record (worst dev archive).
        answered: Share of queries answered (pooled over the dev archives).
    """

    probability: float
    wrong: float
    answered: float


@dataclass(frozen=True)
class Decided:
    """A candidate after the model: its place, probability and decision."""

    index: int
    score: float
    probability: float
    answer: bool


@dataclass(frozen=True)
class Floors:
    """The floors of the offer, fitted per sentence model (each model's cosines have
    their own scale): see :data:`OFFER_PROBABILITY`, :data:`OFFER_SCORE`,
    :data:`OFFER_COSINE`, :data:`OUTSIDE_COSINE` and :data:`OUTSIDE_ANSWER_COSINE`, the
    defaults (MiniLM's)."""

    probability: float = OFFER_PROBABILITY
    score: float = OFFER_SCORE
    cosine: float = OFFER_COSINE
    outside_cosine: float = OUTSIDE_COSINE
    outside_answer_cosine: float = OUTSIDE_ANSWER_COSINE

    def to_dict(self) -> dict[str, float]:
        """JSON-ready (the ``floors`` of a model file)."""
        return asdict(self)


@dataclass(frozen=True)
class MatchModel:
    """The ranker, the decision model, the cut-off table and the offer's floors."""

    ranker: Linear
    decision: Linear
    table: tuple[Cutoff, ...]
    default_max_wrong: float = DEFAULT_MAX_WRONG
    floors: Floors = Floors()

    def cutoff(self, max_wrong: float | None = None) -> float:
        """The lowest probability cut-off whose share of wrong answers stays within
        ``max_wrong`` at that cut-off and every higher one (1.0 when none does)."""
        target = self.default_max_wrong if max_wrong is None else max_wrong
        chosen = 1.0
        for row in sorted(self.table, key=lambda r: -r.probability):
            if row.wrong > target + 1e-12:
                break
            chosen = row.probability
        return chosen

    def decide(
        self, signals: Sequence[Signals], context: Context, max_wrong: float | None = None
    ) -> list[Decided]:
        """Order candidates and decide which are shown.

        Args:
            signals: The candidates, in any order.
            context: The message's context.
            max_wrong: Accepted share of wrong answers (None: the model's default).

        Returns:
            The candidates best first (:func:`ordering`): ``index`` into ``signals``,
            the ranker's score (log-odds), the probability and whether it is shown.
        """
        if not signals:
            return []
        scores = self.ranker.logits(ranker_features(signals, context))
        order = ordering(signals, context)
        ranked = [signals[i] for i in order]
        ranked_scores = [float(scores[i]) for i in order]
        logits = self.decision.logits(decision_features(ranked, ranked_scores, context))
        probabilities = 1.0 / (1.0 + np.exp(-logits))
        evident = np.array([s.coverage >= MIN_COVERAGE or s.cosine >= MIN_COSINE for s in ranked])
        probabilities = np.where(evident, probabilities, 0.0)
        top_shown = bool(probabilities[0] >= self.cutoff(max_wrong))
        bar = min(self.cutoff(max_wrong), SIMILAR_PROBABILITY)
        return [
            Decided(i, score, float(p), top_shown and bool(p >= bar))
            for i, score, p in zip(order, ranked_scores, probabilities, strict=True)
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (what ``bot/search/match_model.json`` holds)."""
        return {
            "ranker": self.ranker.to_dict(),
            "decision": self.decision.to_dict(),
            "cutoffs": [
                {"probability": c.probability, "wrong": c.wrong, "answered": c.answered}
                for c in self.table
            ],
            "default_max_wrong": self.default_max_wrong,
            "floors": self.floors.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchModel:
        """Parameters read back (see :meth:`to_dict`)."""
        return cls(
            Linear.from_dict(data["ranker"], RANKER_FEATURES),
            Linear.from_dict(data["decision"], DECISION_FEATURES),
            tuple(
                Cutoff(float(c["probability"]), float(c["wrong"]), float(c["answered"]))
                for c in data["cutoffs"]
            ),
            float(data.get("default_max_wrong", DEFAULT_MAX_WRONG)),
            Floors(**{k: float(v) for k, v in data.get("floors", {}).items()}),
        )


def read_model(path: Path) -> MatchModel:
    """Read a model file written by ``bot match train``.

    Raises:
        ValueError: The file is not a model of this code's features (names the file).
    """
    try:
        return MatchModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a match model: {exc}") from exc


def model_file(encoder: str | None = None) -> Path:
    """The shipped parameters for a sentence model (``NEUROBOT_ENCODER``'s name; None: a
    search on words alone, which uses MiniLM's fit).

    Raises:
        ValueError: No model is fitted for that sentence model.
    """
    try:
        return MODEL_FILES[encoder or "minilm"]
    except KeyError:
        raise ValueError(f"no match model for the sentence model {encoder!r}") from None


def shipped_model(encoder: str | None = None) -> MatchModel:
    """The shipped model for a sentence model (read once each; see :func:`model_file`)."""
    return _shipped(model_file(encoder))


@lru_cache(maxsize=len(MODEL_FILES))
def _shipped(path: Path) -> MatchModel:
    return read_model(path)
