"""`whisper-desktop history ...`: list and export the transcript history. Never imports Qt."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from whisper_desktop.history.exporters import ExportFormat, export
from whisper_desktop.history.store import HistoryStore
from whisper_desktop.paths import history_db_path, resolve_data_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="whisper-desktop history", description="List or export the transcript history."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    exp = sub.add_parser("export", help="write utterances as TXT, SRT or VTT")
    exp.add_argument("--format", choices=[f.value for f in ExportFormat], default="txt")
    exp.add_argument("--client", help="only this client id (user, system, or a remote id)")
    exp.add_argument("--session", type=int, action="append", help="only this session id")
    exp.add_argument("--search", help="utterances with these words (the last may be partial)")
    exp.add_argument("--output", "-o", help="write here instead of standard output")
    exp.add_argument("--data-dir", help="the app's data folder (default: the user data dir)")

    ls = sub.add_parser("sessions", help="list the recorded sessions")
    ls.add_argument("--client", help="only this client id")
    ls.add_argument("--data-dir", help="the app's data folder (default: the user data dir)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    db = history_db_path(data_dir)
    if not db.exists():
        print(f"whisper-desktop: no history yet in {data_dir}", file=sys.stderr)
        return 1
    with HistoryStore(db) as store:
        if args.command == "sessions":
            for s in store.sessions(client_id=args.client):
                when = dt.datetime.fromtimestamp(s.started_at).strftime("%Y-%m-%d %H:%M:%S")
                print(f"{s.id}\t{when}\t{s.client_id}\t{s.utterances} utterances\t{s.model}")
            return 0
        utterances = store.utterances(
            session_ids=args.session, client_id=args.client, search=args.search
        )
    text = export(utterances, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
