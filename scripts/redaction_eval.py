"""How well ``bot.review.redact`` hides personal details, and what it hides that it should not.

On the phrase table (``tests/data/redaction_phrases.jsonl``: a text, its kind, and the
substrings that must not survive) it prints, per kind, the phrases, the misses (a secret
substring survived) and the miss rate, and how many negatives (kind ``none``) came back
changed. On K-QA's questions it prints how many were changed at all and a sample of the
changed spans with their placeholder, for a person to judge over-redaction.

Usage::

    .venv/bin/python scripts/redaction_eval.py [--phrases FILE] [--kqa FILE] [--sample N]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from bot.review.redact import PLACEHOLDERS, find, redact

ROOT = Path(__file__).resolve().parents[1]
PHRASES = ROOT / "tests" / "data" / "redaction_phrases.jsonl"


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def phrase_table(path: Path) -> None:
    """Print misses per kind and the negatives that changed."""
    phrases: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    changed: list[tuple[str, str]] = []
    for row in _rows(path):
        kind, text = row["kind"], row["text"]
        phrases[kind] += 1
        redacted = redact(text)
        if kind == "none":
            if redacted != text:
                changed.append((text, redacted))
        elif any(secret in redacted for secret in row["secret"]):
            missed[kind] += 1
            print(f"  missed ({kind}): {text!r} -> {redacted!r}")
    print(f"{'kind':<10}{'phrases':>8}{'missed':>8}{'miss rate':>11}")
    for kind in sorted(k for k in phrases if k != "none"):
        print(f"{kind:<10}{phrases[kind]:>8}{missed[kind]:>8}{missed[kind] / phrases[kind]:>11.1%}")
    print(f"negatives: {phrases['none']}, over-redacted: {len(changed)}")
    for text, redacted in changed:
        print(f"  over-redacted: {text!r} -> {redacted!r}")


def kqa(path: Path, sample: int) -> None:
    """Print how many K-QA questions redaction changed, and a sample of the spans."""
    questions = [str(row.get("Question") or "") for row in _rows(path)]
    spans = [(q, s) for q in questions for s in find(q)]
    changed = len({q for q, _ in spans})
    print(f"K-QA: {len(questions)} questions, {changed} changed, {len(spans)} spans")
    for kind, count in sorted(Counter(s.kind for _, s in spans).items()):
        print(f"  {PLACEHOLDERS[kind]}: {count}")
    for question, span in spans[:sample]:
        context = question[max(0, span.start - 30) : span.end + 30].replace("\n", " ")
        print(f"  {PLACEHOLDERS[span.kind]} <- {question[span.start : span.end]!r} in …{context}…")


def main() -> None:
    """Run both measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phrases", type=Path, default=PHRASES)
    parser.add_argument("--kqa", type=Path, help="K-QA's questions_w_answers.jsonl")
    parser.add_argument("--sample", type=int, default=30, help="changed K-QA spans to list")
    args = parser.parse_args()
    phrase_table(args.phrases)
    if args.kqa is None:
        print("K-QA: skipped (give --kqa FILE, K-QA's questions_w_answers.jsonl)")
    elif args.kqa.is_file():
        kqa(args.kqa, args.sample)
    else:
        print(f"K-QA: {args.kqa} not found, skipped")


if __name__ == "__main__":
    main()
