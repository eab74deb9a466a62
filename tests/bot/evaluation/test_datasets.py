"""Tests for bot.evaluation.datasets (RQE loader)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from bot.evaluation.datasets import RqePair, load_rqe_pairs, rqe_archive_and_queries
from tests.conftest import SHARED

REAL_RQE_TEST = SHARED / "data" / "rqe" / "RQE_Test_302_pairs_AMIA2016.xml"

TINY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<RQE-med-test>
<pair pid="1" type="part1" value="false">
<chq>My hands shake. Is it serious?</chq>
<faq>What is tremor?</faq>
</pair>
<pair pid="2" type="part1" value="true">
<chq>My hands shake. Is it serious?</chq>
<faq>
   What causes tremor?
</faq>
</pair>
<pair pid="3" type="part2" value="true">
<chq>my head hurts every morning  </chq>
<faq>What is tremor?</faq>
</pair>
<pair pid="4" type="part2" value="true">
<chq>my head hurts every morning</chq>
<faq>How are headaches treated?</faq>
</pair>
<pair pid="5" type="part3" value="false">
<chq>Nobody answers this one.</chq>
<faq>How are headaches treated?</faq>
</pair>
<pair pid="6" type="part3" value="TRUE">
<chq>My hands shake. Is it serious?</chq>
<faq>What causes tremor?</faq>
</pair>
</RQE-med-test>
"""


def _write(tmp_path: Path, text: str, name: str = "rqe.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_rqe_pairs_reads_every_pair_in_order(tmp_path: Path) -> None:
    pairs = load_rqe_pairs(_write(tmp_path, TINY_XML))
    assert pairs == [
        RqePair("1", "My hands shake. Is it serious?", "What is tremor?", False),
        RqePair("2", "My hands shake. Is it serious?", "What causes tremor?", True),
        RqePair("3", "my head hurts every morning", "What is tremor?", True),
        RqePair("4", "my head hurts every morning", "How are headaches treated?", True),
        RqePair("5", "Nobody answers this one.", "How are headaches treated?", False),
        RqePair("6", "My hands shake. Is it serious?", "What causes tremor?", True),
    ]


def test_archive_and_queries_from_tiny_file(tmp_path: Path) -> None:
    archive, queries = rqe_archive_and_queries(load_rqe_pairs(_write(tmp_path, TINY_XML)))

    def record(number: int, faq: str) -> dict[str, object]:
        return {
            "id": f"rqe-faq-{number}",
            "title": faq,
            "question": faq,
            "reply": "",
            "source": "NIH FAQ (RQE test set)",
            "responder": None,
            "department": None,
            "topics": [],
        }

    assert archive == [
        record(1, "What is tremor?"),
        record(2, "What causes tremor?"),
        record(3, "How are headaches treated?"),
    ]
    assert queries == [
        {"q": "My hands shake. Is it serious?", "relevant_ids": ["rqe-faq-2"], "split": "dev"},
        {
            "q": "my head hurts every morning",
            "relevant_ids": ["rqe-faq-1", "rqe-faq-3"],
            "split": "dev",
        },
    ]


def test_every_fifth_query_is_held() -> None:
    pairs = [RqePair(str(n), f"chq {n}", f"faq {n % 3}", True) for n in range(11)]
    pairs.append(RqePair("99", "chq never entailed", "faq 0", False))
    archive, queries = rqe_archive_and_queries(pairs)
    assert [r["id"] for r in archive] == ["rqe-faq-1", "rqe-faq-2", "rqe-faq-3"]
    assert [q["q"] for q in queries] == [f"chq {n}" for n in range(11)]
    assert [q["split"] for q in queries] == [
        "dev", "dev", "dev", "dev", "held",
        "dev", "dev", "dev", "dev", "held",
        "dev",
    ]  # fmt: skip
    assert [q["relevant_ids"] for q in queries] == [[f"rqe-faq-{n % 3 + 1}"] for n in range(11)]


def test_label_conflict_counts_as_entailed() -> None:
    pairs = [
        RqePair("1", "stuck swab", "How to remove a swab?", True),
        RqePair("2", "stuck swab", "How to remove a swab?", False),
    ]
    _, queries = rqe_archive_and_queries(pairs)
    assert queries == [{"q": "stuck swab", "relevant_ids": ["rqe-faq-1"], "split": "dev"}]


def test_empty_faq_is_loaded_but_left_out_of_archive(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '<RQE-med-train><pair pid="7" type="x" value="true"><chq>q</chq><faq>\n  \n</faq></pair>'
        "</RQE-med-train>",
    )
    pairs = load_rqe_pairs(path)
    assert pairs == [RqePair("7", "q", "", True)]
    assert rqe_archive_and_queries(pairs) == ([], [])


def test_empty_input_gives_empty_output() -> None:
    assert rqe_archive_and_queries([]) == ([], [])


def test_malformed_xml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "<RQE-med-test><pair pid='1'><chq>x</chq>", name="broken.xml")
    with pytest.raises(ValueError) as info:
        load_rqe_pairs(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<pair pid="1" value="maybe"><chq>a</chq><faq>b</faq></pair>', "'maybe'"),
        ('<pair value="true"><chq>a</chq><faq>b</faq></pair>', "without a pid"),
        ('<pair pid="2" value="true"><chq>a</chq></pair>', "no <faq> element"),
        ('<pair pid="3" value="false"><faq>b</faq></pair>', "no <chq> element"),
    ],
)
def test_invalid_pairs_raise_naming_the_file(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, f"<RQE-med-test>{body}</RQE-med-test>", name="bad.xml")
    with pytest.raises(ValueError) as info:
        load_rqe_pairs(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


@pytest.mark.skipif(not REAL_RQE_TEST.exists(), reason="shared RQE test file not present")
def test_real_rqe_test_file_counts() -> None:
    pairs = load_rqe_pairs(REAL_RQE_TEST)
    assert len(pairs) == 302
    assert sum(p.entailed for p in pairs) == 129
    assert len({p.pid for p in pairs}) == 302

    archive, queries = rqe_archive_and_queries(pairs)
    assert len(archive) == 161
    assert len({r["title"] for r in archive}) == 161
    assert len(queries) == 113
    assert sum(q["split"] == "held" for q in queries) == 22
    assert sum(q["split"] == "dev" for q in queries) == 91
    relevant = [cast(list[str], q["relevant_ids"]) for q in queries]
    assert sum(len(ids) == 1 for ids in relevant) == 103
    assert sum(len(ids) == 2 for ids in relevant) == 10
    assert {i for ids in relevant for i in ids} <= {r["id"] for r in archive}
    assert [r["id"] for r in archive] == [f"rqe-faq-{n}" for n in range(1, 162)]
    assert all(r["title"] == r["question"] and r["reply"] == "" for r in archive)


def test_question_shaped_archive_skips_self_pairs_and_keeps_look_alikes() -> None:
    pairs = [
        RqePair("1", "How is  MIGRAINE treated?", "how is migraine treated?", True),
        RqePair("2", "my hands shake when I write, what is it", "What causes tremor?", True),
        RqePair("3", "my hands shake when I write, what is it", "What is migraine?", False),
        RqePair("4", "numb feet at night, diabetic", "What is neuropathy?", True),
    ]
    archive, queries = rqe_archive_and_queries(
        pairs, "Team archive", skip_identical=True, held="held"
    )
    # the look-alike of pair 3 stays in the archive; the self-pair's FAQ too
    assert [(r["id"], r["title"], r["source"]) for r in archive] == [
        ("rqe-faq-1", "how is migraine treated?", "Team archive"),
        ("rqe-faq-2", "What causes tremor?", "Team archive"),
        ("rqe-faq-3", "What is migraine?", "Team archive"),
        ("rqe-faq-4", "What is neuropathy?", "Team archive"),
    ]
    assert queries == [
        {
            "q": "my hands shake when I write, what is it",
            "relevant_ids": ["rqe-faq-2"],
            "split": "held",
        },
        {"q": "numb feet at night, diabetic", "relevant_ids": ["rqe-faq-4"], "split": "held"},
    ]
    # without the option the self-pair is a query like any other, split every fifth
    _, every = rqe_archive_and_queries(pairs)
    assert every[0]["q"] == "How is  MIGRAINE treated?"
    assert {q["split"] for q in every} == {"dev"}
