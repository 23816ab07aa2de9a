"""`whisper-desktop --server-only`: the headless server, and the option parsing it shares.

Configuration comes, strongest first, from command-line flags, the process environment, a
``.env`` file in the working directory, and the defaults. The environment names are those of the
reference system, so its users can switch over unchanged: ``WHISPER_MODEL_PATH`` (a model spec;
``turbo.pt`` means ``turbo``), ``WHISPER_LAN`` (language) and ``WHISPER_LOG_LEVEL``.

This module never imports Qt (nor anything from ``whisper_desktop``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from server_core.config import DecodeOptions, EngineConfig

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
ENV_MODEL = "WHISPER_MODEL_PATH"
ENV_LANGUAGE = "WHISPER_LAN"
ENV_LOG_LEVEL = "WHISPER_LOG_LEVEL"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


# --------------------------------------------------------------------------- shared option parsing


def read_dotenv(path: str | Path) -> dict[str, str]:
    """Parse a simple ``.env`` file: ``KEY=VALUE`` lines, ``#`` comments, optional ``export``
    and quotes. A missing file gives an empty dict."""
    p = Path(path)
    if not p.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in p.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def layered_env(
    environ: Optional[Mapping[str, str]] = None, cwd: str | Path | None = None
) -> dict[str, str]:
    """The process environment over the ``.env`` file of ``cwd`` (the environment wins)."""
    env = read_dotenv(Path(cwd or os.getcwd()) / ".env")
    env.update(os.environ if environ is None else environ)
    return env


def official_model_names() -> list[str]:
    import whisper

    return list(whisper.available_models())


def normalize_model_spec(spec: str) -> str:
    """A model spec as the reference system writes it, in our terms.

    ``turbo.pt`` (or ``/any/dir/turbo.pt``) that is not an existing file means the official
    model ``turbo``; everything else is passed on unchanged for ``models.py`` to resolve.
    """
    spec = spec.strip()
    if not spec:
        raise ValueError("empty model spec")
    path = Path(spec).expanduser()
    if path.exists():
        return str(path)
    if path.suffix == ".pt" and path.stem in official_model_names():
        return path.stem
    return spec


def normalize_language(value: str) -> str:
    """A Whisper language code from a code, an English name, or ``auto``; ValueError if none."""
    from whisper.tokenizer import LANGUAGES, TO_LANGUAGE_CODE

    v = value.strip().lower()
    if v == "auto" or v in LANGUAGES:
        return v
    if v in TO_LANGUAGE_CODE:
        return TO_LANGUAGE_CODE[v]
    raise ValueError(
        f"unknown language {value!r}; use a Whisper language code such as 'de' or 'en'"
    )


@dataclass
class ModelChoice:
    model: str
    language: str


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        help=f"model: official name (tiny.en, base, turbo, ...), .pt file or CTranslate2 folder "
        f"(env {ENV_MODEL}; default {EngineConfig().model})",
    )
    parser.add_argument(
        "--language",
        "--lan",
        dest="language",
        help=f"language code or 'auto' (env {ENV_LANGUAGE}; default {DecodeOptions().language})",
    )


def resolve_model_choice(args: argparse.Namespace, env: Mapping[str, str]) -> ModelChoice:
    """Flags over env vars over defaults; raises ValueError with a clear message."""
    model = args.model or env.get(ENV_MODEL) or EngineConfig().model
    language = args.language or env.get(ENV_LANGUAGE) or DecodeOptions().language
    return ModelChoice(model=normalize_model_spec(model), language=normalize_language(language))


def resolve_log_level(flag: Optional[str], env: Mapping[str, str]) -> str:
    level = (flag or env.get(ENV_LOG_LEVEL) or "WARNING").strip().upper()
    if level == "WARN":
        level = "WARNING"
    if level not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LOG_LEVELS)}")
    return level


# --------------------------------------------------------------------------- the headless server


@dataclass
class ServeOptions:
    host: str
    port: int
    model: str
    language: str
    token: Optional[str]
    max_clients: int
    idle_timeout: float
    device: str
    log_level: str


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="whisper-desktop --server-only",
        description="Run the streaming Whisper WebSocket server without the desktop app.",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    add_model_options(p)
    p.add_argument(
        "--token",
        help="token that non-loopback clients must present; generated when binding off loopback",
    )
    p.add_argument("--max-clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=60.0,
        help="close a client that sends nothing for this many seconds (default 60)",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    p.add_argument("--log-level", help=f"log level (env {ENV_LOG_LEVEL}; default WARNING)")
    return p


def parse_serve_options(
    argv: list[str],
    environ: Optional[Mapping[str, str]] = None,
    cwd: str | Path | None = None,
) -> ServeOptions:
    """Parse argv with env and ``.env``; argparse errors exit(2), bad values raise ValueError."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env = layered_env(environ, cwd)
    if not 0 <= args.port <= 65535:
        raise ValueError(f"port {args.port} is out of range")
    if args.max_clients < 1:
        raise ValueError("--max-clients must be at least 1")
    if args.idle_timeout <= 0:
        raise ValueError("--idle-timeout must be positive")
    choice = resolve_model_choice(args, env)
    return ServeOptions(
        host=args.host,
        port=args.port,
        model=choice.model,
        language=choice.language,
        token=args.token or None,
        max_clients=args.max_clients,
        idle_timeout=args.idle_timeout,
        device=args.device,
        log_level=resolve_log_level(args.log_level, env),
    )


def _say(line: str) -> None:
    print(line, flush=True)


def _error(line: str) -> None:
    print(f"whisper-desktop: error: {line}", file=sys.stderr, flush=True)


class _Shutdown:
    """Turns SIGINT/SIGTERM into an event; a second signal exits at once."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        if self.event.is_set():
            _error("second signal: exiting without flushing")
            os._exit(130)
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def wait(self) -> None:
        while not self.event.wait(0.5):
            pass


def serve_main(argv: list[str]) -> int:
    """Entry point of ``whisper-desktop --server-only``; returns the exit status."""
    try:
        opts = parse_serve_options(argv)
    except ValueError as exc:
        _error(str(exc))
        return 2
    logging.basicConfig(
        level=opts.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    from server_core.engine import Engine
    from server_core.models import ModelError
    from server_core.server import LocalServer, ServerError, ServerOptions

    config = EngineConfig(
        model=opts.model, device=opts.device, decode=DecodeOptions(language=opts.language)
    )
    engine = Engine(config, progress=_say)
    server = LocalServer(
        engine,
        ServerOptions(
            host=opts.host,
            port=opts.port,
            token=opts.token,
            max_clients=opts.max_clients,
            idle_timeout=opts.idle_timeout,
        ),
    )
    shutdown = _Shutdown()
    shutdown.install()
    try:
        server.bind()  # fail fast (port in use) before the slow model load
    except ServerError as exc:
        _error(str(exc))
        return 1
    try:
        _say(f"Loading model {opts.model} (language {opts.language}) ...")
        engine.start()
    except ModelError as exc:
        server.close()
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        server.close()
        return 130
    try:
        server.start()
    except ServerError as exc:
        engine.stop(flush=False)
        _error(str(exc))
        return 1
    bound = "" if server.ws_url.startswith(f"ws://{opts.host}:") else f"; bound to {opts.host}"
    _say(f"Listening on {server.ws_url} (web page {server.url}{bound})")
    if server.generated_token:
        lan = f"; LAN page {server.lan_url}" if server.lan_url else ""
        _say(f"Token for non-local clients (shown once): {server.token}{lan}")
    shutdown.wait()
    _say(f"{shutdown.signal_name}: flushing sessions ...")
    server.set_draining()
    engine.stop(flush=True)
    server.wait_idle(timeout=10.0)
    server.stop()
    _say("Stopped.")
    return 0
