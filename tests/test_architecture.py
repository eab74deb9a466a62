"""The import rules of bot/, actions/ and addons/, checked with import-linter.

Every module of the shared core and every package (``bot.search``, ``actions``, ...) has
one row in ``LAYERS``, a package's row covering every module below it; ``MAY_IMPORT`` says
which layers a layer may import. The contracts import-linter checks are built from these
two tables, so a new module in a package needs no row, and a new package needs one.

Counted: every ``import`` statement wherever it stands, at module level, inside a
function (the lazy imports) and under ``if TYPE_CHECKING:`` alike (grimp's graph with
``exclude_type_checking_imports`` off): a circle that only a lazy import closes is still
a circle a reader has to untangle.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

from tests.conftest import ROOT

ROOTS = ("bot", "actions", "addons")

#: module (or package, which then stands for everything below it) -> layer.
LAYERS: dict[str, str] = {
    # the shared core: configuration, errors, plumbing every layer may use
    "bot": "core",
    "bot.errors": "core",
    "bot.settings": "core",
    "bot.secrets": "core",
    "bot.http": "core",
    "bot.jsonl": "core",
    "bot.text": "core",
    "bot.stats": "core",
    "bot.database": "core",
    "bot.names": "core",
    "bot.domain": "core",
    # the product: what a patient's message meets (one row per package, which covers its
    # modules): the door, the archive, its search and the answers, the red-flag check
    "bot.guard": "product",
    "bot.archive": "product",
    "bot.search": "product",
    "bot.safety": "product",
    # the review queue of stored conversations, with the redaction of what it shows
    "bot.review": "review",
    # serving: starting the servers, the cluster, the conversations' store
    "bot.serving": "serving",
    # evaluation: measuring the product and the servers
    "bot.evaluation": "evaluation",
    # the command line puts everything together
    "bot.cli": "cli",
    # Rasa's side
    "actions": "actions",
    "addons": "addons",
}

#: layer -> the layers it may import (besides itself).
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "product": {"core"},
    "serving": {"core", "product"},
    "review": {"core", "product"},
    "evaluation": {"core", "product", "serving"},
    "cli": {"core", "product", "serving", "review", "evaluation"},
    "actions": {"core", "product", "addons"},
    "addons": {"core", "product", "review"},
}

#: bot/ is plain Python: usable from a REPL, tested without Rasa.
BOT_FORBIDS = ("rasa", "rasa_sdk")
#: rows that stand for their package's ``__init__`` only: a new module of bot/'s core needs a row.
OWN_ROW_ONLY = {"bot"}


def layer_of(module: str) -> str | None:
    """The layer of a module: its own row, else the row of the nearest package above it."""
    name = module
    while name:
        if name in LAYERS and (name == module or name not in OWN_ROW_ONLY):
            return LAYERS[name]
        name = name.rpartition(".")[0]
    return None


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*ROOTS, include_external_packages=True, cache_dir=None)


def internal(graph: grimp.ImportGraph) -> list[str]:
    return sorted(m for m in graph.modules if m.split(".")[0] in ROOTS)


def contracts(modules: list[str]) -> Iterator[dict[str, str | list[str]]]:
    """import-linter contracts for the tables: one forbidden contract per layer, one acyclic."""
    by_layer: dict[str, list[str]] = {}
    for module in modules:
        layer = layer_of(module)
        if layer is not None:  # a module without one fails test_every_module_has_a_layer
            by_layer.setdefault(layer, []).append(module)
    for layer, sources in sorted(by_layer.items()):
        allowed = MAY_IMPORT[layer] | {layer}
        forbidden = [m for m in modules if layer_of(m) not in allowed]
        if sources[0].split(".")[0] == "bot":
            forbidden += BOT_FORBIDS
        if forbidden:
            yield {
                "name": f"{layer} imports only {', '.join(sorted(allowed))}",
                "type": "forbidden",
                "source_modules": sources,
                "forbidden_modules": forbidden,
                "as_packages": "false",
                "allow_indirect_imports": "true",  # each layer's own contract covers the rest
            }
    yield {"name": "no import circles", "type": "acyclic_siblings", "ancestors": list(ROOTS)}


def config(modules: list[str]) -> str:
    """The contracts as import-linter's INI configuration (what ``.importlinter`` holds)."""
    sections = {"importlinter": {"root_packages": list(ROOTS), "include_external_packages": "true"}}
    for number, contract in enumerate(contracts(modules)):
        sections[f"importlinter:contract:{number}"] = dict(contract)
    lines = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        for key, value in options.items():
            text = "".join(f"\n    {v}" for v in value) if isinstance(value, list) else value
            lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def test_every_module_has_a_layer(graph: grimp.ImportGraph) -> None:
    modules = internal(graph)
    assert [m for m in modules if layer_of(m) is None] == []
    assert [row for row in LAYERS if row not in modules] == []  # no row for a module gone
    assert set(LAYERS.values()) == set(MAY_IMPORT)


def test_import_rules_hold(graph: grimp.ImportGraph, tmp_path: Path) -> None:
    path = tmp_path / ".importlinter"
    path.write_text(config(internal(graph)))
    # import-linter's own command, in a process of its own: its report is plain text there
    # (in this one, a Rasa import earlier in the session may have wrapped stdout)
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint), "--config", str(path), "--no-cache", "--no-logo"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def circles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Module-level circles (a package's ``__init__`` with its own modules included)."""
    found = []
    for importer in internal(graph):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back and imported.split(".")[0] in ROOTS:
                found.append((importer, *back))
    return found


def test_no_module_circles(graph: grimp.ImportGraph) -> None:
    assert circles(graph) == []
