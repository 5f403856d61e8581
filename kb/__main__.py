"""Command line of the KB: `python -m kb build|check|userdict|export|import|report-import|create-user|ensure-admin`,
and `purge|delete-session` (residents' conversations: retention and deletion, kb/retention.py)."""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import os
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot import settings
from kb.build import build
from kb.db import create_schema, session_factory
from kb.edits import StaffError
from kb.exchange import export_yaml, import_yaml
from kb.lexicon import TABLES_PATH, rewrite_tables
from kb.models import ROLES
from kb.reports import accept_updates, describe, propose
from kb.retention import RetentionError, delete_session, purge
from kb.search import entry_terms
from kb.shape import Pair
from kb.source import SourceError, load_checked
from kb.training import SITUATIONS_PATH, situation_examples
from kb.users import UserError, create_user, ensure_admin, has_admin


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
    """Write what Rasa's tokenizer reads at training: jieba's user dictionary of the KB's service terms, and
    the rewrite tables (the lexicon and the pinyin of the KB's names), both kept in the model."""
    entries, _ = load_checked(settings.ENTRIES_DIR, settings.REPORT_PATH)
    terms = sorted({t.strip() for e in entries for t in entry_terms(e) if len(t.strip()) > 1 and " " not in t.strip()})
    settings.USERDICT_PATH.parent.mkdir(parents=True, exist_ok=True)
    settings.USERDICT_PATH.write_text("".join(f"{t} 2000 nz\n" for t in terms), encoding="utf-8")
    TABLES_PATH.parent.mkdir(parents=True, exist_ok=True)
    tables = rewrite_tables(entries)
    TABLES_PATH.write_text(json.dumps(tables, ensure_ascii=False, sort_keys=True, indent=1), encoding="utf-8")
    SITUATIONS_PATH.parent.mkdir(parents=True, exist_ok=True)
    SITUATIONS_PATH.write_text(situation_examples(entries), encoding="utf-8")
    print(f"wrote {len(terms)} terms to {settings.USERDICT_PATH}, {len(tables['names'])} pinyin names to {TABLES_PATH}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write every entry as YAML (for review in git), to a file or to stdout."""
    create_schema()
    with session_factory()() as session:
        text = export_yaml(session)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Load entries from YAML; --dry-run only shows the differences. All or nothing."""
    text = Path(args.file).read_text(encoding="utf-8")
    create_schema()
    with session_factory()() as session:
        report = import_yaml(session, text, args.user, dry_run=args.dry_run, force=args.force)
        if report.applied:
            session.commit()
    print(report)
    return 0 if report.ok else 1


def cmd_report_import(args: argparse.Namespace) -> int:
    """A new year's work report: list what it would change (nothing is changed); --accept updates accepts the
    proposed updates of existing facts (one revision each, under --user)."""
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        print(f"cannot read {args.file} as UTF-8 text: {err}", file=sys.stderr)
        return 2
    title = Pair(zh=args.title, en=args.title_en) if args.title and args.title_en else None
    if bool(args.title) != bool(args.title_en):
        print("give both --title and --title-en, or neither (then made from the first report's)", file=sys.stderr)
        return 2
    create_schema()
    with session_factory()() as session:
        plan = propose(session, text, args.year, title, args.published)
        if plan.made_up:
            print(
                f"WARNING: {args.file} says it is made up or a test fixture: do not accept it for residents",
                file=sys.stderr,
            )
        print(describe(plan))
        if args.accept != "updates":
            print("\nnothing changed (accept in the admin, or --accept updates)")
            return 0
        accepted, left = accept_updates(session, plan, args.user)
        session.commit()
    print(f"\naccepted {len(accepted)} updates as {args.user}; {len(left)} left for staff (English to write):")
    for proposal in left:
        print(f"  {proposal.entry_id}.{proposal.fact_key}: {proposal.quote}")
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        password = os.environ.get(args.password_env, "")
        if not password:
            raise UserError(f"environment variable {args.password_env} is empty")
        return password
    password = getpass.getpass("password: ")
    if password != getpass.getpass("again: "):
        raise UserError("the passwords differ")
    return password


def cmd_create_user(args: argparse.Namespace) -> int:
    """Add a staff account for the admin (password from --password-env VAR, or asked for)."""
    create_schema()
    password = _password(args)
    with session_factory()() as session, session.begin():
        user = create_user(session, args.username, password, args.role)
    print(f"created {args.role} {user.username}")
    return 0


def cmd_ensure_admin(_args: argparse.Namespace) -> int:
    """Create the first admin from ZHITANG_ADMIN_USER / ZHITANG_ADMIN_PASSWORD if no admin exists yet."""
    create_schema()
    if not settings.ADMIN_USER or not settings.ADMIN_PASSWORD:
        with session_factory()() as session:
            missing = not has_admin(session)
        if missing:
            print(
                "no admin account yet: set ZHITANG_ADMIN_USER and ZHITANG_ADMIN_PASSWORD, "
                "or run `python -m kb create-user NAME --role admin`",
                file=sys.stderr,
            )
        return 0
    with session_factory()() as session, session.begin():
        user = ensure_admin(session, settings.ADMIN_USER, settings.ADMIN_PASSWORD)
    print(f"created admin {user.username}" if user else "an admin exists already")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete residents' conversations, feedback and unanswered questions older than ZHITANG_RETENTION_DAYS."""
    create_schema()
    try:
        print(purge(args.days))
    except SQLAlchemyError as err:  # the tracker database down: the next run catches up
        print(f"purge incomplete, a database did not answer: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_delete_session(args: argparse.Namespace) -> int:
    """Delete one resident's conversation (tracker events, feedback, its unanswered questions), with an audit line."""
    create_schema()
    result = delete_session(args.session, args.user)
    print(f"deleted conversation {args.session}: {result.counts()}")
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
    p = sub.add_parser("export", help=cmd_export.__doc__)
    p.add_argument("--out", help="file to write (default: stdout)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("import", help=cmd_import.__doc__)
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="show the differences, change nothing")
    p.add_argument("--user", default=f"cli:{getpass.getuser()}", help="who the revisions name")
    p.add_argument("--force", action="store_true", help="ignore meta.revision (a file from another database)")
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("report-import", help=cmd_report_import.__doc__)
    p.add_argument("file", help="the report as UTF-8 text")
    p.add_argument("--year", type=int, required=True, help="the year the report is about")
    p.add_argument("--title", help="its Chinese title (default: the first report's, with this year)")
    p.add_argument("--title-en", help="its English title")
    p.add_argument("--published", type=datetime.date.fromisoformat, help="its publication date, YYYY-MM-DD")
    p.add_argument("--accept", choices=["updates"], help="accept the proposed updates of existing facts")
    p.add_argument("--user", default=f"cli:{getpass.getuser()}", help="who the revisions name")
    p.set_defaults(func=cmd_report_import)
    p = sub.add_parser("create-user", help=cmd_create_user.__doc__)
    p.add_argument("username")
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    p.set_defaults(func=cmd_create_user)
    sub.add_parser("ensure-admin", help=cmd_ensure_admin.__doc__).set_defaults(func=cmd_ensure_admin)
    p = sub.add_parser("purge", help=cmd_purge.__doc__)
    p.add_argument("--days", type=int, help="the retention in days (default: ZHITANG_RETENTION_DAYS, 180)")
    p.set_defaults(func=cmd_purge)
    p = sub.add_parser("delete-session", help=cmd_delete_session.__doc__)
    p.add_argument("session", help="the conversation's session id")
    p.add_argument("--user", default=f"cli:{getpass.getuser()}", help="who the audit line names")
    p.set_defaults(func=cmd_delete_session)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (SourceError, StaffError, UserError, RetentionError) as err:
        print(err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
