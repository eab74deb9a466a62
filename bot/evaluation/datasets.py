"""Loaders for public medical question datasets used in evaluation.

This module has no Rasa dependency. It reads the RQE (Recognizing Question
Entailment, Ben Abacha & Demner-Fushman, AMIA 2016) XML files and turns the
test pairs into a small searchable archive plus labelled queries.

The RQE files look like::

    <RQE-med-test>
      <pair pid="1" type="part1" value="false">
        <chq>consumer health question</chq>
        <faq>NIH frequently asked question</faq>
      </pair>
      ...
    </RQE-med-test>
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RQE_SOURCE = "NIH FAQ (RQE test set)"
"""Source label shown for archive records built from RQE FAQs."""

_HELD_EVERY = 5


@dataclass(frozen=True)
class RqePair:
    """One labelled question pair from an RQE file.

    Attributes:
        pid: The pair id (the ``pid`` attribute).
        chq: The consumer health question, stripped of surrounding whitespace.
        faq: The frequently asked question, stripped of surrounding whitespace.
        entailed: True when the FAQ's answer answers the CHQ (``value="true"``).
    """

    pid: str
    chq: str
    faq: str
    entailed: bool


def _child_text(pair: ET.Element, tag: str, path: Path, pid: str) -> str:
    """Returns the stripped text of a required child element.

    Args:
        pair: The ``<pair>`` element.
        tag: The child tag to read (``chq`` or ``faq``).
        path: The file being read, for error messages.
        pid: The pair id, for error messages.

    Returns:
        The child's text without surrounding whitespace; empty if the element
        is empty (the RQE train file has one such FAQ, pair 5860).

    Raises:
        ValueError: If the child element is missing.
    """
    child = pair.find(tag)
    if child is None:
        raise ValueError(f"{path}: pair {pid!r} has no <{tag}> element")
    return "".join(child.itertext()).strip()


def load_rqe_pairs(path: Path) -> list[RqePair]:
    """Reads every ``<pair>`` of an RQE XML file, in file order.

    Args:
        path: Path to an RQE XML file (test or train).

    Returns:
        The pairs in the order they appear in the file.

    Raises:
        ValueError: If the file is not well-formed XML, or a pair lacks a
            ``pid`` or a ``chq`` or ``faq`` element, or has a ``value`` other
            than ``true``/``false``. The message names the file.
        OSError: If the file cannot be read.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ValueError(f"{path}: malformed RQE XML: {err}") from err

    pairs: list[RqePair] = []
    for element in root.iter("pair"):
        pid = (element.get("pid") or "").strip()
        if not pid:
            raise ValueError(f"{path}: <pair> without a pid attribute")
        value = (element.get("value") or "").strip().lower()
        if value not in ("true", "false"):
            raise ValueError(
                f"{path}: pair {pid!r} has value {element.get('value')!r}, "
                "expected 'true' or 'false'"
            )
        pairs.append(
            RqePair(
                pid=pid,
                chq=_child_text(element, "chq", path, pid),
                faq=_child_text(element, "faq", path, pid),
                entailed=value == "true",
            )
        )
    return pairs


def rqe_archive_and_queries(
    pairs: Sequence[RqePair],
    source: str = RQE_SOURCE,
    *,
    skip_identical: bool = False,
    held: str | None = None,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Builds an FAQ archive and labelled queries from RQE pairs.

    The archive holds one record per distinct FAQ text, numbered
    ``rqe-faq-1``, ``rqe-faq-2``, ... in order of first appearance. Each
    record has the keys ``id``, ``title`` (the FAQ), ``question`` (the FAQ),
    ``reply`` (empty: RQE has no answers), ``source``, ``responder`` (None),
    ``department`` (None) and ``topics`` (empty list).

    The queries hold one entry per distinct CHQ that is entailed by at least
    one FAQ, in order of the CHQ's first appearance in ``pairs``:
    ``{"q": chq, "relevant_ids": [...], "split": ...}``. ``relevant_ids``
    lists the entailed FAQs' ids in order of first appearance. Every fifth
    query (index 4, 9, 14, ...) has split ``"held"``, the others ``"dev"``.
    A CHQ/FAQ pair labelled both ways counts as entailed. Pairs whose CHQ or
    FAQ text is empty are ignored. FAQs of pairs labelled not entailed stay in
    the archive: they are the look-alikes a query must not be matched to.

    Args:
        pairs: Pairs as returned by :func:`load_rqe_pairs`.
        source: The ``source`` of every record.
        skip_identical: Leave out queries whose text is one of their entailed FAQs
            (ignoring case and spaces): the RQE train file pairs 1,444 questions
            with themselves, which says nothing about matching. Splits are counted
            over the queries kept.
        held: Give every query this split instead of the every-fifth rule (the
            RQE test file is held as a whole).

    Returns:
        A tuple ``(archive, queries)``.
    """
    usable = [pair for pair in pairs if pair.chq and pair.faq]
    faq_ids: dict[str, str] = {}
    archive: list[dict[str, object]] = []
    for pair in usable:
        if pair.faq in faq_ids:
            continue
        record_id = f"rqe-faq-{len(faq_ids) + 1}"
        faq_ids[pair.faq] = record_id
        archive.append(
            {
                "id": record_id,
                "title": pair.faq,
                "question": pair.faq,
                "reply": "",
                "source": source,
                "responder": None,
                "department": None,
                "topics": [],
            }
        )

    entailed_ids: dict[str, list[str]] = {}
    for pair in usable:
        ids = entailed_ids.setdefault(pair.chq, [])
        if pair.entailed and faq_ids[pair.faq] not in ids:
            ids.append(faq_ids[pair.faq])

    texts = {record_id: _plain(faq) for faq, record_id in faq_ids.items()}
    answerable = [
        (chq, ids)
        for chq, ids in entailed_ids.items()
        if ids and not (skip_identical and any(texts[i] == _plain(chq) for i in ids))
    ]
    queries: list[dict[str, object]] = [
        {
            "q": chq,
            "relevant_ids": ids,
            "split": held or ("held" if index % _HELD_EVERY == _HELD_EVERY - 1 else "dev"),
        }
        for index, (chq, ids) in enumerate(answerable)
    ]
    return archive, queries


def _plain(text: str) -> str:
    return " ".join(text.casefold().split())
