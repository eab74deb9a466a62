"""The ``bot`` command line: archive import and build, search, evaluations, benchmarks."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.archive.formats import FORMATS, read_archive
from bot.errors import ArchiveFormatError, BotError
from bot.evaluation.live import add_command as add_live_command
from bot.evaluation.retrieval import add_commands
from bot.search import vectors
from bot.search.compose import attribution, excerpt, hit_decisions
from bot.search.embedding import encoder_for
from bot.search.index import ArchiveIndex, Hit
from bot.search.match import Floors
from bot.search.scope import in_scope
from bot.settings import Settings, load_settings

log = logging.getLogger("bot")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


#: How a progress bar reads: share, bar, count, time spent, time left, rate.
BAR_FORMAT = (
    "{desc}: {percentage:3.0f}% |{bar:20}| {n_fmt}/{total_fmt}{unit}, "
    "{elapsed} spent, {remaining} left ({rate_fmt})"
)


def _progress_bar(total: int, what: str, unit: str = " records") -> Any:
    """A progress bar on stderr with the time left (tqdm; redrawn at most once a second)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=what,
        unit=unit,
        file=sys.stderr,
        mininterval=1.0,
        smoothing=0.1,
        bar_format=BAR_FORMAT,
        ascii=not sys.stderr.isatty(),
    )


def _save_graph(index: ArchiveIndex, db: Path, previous: str | None = None) -> None:
    """Build (or update from ``previous``'s) and save the vector graph of a large archive."""
    if index.count() <= vectors.EXACT_LIMIT or not index.dense_ready():
        return
    with _progress_bar(index.count(), "vector graph") as bar:
        last = [0]

        def advance(done: int, total: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        vectors.save_dense_index(index, db, advance, previous)


def cmd_import(args: argparse.Namespace) -> int:
    """Import files into the index; a malformed file imports nothing.

    The records are written in place (one transaction); a large archive then gets the
    vector graph of its new vectors (``bot.search.vectors``), and the graph of the old ones is
    removed. Use ``bot archive build`` to replace a served index atomically.
    """
    settings = load_settings()
    db = Path(args.db) if args.db else settings.db_path
    started = time.perf_counter()
    records = read_archive(args.files, args.format)
    _progress(f"read {len(records)} records from {len(args.files)} path(s)")
    with ArchiveIndex(db, encoder=encoder_for(settings)) as index:
        previous = index.vectors_id()
        with _progress_bar(len(records), "importing") as bar:
            written = index.upsert(records, progress=bar.update)
        _save_graph(index, db, previous)
        vectors.remove_stale(db, keep=index.vectors_id())
        total = index.count()
    took = time.perf_counter() - started
    print(f"imported {written} records into {db} ({total} in total) in {took:.1f} s")
    return 0


def archive_fingerprint(paths: Sequence[Path], embedding: str = "none") -> str:
    """A fingerprint of archive files (names, sizes, modification times) and the code."""
    from bot.search import index as index_module

    parts = [f"schema={index_module.SCHEMA_VERSION}", f"embedding={embedding}"]
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            stat = file.stat() if file.exists() else None
            parts.append(f"{file}:{stat.st_size if stat else -1}:{stat.st_mtime_ns if stat else 0}")
    return "|".join(parts)


def cmd_build(args: argparse.Namespace) -> int:
    """Rebuild the index from the configured archive and swap it in atomically.

    A running action server must never see a half-built archive, nor a SQLite file with
    the vector graph of another build. So the whole new index is built beside the live
    one: the SQLite file as ``<db>.building``, then (large archives) its vector graph as
    ``<db>.<vectors_id>.ann``, named after the ``vectors_id`` the new SQLite file holds
    in its ``meta`` table (written by the upsert), itself written to a partial file and
    renamed. Only then is ``<db>.building`` renamed onto ``<db>`` (``os.replace``,
    atomic): a reader opening ``<db>`` gets either the old file, which loads the old
    graph, or the new one, which loads the new graph, never a mix. The old graphs are
    removed after the swap; a reader that has one open keeps it (a memory map outlives
    its name) and the old SQLite file it has open. With ``--if-changed`` and an index
    that is up to date, only a missing graph is built.
    """
    settings = load_settings()
    db = Path(args.db) if args.db else settings.db_path
    paths = [Path(p) for p in args.paths] or list(settings.archive_paths)
    encoder = encoder_for(settings)
    fingerprint = archive_fingerprint(paths, encoder.model_id if encoder else "none")
    if args.if_changed and db.exists():
        try:
            with ArchiveIndex(db) as index:
                row = index.db.execute(
                    "SELECT value FROM meta WHERE key = 'fingerprint'"
                ).fetchone()
        except Exception:  # an unreadable index is rebuilt below
            row = None
        if row and row[0] == fingerprint:
            with ArchiveIndex(db, encoder=encoder) as index:
                _save_graph(index, db)
            print(f"archive index {db} is up to date")
            return 0
    _progress(f"building the archive index {db} from {', '.join(map(str, paths))} ...")
    started = time.perf_counter()
    records = read_archive(paths)
    temporary = db.with_name(db.name + ".building")
    temporary.unlink(missing_ok=True)
    with ArchiveIndex(temporary, encoder=encoder) as index:
        with _progress_bar(len(records), "indexing") as bar:
            index.upsert(records, progress=bar.update)
        with index.db:
            index.db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (fingerprint,)
            )
        _save_graph(index, db)  # named after the new vectors_id and the final path
        built = index.vectors_id()
    os.replace(temporary, db)
    vectors.remove_stale(db, keep=built)
    took = time.perf_counter() - started
    print(f"built {db}: {len(records)} records in {took:.1f} s")
    return 0


def _search_rows(
    text: str, hits: list[Hit], settings: Settings, floors: Floors
) -> list[dict[str, object]]:
    scoped = in_scope(text, settings.scope)
    decisions = hit_decisions(hits, settings.max_similar, scoped, floors)
    return [
        {**_search_row(h, settings.excerpt_chars, d), "in_scope": scoped}
        for h, d in zip(hits, decisions, strict=True)
    ]


def _search_row(hit: Hit, excerpt_chars: int, decision: str) -> dict[str, object]:
    return {
        "id": hit.record.id,
        "title": hit.record.title,
        "score": hit.score,
        "probability": hit.probability,
        "cosine": hit.cosine,
        "answer": hit.answer,
        "decision": decision,
        "responder": hit.record.responder,
        "department": hit.record.department,
        "source": hit.record.source,
        "reply_date": hit.record.reply_date,
        "excerpt": excerpt(hit.record.reply, excerpt_chars),
        "matched": list(hit.matched),
    }


def _messages(path: str) -> Iterator[str]:
    """Messages of a ``--queries`` file: JSON Lines with ``"q"``, or plain lines."""
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise BotError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            if text.startswith("{"):
                try:
                    row = json.loads(text)
                except ValueError as exc:
                    raise BotError(f"{path}:{number}: invalid JSON: {exc}") from None
                if not isinstance(row, dict) or not isinstance(row.get("q"), str):
                    raise BotError(f'{path}:{number}: expected an object with a string "q"')
                yield row["q"]
            else:
                yield text


def cmd_search(args: argparse.Namespace) -> int:
    """Print ranked hits for a patient's text, or one JSON line per message of a file."""
    settings = load_settings()
    db = Path(args.db) if args.db else settings.db_path
    if (args.text is None) == (args.queries is None):
        raise BotError("give either a text or --queries FILE")
    with ArchiveIndex(db, encoder=encoder_for(settings), existing=True) as index:
        if args.queries is not None:
            messages = list(_messages(args.queries))  # a bad line is reported before any search
            for text in messages:
                hits = index.search(text, k=args.k, max_wrong=settings.max_wrong)
                rows = _search_rows(text, hits, settings, index.floors())
                print(json.dumps({"q": text, "hits": rows}, ensure_ascii=False), flush=True)
            return 0
        hits = index.search(args.text, k=args.k, max_wrong=settings.max_wrong)
        floors = index.floors()
    if args.json:
        rows = _search_rows(args.text, hits, settings, floors)
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no match")
    scoped = in_scope(args.text, settings.scope)
    if not scoped:
        print(f"(names nothing of {settings.scope}: shown only when the sentences are close)")
    decisions = hit_decisions(hits, settings.max_similar, scoped, floors)
    for rank, (hit, decision) in enumerate(zip(hits, decisions, strict=True), start=1):
        labels = {"answer": "  (answer)" if rank == 1 else "  (similar)", "offer": "  (offered)"}
        flag = labels.get(decision, "")
        print(f"{rank}. [p={hit.probability:.2f}] {hit.record.title}{flag}")
        print(f"   {attribution(hit.record)}  id={hit.record.id}")
    return 0


def cmd_eval_triage(args: argparse.Namespace) -> int:
    """Print recall and false-alarm rate of the red-flag assessment on a table."""
    from bot.evaluation.retrieval import evaluate_triage

    try:
        report = evaluate_triage(Path(args.file))
    except (OSError, ValueError) as exc:
        raise BotError(str(exc)) from exc
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bot`` command."""
    parser = argparse.ArgumentParser(prog="bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    archive = commands.add_parser("archive", help="import or build the archive index")
    archive_commands = archive.add_subparsers(dest="archive_command", required=True)
    imp = archive_commands.add_parser("import", help="add or update records in the index")
    imp.add_argument("--format", choices=FORMATS, default="auto")
    imp.add_argument("--db", help="index path (default: NEUROBOT_DB)")
    imp.add_argument("files", nargs="+", help="archive files or folders")
    imp.set_defaults(func=cmd_import)
    build = archive_commands.add_parser("build", help="rebuild the index from scratch")
    build.add_argument("--db", help="index path (default: NEUROBOT_DB)")
    build.add_argument("--if-changed", action="store_true", help="skip when up to date")
    build.add_argument("paths", nargs="*", help="archive files or folders (NEUROBOT_ARCHIVE)")
    build.set_defaults(func=cmd_build)

    search = commands.add_parser("search", help="search the archive like the bot does")
    search.add_argument("--db", help="index path (default: NEUROBOT_DB)")
    search.add_argument("--k", type=int, default=5, help="number of hits")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.add_argument(
        "--queries", help='one JSON line per message of this file (JSON Lines "q", or plain lines)'
    )
    search.add_argument("text", nargs="?", help="the patient's words")
    search.set_defaults(func=cmd_search)
    from bot.evaluation.training import add_command as add_match_command

    add_match_command(commands)

    evaluate = commands.add_parser("eval", help="evaluations")
    eval_commands = evaluate.add_subparsers(dest="eval_command", required=True)
    triage = eval_commands.add_parser("triage", help="red-flag recall and false alarms")
    triage.add_argument("file", help='JSON Lines {"text": ..., "emergency": true|false}')
    triage.set_defaults(func=cmd_eval_triage)
    add_commands(eval_commands, commands)
    add_live_command(eval_commands)
    from bot.serving.store import add_command as add_conversations_command

    add_conversations_command(commands)
    from bot.review.queue import add_command as add_review_command

    add_review_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors of the project become one clear line and exit 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, ArchiveFormatError):
            print("nothing was imported", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
