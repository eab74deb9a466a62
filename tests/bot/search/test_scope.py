"""Whether a message names anything of neurology: the scope of a neurology archive."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.search.scope import ANY, NEUROLOGY, in_scope, is_neurological, load_lexicon


@pytest.mark.parametrize(
    "text",
    [
        "my left hand has been numb since Tuesday",  # a listed word, stemmed
        "Numbness and TINGLING in both feet",  # any case
        "he was diagnosed with a neuroblastoma",  # a prefix
        "I get pins and needles at night",  # a phrase
        "I passed out in the queue at the bank",
        "my head is pounding every afternoon",  # a place with what it does there
        "her eyelid droops by the evening",
        "cramps in my calves wake me up",
        "my hand fell asleep and stayed that way",  # the vocabulary: paresthesia
        "I keep having absence seizures",
    ],
)
def test_messages_that_name_neurology(text: str) -> None:
    assert is_neurological(text)
    assert in_scope(text, NEUROLOGY)


@pytest.mark.parametrize(
    "text",
    [
        "I twisted my ankle and it is swollen",
        "my gums bleed when I brush my teeth",
        "burning when I pee and I need to go all the time",
        "stomach cramps since we came back from our trip",  # cramps, trip: not here
        "my head itches and there are little white eggs",  # a place without a sign
        "how do I renew my passport",
        "is a vegan diet healthy for my kids",
        "",
    ],
)
def test_messages_of_other_specialties(text: str) -> None:
    assert not is_neurological(text)
    assert not in_scope(text, NEUROLOGY)
    # a general archive covers every health question
    assert in_scope(text, ANY)


def test_a_malformed_lexicon_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "neuro_words.yml"
    path.write_text("phrases: [pins and needles]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"neuro_words\.yml.*'words:'"):
        load_lexicon(path)
    with pytest.raises(ConfigError, match="cannot read the neurology lexicon"):
        load_lexicon(tmp_path / "missing.yml")


def test_a_lexicon_of_ones_own(tmp_path: Path) -> None:
    path = tmp_path / "words.yml"
    path.write_text(
        "words: [glowing]\nphrases: [blue fingers]\n"
        "pairs: [{places: toe, symptoms: sparkles}]\nprefixes: [xeno]\n",
        encoding="utf-8",
    )
    lexicon = load_lexicon(path)
    assert [
        is_neurological(text, lexicon)
        for text in ("my glowing toe", "blue fingers", "the toe sparkles", "xenotingles", "numb")
    ] == [True, True, True, True, False]
