"""The action server's index handle: reopened when `make index` renames a new file in."""

from __future__ import annotations

import os
from pathlib import Path

from actions.actions import Services
from bot.search.index import ArchiveIndex
from bot.settings import load_settings
from tests.conftest import HEADACHE, TINGLE, TINY_VOCABULARY, TWITCH


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def build(path: Path, *records: object) -> None:
    index = ArchiveIndex(path, TINY_VOCABULARY)
    index.upsert(records)  # type: ignore[arg-type]
    index.close()


def ids(services: Services) -> list[str]:
    return sorted(r[0] for r in services.index.db.execute("SELECT id FROM records"))


def test_a_replaced_index_file_is_reopened_after_at_most_a_second(tmp_path: Path) -> None:
    live = tmp_path / "archive.sqlite3"
    build(live, TWITCH)
    clock = Clock()
    services = Services(
        load_settings({"NEUROBOT_DB": str(live), "NEUROBOT_DENSE": "off"}), clock=clock
    )
    first = services.index
    assert ids(services) == ["t1"]

    # what `make index` does: build beside the live file, then rename over it
    fresh = tmp_path / "archive.sqlite3.new"
    build(fresh, TINGLE, HEADACHE)
    os.replace(fresh, live)

    clock.now += 0.5  # looked at no more than once a second
    assert services.index is first
    clock.now += 0.6
    assert services.index is not first
    assert ids(services) == ["t2", "t3"]
    # the old handle still answers a search that was under way
    assert first.db.execute("SELECT count(*) FROM records").fetchone() == (1,)

    second = services.index
    clock.now += 5
    assert services.index is second  # unchanged file: the same handle


def test_a_missing_file_keeps_the_open_index(tmp_path: Path) -> None:
    live = tmp_path / "archive.sqlite3"
    build(live, TWITCH)
    clock = Clock()
    services = Services(
        load_settings({"NEUROBOT_DB": str(live), "NEUROBOT_DENSE": "off"}), clock=clock
    )
    first = services.index
    live.rename(tmp_path / "moved.sqlite3")
    clock.now += 2
    assert services.index is first


def test_an_injected_index_is_never_reopened(tmp_path: Path) -> None:
    index = ArchiveIndex(":memory:", TINY_VOCABULARY)
    clock = Clock()
    services = Services(load_settings({"NEUROBOT_DB": str(tmp_path / "x")}), index, clock=clock)
    clock.now += 10
    assert services.index is index
