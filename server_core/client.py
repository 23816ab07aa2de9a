"""`whisper-desktop-client`: stream a WAV file, the microphone or the system audio to a server.

    whisper-desktop-client --server ws://127.0.0.1:9000 --file talk.wav
    whisper-desktop-client --server 192.168.1.5:9000 --token T --both

Text is printed as it is committed, one line per utterance, color-coded per client on a
terminal and plain when piped (``--json``: every server message as one JSON line). The client
reconnects with backoff when the server goes away; with ``--file`` it sends ``{"type":"end"}``
at the end of the file, prints every remaining word and exits 0 after the server's ``done``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Optional, TextIO
from urllib.parse import urlencode, urlsplit, urlunsplit

import numpy as np

from server_core.audio import FrameFormat, encode_frame
from server_core.config import SAMPLE_RATE

log = logging.getLogger(__name__)

PROG = "whisper-desktop-client"
WS_PATH = "/ws/transcription"
FATAL_CLOSE_CODES = {1002, 1003, 1007, 1008, 1009, 1010}  # retrying would not help
MAX_BACKOFF = 10.0
LIVE_BACKLOG_SECONDS = 30.0


def _warn(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- server address


def ws_url(
    server: str,
    client_id: str,
    fmt: FrameFormat = FrameFormat.NPY,
    token: Optional[str] = None,
    language: Optional[str] = None,
) -> str:
    """The endpoint URL from ``ws://h:p``, ``http://h:p/``, ``h:p`` or a full endpoint URL."""
    if "://" not in server:
        server = "ws://" + server
    parts = urlsplit(server)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"unsupported server URL {server!r}; use ws://HOST:PORT")
    if not parts.hostname:
        raise ValueError(f"no host in server URL {server!r}")
    path = parts.path if parts.path not in ("", "/") else WS_PATH
    query = dict(item.split("=", 1) for item in parts.query.split("&") if "=" in item)
    query["client_id"] = client_id
    if fmt is not FrameFormat.NPY:
        query["format"] = fmt.value
    if token:
        query["token"] = token
    if language:
        query["language"] = language
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


# --------------------------------------------------------------------------- output


_PALETTE = (36, 33, 32, 35, 34, 91, 92, 96, 93, 95)
_FIXED = {"user": 36, "system": 33}


def client_color(client_id: str) -> int:
    if client_id in _FIXED:
        return _FIXED[client_id]
    digest = hashlib.sha1(client_id.encode()).digest()
    return _PALETTE[digest[0] % len(_PALETTE)]


class Printer:
    """Prints committed text: one line per utterance, a ``[client]`` prefix when several
    clients share the terminal, ANSI colors per client when ``color``."""

    def __init__(
        self, out: TextIO, *, json_mode: bool = False, color: bool = False, prefix: bool = False
    ) -> None:
        self.out, self.json_mode, self.color, self.prefix = out, json_mode, color, prefix
        self._open: Optional[str] = None  # client whose line is unfinished

    def _paint(self, client_id: str, text: str) -> str:
        return f"\x1b[{client_color(client_id)}m{text}\x1b[0m" if self.color else text

    def message(self, msg: dict) -> None:
        if self.json_mode:
            self.out.write(json.dumps(msg, ensure_ascii=False) + "\n")
            self.out.flush()
            return
        if msg.get("type") != "transcript":
            return
        cid, text = str(msg.get("client_id", "")), str(msg.get("text", ""))
        if self._open != cid:
            self.end_line()
            text = text.lstrip()
            if self.prefix:
                self.out.write(self._paint(cid, f"[{cid}] "))
        if text:
            self.out.write(self._paint(cid, text))
            self._open = cid
        if msg.get("final"):
            self.end_line()
        self.out.flush()

    def end_line(self) -> None:
        if self._open is not None and not self.json_mode:
            self.out.write("\n")
            self.out.flush()
        self._open = None


# --------------------------------------------------------------------------- audio sources


class AudioSource:
    """Frames of float32 audio at 16 kHz; ``finite`` sources end (and then the client ends)."""

    finite = False
    label = "audio"

    async def frames(self) -> AsyncIterator[np.ndarray]:
        raise NotImplementedError
        yield  # pragma: no cover

    def stop(self) -> None:
        """End the source soon: what was captured is still delivered, then frames() ends."""

    def close(self) -> None:
        pass


class FileSource(AudioSource):
    """A WAV file streamed at ``speed`` times real time; resumes where it was after a
    reconnect."""

    finite = True

    def __init__(self, path: str, speed: float = 1.0, frame_ms: int = 100) -> None:
        from server_core.wavfile import read_wav

        self.audio = read_wav(path)
        self.label = path
        self.speed = speed
        self.frame = max(1, int(SAMPLE_RATE * frame_ms / 1000))
        self.position = 0  # samples handed out so far
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    async def frames(self) -> AsyncIterator[np.ndarray]:
        t0 = time.monotonic()
        start = self.position
        while self.position < self.audio.shape[0] and not self.stopped:
            due = t0 + (self.position - start) / SAMPLE_RATE / self.speed
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            chunk = self.audio[self.position : self.position + self.frame]
            self.position += chunk.shape[0]
            yield chunk


class LiveSource(AudioSource):
    """Audio captured by a thread; buffered (bounded) while the server is unreachable."""

    def __init__(self, label: str, block: int = 1600) -> None:
        self.label = label
        self.block = block
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._queue: deque[np.ndarray] = deque()
        self._queued = 0
        self._event: Optional[asyncio.Event] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.dropped = 0.0
        self.failed = False  # the capture could not start or broke

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()
        self._thread = threading.Thread(target=self._capture, name=self.label, daemon=True)
        self._thread.start()

    def _capture(self) -> None:
        raise NotImplementedError

    def deliver(self, chunk: np.ndarray) -> None:
        """Called from the capture thread."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._put, chunk)

    def _put(self, chunk: np.ndarray) -> None:
        if self._stop.is_set():
            return
        self._queue.append(np.asarray(chunk, dtype=np.float32).reshape(-1))
        self._queued += chunk.size
        limit = int(LIVE_BACKLOG_SECONDS * SAMPLE_RATE)
        while self._queued > limit and len(self._queue) > 1:
            old = self._queue.popleft()
            self._queued -= old.size
            self.dropped += old.size / SAMPLE_RATE
            if self.dropped == old.size / SAMPLE_RATE or int(self.dropped) % 10 == 0:
                _warn(f"{self.label}: server unreachable, dropped {self.dropped:.1f} s of audio")
        assert self._event is not None
        self._event.set()

    async def frames(self) -> AsyncIterator[np.ndarray]:
        assert self._event is not None
        while True:
            if self._queue:
                chunk = self._queue.popleft()
                self._queued -= chunk.size
                yield chunk
            elif self._stop.is_set():
                return
            else:
                self._event.clear()
                await self._event.wait()

    def stop(self) -> None:
        self._stop.set()
        if self._loop is not None and self._event is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._event.set)

    def fail(self) -> None:
        """Called by the capture thread when it cannot go on."""
        self.failed = True
        self.stop()

    def close(self) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(2.0)


class MicSource(LiveSource):
    """The default input device through sounddevice (PortAudio), asking for 16 kHz mono."""

    def __init__(self, device: Optional[str] = None) -> None:
        super().__init__("microphone")
        self.device = device

    def _capture(self) -> None:
        try:
            import sounddevice as sd
        except (ImportError, OSError) as e:
            _warn(
                f"microphone unavailable: {e} (needs sounddevice and PortAudio: "
                "pip install 'whisper-desktop[desktop]', apt install libportaudio2)"
            )
            self.fail()
            return

        def callback(indata, _frames, _time, status) -> None:
            if status:
                log.debug("microphone: %s", status)
            self.deliver(indata[:, 0].copy())

        try:
            with sd.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="float32",
                blocksize=self.block,
                device=self.device,
                callback=callback,
            ):
                while not self._stop.wait(0.1):
                    pass
        except Exception as e:
            _warn(f"microphone capture failed: {e}")
            self.fail()


class LoopbackSource(LiveSource):
    """What the default speaker plays (its monitor), through soundcard (PulseAudio)."""

    def __init__(self) -> None:
        super().__init__("system audio")

    def _capture(self) -> None:
        try:
            import soundcard as sc  # needs a running sound server at import

            speaker = sc.default_speaker()
            monitor = sc.get_microphone(speaker.name, include_loopback=True)
        except Exception as e:
            _warn(
                f"system audio unavailable: {e} (needs soundcard and a running PulseAudio or "
                "PipeWire server: pip install 'whisper-desktop[desktop]')"
            )
            self.fail()
            return
        try:
            with monitor.recorder(samplerate=SAMPLE_RATE, channels=1, blocksize=self.block) as rec:
                while not self._stop.is_set():
                    data = rec.record(numframes=self.block)
                    self.deliver(np.asarray(data, dtype=np.float32).mean(axis=1))
        except Exception as e:
            _warn(f"system audio capture failed: {e}")
            self.fail()


# --------------------------------------------------------------------------- one stream


@dataclass
class StreamOptions:
    server: str
    client_id: str
    format: FrameFormat = FrameFormat.NPY
    token: Optional[str] = None
    language: Optional[str] = None
    end_timeout: float = 120.0  # seconds to wait for "done" after "end"
    max_attempts: Optional[int] = None  # connection attempts in a row; None = forever


class Fatal(Exception):
    """The server refused us for a reason that retrying will not fix."""


class Stream:
    """One client id, one connection at a time, one audio source; reconnects with backoff."""

    def __init__(
        self, opts: StreamOptions, source: AudioSource, printer: Printer, stop: asyncio.Event
    ) -> None:
        self.opts, self.source, self.printer, self.stop = opts, source, printer, stop
        self.url = ws_url(opts.server, opts.client_id, opts.format, opts.token, opts.language)

    async def run(self) -> int:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

        backoff, failures = 0.5, 0
        while True:
            try:
                async with connect(self.url, open_timeout=10, max_size=4 * 1024 * 1024) as ws:
                    failures = 0
                    if await self._session(ws):
                        return 1 if getattr(self.source, "failed", False) else 0
                    why = "the server closed the connection"
            except Fatal as e:
                _warn(f"{self.opts.client_id}: {e}")
                return 1
            except ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else 1006
                reason = e.rcvd.reason if e.rcvd else "connection lost"
                if code in FATAL_CLOSE_CODES:
                    _warn(f"{self.opts.client_id}: closed by the server ({code}): {reason}")
                    return 1
                why = f"connection closed ({code} {reason})".strip()
            except InvalidURI as e:
                _warn(str(e))
                return 2
            except (OSError, InvalidHandshake, asyncio.TimeoutError) as e:
                why = f"cannot connect: {e or type(e).__name__}"
            self.printer.end_line()
            failures += 1
            if getattr(self.source, "failed", False):
                return 1
            if self.stop.is_set():  # stopped by the user: do not reconnect
                return 0
            if self.opts.max_attempts is not None and failures >= self.opts.max_attempts:
                _warn(f"{self.opts.client_id}: {why}; giving up")
                return 1
            _warn(f"{self.opts.client_id}: {why}; reconnecting in {backoff:.1f} s")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _session(self, ws) -> bool:
        """True once the server said ``done`` (we are finished)."""
        first = json.loads(await ws.recv())
        self.printer.message(first)
        if first.get("type") == "error":
            await self._drain_refusal(ws, first)
        sender = asyncio.create_task(self._send(ws))
        try:
            async for raw in ws:
                if isinstance(raw, bytes):
                    continue
                msg = json.loads(raw)
                self.printer.message(msg)
                kind = msg.get("type")
                if kind in ("error", "notice") and not self.printer.json_mode:
                    self.printer.end_line()
                    _warn(f"{self.opts.client_id}: {kind} {msg.get('code')}: {msg.get('message')}")
                elif kind == "done":
                    self.printer.end_line()
                    return True
            return False
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    async def _drain_refusal(self, ws, error: dict) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as e:
            if e.rcvd and e.rcvd.code in FATAL_CLOSE_CODES:
                raise Fatal(f"refused: {error.get('message')}") from None
            raise
        raise Fatal(f"refused: {error.get('message')}")

    async def _send(self, ws) -> None:
        async for chunk in self.source.frames():  # ends at the end of a file, or on stop()
            await ws.send(encode_frame(chunk, self.opts.format))
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.sleep(self.opts.end_timeout)
        _warn(f"{self.opts.client_id}: no 'done' within {self.opts.end_timeout:g} s")
        await ws.close()


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--server",
        default="ws://127.0.0.1:9000",
        help="server address: ws://HOST:PORT (default ws://127.0.0.1:9000)",
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


def _sources(args: argparse.Namespace) -> list[tuple[str, AudioSource]]:
    if args.file:
        return [(args.client_id or "file", FileSource(args.file, args.speed, args.frame_ms))]
    if args.mic:
        return [(args.client_id or "user", MicSource())]
    if args.loopback:
        return [(args.client_id or "system", LoopbackSource())]
    return [("user", MicSource()), ("system", LoopbackSource())]


async def _run(args: argparse.Namespace, sources: list[tuple[str, AudioSource]]) -> int:
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
        _warn("stopping: flushing (Ctrl+C again to quit at once)")
        stop.set()
        for _, source in sources:
            source.stop()  # no more audio; what was captured is still sent, then "end"

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)

    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    printer = Printer(sys.stdout, json_mode=args.json, color=color, prefix=len(sources) > 1)
    streams = []
    for client_id, source in sources:
        if isinstance(source, LiveSource):
            source.start(loop)
        opts = StreamOptions(
            server=args.server,
            client_id=client_id,
            format=FrameFormat(args.format),
            token=args.token,
            language=args.language,
            max_attempts=args.retries,
            end_timeout=120.0 if source.finite else 30.0,
        )
        streams.append(Stream(opts, source, printer, stop))
    try:
        codes = await asyncio.gather(*(s.run() for s in streams))
    except asyncio.CancelledError:
        return 130
    finally:
        printer.end_line()
        for _, source in sources:
            source.close()
    return max(codes)


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    if args.speed <= 0:
        _warn("--speed must be positive")
        return 2
    if not 10 <= args.frame_ms <= 10_000:
        _warn("--frame-ms must be between 10 and 10000")
        return 2
    try:
        ws_url(args.server, "x")
        sources = _sources(args)
    except ValueError as e:  # bad URL, unreadable WAV (AudioFileError is not one: see below)
        _warn(str(e))
        return 2
    except Exception as e:
        from server_core.wavfile import AudioFileError

        if isinstance(e, AudioFileError):
            _warn(str(e))
            return 2
        raise
    try:
        return asyncio.run(_run(args, sources))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
