"""The SQLite index: upsert, open, search ranking and safety against odd text."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from bot.errors import IndexUnavailableError
from bot.search.index import ArchiveIndex
from bot.search.vocabulary import Vocabulary
from tests.conftest import HEADACHE, TINGLE, TINY_ARCHIVE, TWITCH


def ids(hits: list) -> list[str]:
    return [h.record.id for h in hits]


def test_search_ranks_the_matching_question_first(index: ArchiveIndex) -> None:
    hits = index.search("Recently I have muscle twitching all over, my left hand feels weaker")
    assert ids(hits) == ["t1"]
    assert hits[0].matched == ("muscl", "twitch", "left", "hand", "weaker")
    assert hits[0].score == 1.0


def test_lay_words_reach_clinical_words_and_back(index: ArchiveIndex) -> None:
    # "fasciculation" appears only in t1's reply lead; "paresthesia" nowhere in t2's question
    assert ids(index.search("fasciculation")) == ["t1"]
    assert ids(index.search("paresthesia in my feet")) == ["t2"]
    assert ids(index.search("pins and needles")) == ["t2"]


def test_expansion_scores_below_the_patients_own_word(index: ArchiveIndex) -> None:
    own = index.search("tingle feet")
    expanded = index.search("paresthesia feet")
    assert ids(own) == ids(expanded) == ["t2"]
    assert expanded[0].score < own[0].score


def test_unrelated_text_scores_low_or_finds_nothing(index: ArchiveIndex) -> None:
    assert index.search("what is the weather in paris tomorrow") == []
    hits = index.search("my knee hurts after football, and my headache")
    assert ids(hits) == ["t3"]
    assert all(h.score < 0.5 for h in hits)


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "NEAR(a b)",
        "* OR AND NOT",
        "twitch*",
        "title:headache",
        "(((",
        "^",
        "",
        "   ",
        "\x00",
        "😀 twitching 😀",
        "a" * 5000,
        "-headache",
        'headache"; DROP TABLE records;--',
    ],
)
def test_no_text_makes_search_raise(index: ArchiveIndex, text: str) -> None:
    hits = index.search(text)
    assert isinstance(hits, list)
    assert index.count() == 3


def test_reimport_updates_in_place(index: ArchiveIndex) -> None:
    changed = dataclasses.replace(TWITCH, title="Twitching (updated)", reply="New reply")
    assert index.upsert([changed]) == 1
    assert index.count() == 3
    assert index.get("t1") == changed
    assert ids(index.search("updated")) == ["t1"]


def test_open_refuses_missing_empty_and_foreign_files(
    tmp_path: Path, vocabulary: Vocabulary
) -> None:
    with pytest.raises(IndexUnavailableError, match="does not exist"):
        ArchiveIndex(tmp_path / "none.sqlite3", vocabulary, existing=True)
    ArchiveIndex(tmp_path / "empty.sqlite3", vocabulary).close()
    with pytest.raises(IndexUnavailableError, match="holds no records"):
        ArchiveIndex(tmp_path / "empty.sqlite3", vocabulary, existing=True)
    sqlite3.connect(tmp_path / "other.sqlite3").execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(IndexUnavailableError, match="not an archive index"):
        ArchiveIndex(tmp_path / "other.sqlite3", vocabulary, existing=True)
    (tmp_path / "junk.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(IndexUnavailableError, match="unreadable"):
        ArchiveIndex(tmp_path / "junk.sqlite3", vocabulary, existing=True)


def test_baseline_search_is_plain_bm25(vocabulary: Vocabulary) -> None:
    archive = ArchiveIndex(":memory:", vocabulary)
    archive.upsert(TINY_ARCHIVE, baseline=True)
    assert ids(archive.baseline_search("headache afternoon")) == [HEADACHE.id]
    # no vocabulary: "fasciculation" finds only the reply that uses the word
    assert ids(archive.baseline_search("fasciculation")) == [TWITCH.id]
    assert ids(archive.baseline_search("paresthesia")) == [TINGLE.id]


def test_document_frequencies_follow_updates(index: ArchiveIndex) -> None:
    index.upsert([dataclasses.replace(TINGLE, title="Burning soles", question="Burning soles.")])
    kept = index.db.execute("SELECT term, doc FROM terms WHERE doc > 0 ORDER BY term")
    counted = index.db.execute("SELECT term, doc FROM search_vocab ORDER BY term")
    assert kept.fetchall() == counted.fetchall()


def test_every_upsert_gives_the_vectors_a_new_id(index: ArchiveIndex) -> None:
    first = index.vectors_id()
    assert first is not None
    index.upsert([TWITCH])
    second = index.vectors_id()
    assert second is not None
    assert second != first
    assert index.vectors_id() == second  # reading it writes nothing
