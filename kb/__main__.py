"""Command line of the KB: `python -m kb build|check|userdict`."""

from __future__ import annotations

import argparse
import sys

from bot import settings
from kb.build import build
from kb.db import create_schema, session_factory
from kb.search import entry_terms
from kb.source import SourceError, load_checked


def cmd_check(_args: argparse.Namespace) -> int:
    """Check the YAML source against the report."""
    entries, _ = load_checked(settings.ENTRIES_DIR, settings.REPORT_PATH)
    print(f"KB source OK: {len(entries)} entries, {sum(len(e['facts']) for e in entries)} facts")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Check the source and load it into the database (staff edits are kept)."""
    entries, report = load_checked(settings.ENTRIES_DIR, settings.REPORT_PATH)
    create_schema()
    Session = session_factory()
    with Session() as session, session.begin():
        result = build(session, entries, report, user=args.user)
    print(result)
    return 0


def cmd_userdict(args: argparse.Namespace) -> int:
    """Write jieba's user dictionary of the KB's service terms (for the Rasa tokenizer)."""
    entries, _ = load_checked(settings.ENTRIES_DIR, settings.REPORT_PATH)
    terms = sorted({t.strip() for e in entries for t in entry_terms(e) if len(t.strip()) > 1 and " " not in t.strip()})
    settings.USERDICT_PATH.parent.mkdir(parents=True, exist_ok=True)
    settings.USERDICT_PATH.write_text("".join(f"{t} 2000 nz\n" for t in terms), encoding="utf-8")
    print(f"wrote {len(terms)} terms to {settings.USERDICT_PATH}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command."""
    parser = argparse.ArgumentParser(prog="python -m kb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help=cmd_check.__doc__).set_defaults(func=cmd_check)
    p = sub.add_parser("build", help=cmd_build.__doc__)
    p.add_argument("--user", default="report-build")
    p.set_defaults(func=cmd_build)
    sub.add_parser("userdict", help=cmd_userdict.__doc__).set_defaults(func=cmd_userdict)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SourceError as err:
        print(err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
