"""`whisper-desktop-client`: stream a WAV file, the microphone or the system audio to a server.

    whisper-desktop-client --server ws://127.0.0.1:9000 --file talk.wav
    whisper-desktop-client --server 192.168.1.5:9000 --token T --both
    whisper-desktop-client --server wss://192.168.1.5:9000 --token T --fingerprint AB:CD:.. --mic

Text is printed as it is committed, one line per utterance, color-coded per client on a
terminal and plain when piped (``--json``: every server message as one JSON line). The client
reconnects with backoff when the server goes away; with ``--file`` it sends ``{"type":"end"}``
at the end of the file, prints every remaining word and exits 0 after the server's ``done``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import ssl
import sys
from typing import Optional

from server_core.audio.files import AudioFileError
from server_core.audio.sources import LoopbackSource, MicSource
from server_core.audio.wire import FrameFormat
from server_core.client.feeds import PROG, Feed, FileFeed, LiveFeed, both_feeds, warn
from server_core.client.printer import Printer
from server_core.client.stream import Stream, StreamOptions, ws_url
from server_core.client.tls import ClientTls, connect_kwargs, parse_fingerprint


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--server",
        default="ws://127.0.0.1:9000",
        help="server address: ws://HOST:PORT, or wss://HOST:PORT for a server off loopback "
        "(default ws://127.0.0.1:9000)",
    )
    trust = p.add_mutually_exclusive_group()
    trust.add_argument(
        "--cafile",
        metavar="PEM",
        help="for wss://: trust this certificate (e.g. the server's self-signed one)",
    )
    trust.add_argument(
        "--fingerprint",
        metavar="SHA256",
        help="for wss://: accept only the certificate with this SHA-256 fingerprint (the one "
        "the server prints); checked before anything is sent",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", metavar="WAV", help="stream a WAV file at real time")
    src.add_argument("--mic", action="store_true", help="stream the default microphone")
    src.add_argument(
        "--loopback", action="store_true", help="stream the system audio (speaker monitor)"
    )
    src.add_argument(
        "--both",
        action="store_true",
        help="microphone as client 'user' and system audio as client 'system'",
    )
    p.add_argument(
        "--no-echo-cancellation",
        action="store_true",
        help="with --both: send the microphone as it is (by default the system audio is used "
        "to remove what the speakers play from it)",
    )
    p.add_argument("--client-id", help="client id (default: the source's name)")
    p.add_argument("--format", choices=[f.value for f in FrameFormat], default="npy")
    p.add_argument("--token", help="token for a server off this machine")
    p.add_argument("--language", help="language code for this client (default: the server's)")
    p.add_argument("--speed", type=float, default=1.0, help="file playback speed (default 1)")
    p.add_argument("--frame-ms", type=int, default=100, help="audio per frame (default 100 ms)")
    p.add_argument("--json", action="store_true", help="print every server message as JSON")
    p.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="color per client (default: when stdout is a terminal)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=None,
        help="give up after this many failed connection attempts in a row (default: never)",
    )
    return p


def _feeds(args: argparse.Namespace) -> list[tuple[str, Feed]]:
    if args.file:
        return [(args.client_id or "file", FileFeed(args.file, args.speed, args.frame_ms))]
    if args.mic:
        return [(args.client_id or "user", LiveFeed("microphone", MicSource()))]
    if args.loopback:
        return [(args.client_id or "system", LiveFeed("system audio", LoopbackSource()))]
    return both_feeds(echo_cancellation=not args.no_echo_cancellation)


async def _run(args: argparse.Namespace, feeds: list[tuple[str, Feed]], tls: ClientTls) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    interrupted = 0

    def on_signal() -> None:
        nonlocal interrupted
        interrupted += 1
        if interrupted > 1:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            return
        warn("stopping: flushing (Ctrl+C again to quit at once)")
        stop.set()
        for _, feed in feeds:
            feed.stop()  # no more audio; what was captured is still sent, then "end"

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)

    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    printer = Printer(sys.stdout, json_mode=args.json, color=color, prefix=len(feeds) > 1)
    streams = []
    for client_id, feed in feeds:
        if isinstance(feed, LiveFeed):
            feed.start(loop)
        opts = StreamOptions(
            server=args.server,
            client_id=client_id,
            format=FrameFormat(args.format),
            token=args.token,
            language=args.language,
            max_attempts=args.retries,
            tls=tls,
            end_timeout=120.0 if feed.finite else 30.0,
        )
        streams.append(Stream(opts, feed, printer, stop))
    try:
        codes = await asyncio.gather(*(s.run() for s in streams))
    except asyncio.CancelledError:
        return 130
    finally:
        printer.end_line()
        for _, feed in feeds:
            feed.close()
    return max(codes)


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    if args.speed <= 0:
        warn("--speed must be positive")
        return 2
    if not 10 <= args.frame_ms <= 10_000:
        warn("--frame-ms must be between 10 and 10000")
        return 2
    try:
        pin = parse_fingerprint(args.fingerprint) if args.fingerprint else None
        tls = ClientTls(cafile=args.cafile, fingerprint=pin)
        connect_kwargs(ws_url(args.server, "x"), tls)  # a pin for ws://, an unreadable cafile
        feeds = _feeds(args)
    except (ValueError, OSError, ssl.SSLError, AudioFileError) as e:  # bad URL, pin, file
        warn(str(e))
        return 2
    try:
        return asyncio.run(_run(args, feeds, tls))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
