"""The ``bot`` command line: archive import and build, search, evaluations, benchmarks."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot.archive import FORMATS, read_archive
from bot.compose import attribution, excerpt
from bot.embedding import encoder_for
from bot.errors import ArchiveFormatError, BotError
from bot.evaluation import add_commands
from bot.index import ArchiveIndex
from bot.live import add_command as add_live_command
from bot.settings import load_settings

log = logging.getLogger("bot")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_import(args: argparse.Namespace) -> int:
    """Import files into the index; a malformed file imports nothing."""
    settings = load_settings()
    db = Path(args.db) if args.db else settings.db_path
    started = time.perf_counter()
    records = read_archive(args.files, args.format)
    _progress(f"read {len(records)} records from {len(args.files)} path(s)")
    with ArchiveIndex(db, encoder=encoder_for(settings)) as index:
        written = index.upsert(records)
        total = index.count()
    took = time.perf_counter() - started
    print(f"imported {written} records into {db} ({total} in total) in {took:.1f} s")
    return 0


def archive_fingerprint(paths: Sequence[Path], embedding: str = "none") -> str:
    """A fingerprint of archive files (names, sizes, modification times) and the code."""
    from bot import index as index_module

    parts = [f"schema={index_module.SCHEMA_VERSION}", f"embedding={embedding}"]
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            stat = file.stat() if file.exists() else None
            parts.append(f"{file}:{stat.st_size if stat else -1}:{stat.st_mtime_ns if stat else 0}")
    return "|".join(parts)


def cmd_build(args: argparse.Namespace) -> int:
    """Rebuild the index from the configured archive, atomically."""
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
            print(f"archive index {db} is up to date")
            return 0
    _progress(f"building the archive index {db} from {', '.join(map(str, paths))} ...")
    started = time.perf_counter()
    records = read_archive(paths)
    temporary = db.with_name(db.name + ".building")
    temporary.unlink(missing_ok=True)
    with ArchiveIndex(temporary, encoder=encoder) as index:
        index.upsert(records)
        with index.db:
            index.db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (fingerprint,)
            )
    os.replace(temporary, db)
    took = time.perf_counter() - started
    print(f"built {db}: {len(records)} records in {took:.1f} s")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Print ranked hits for a patient's text."""
    settings = load_settings()
    db = Path(args.db) if args.db else settings.db_path
    with ArchiveIndex.open(db, encoder=encoder_for(settings)) as index:
        hits = index.search(args.text, k=args.k)
    if args.json:
        rows = [
            {
                "id": h.record.id,
                "title": h.record.title,
                "score": h.score,
                "responder": h.record.responder,
                "department": h.record.department,
                "source": h.record.source,
                "reply_date": h.record.reply_date,
                "excerpt": excerpt(h.record.reply, settings.excerpt_chars),
                "matched": list(h.matched),
                "above_threshold": h.score >= settings.match_threshold,
            }
            for h in hits
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no match")
    for rank, hit in enumerate(hits, start=1):
        flag = "" if hit.score >= settings.match_threshold else "  (below threshold)"
        print(f"{rank}. [{hit.score:.3f}] {hit.record.title}{flag}")
        print(f"   {attribution(hit.record)}  id={hit.record.id}")
    return 0


def cmd_eval_triage(args: argparse.Namespace) -> int:
    """Print recall and false-alarm rate of the red-flag assessment on a table."""
    from bot.evaluation import evaluate_triage

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
    search.add_argument("text", help="the patient's words")
    search.set_defaults(func=cmd_search)

    evaluate = commands.add_parser("eval", help="evaluations")
    eval_commands = evaluate.add_subparsers(dest="eval_command", required=True)
    triage = eval_commands.add_parser("triage", help="red-flag recall and false alarms")
    triage.add_argument("file", help='JSON Lines {"text": ..., "emergency": true|false}')
    triage.set_defaults(func=cmd_eval_triage)
    add_commands(eval_commands, commands)
    add_live_command(eval_commands)
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
