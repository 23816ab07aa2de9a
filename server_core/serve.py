"""`whisper-desktop --server-only`: the headless server. Never imports Qt."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from server_core.cli_options import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ENV_LOG_LEVEL,
    ENV_TOKEN,
    add_decode_option,
    add_model_options,
    add_task_options,
    decode_overrides,
    layered_env,
    resolve_log_level,
    resolve_model_choice,
    task_overrides,
)
from server_core.config import (
    PRECISIONS,
    DecodeOptions,
    EngineConfig,
    default_model,
    resolve_precision,
)
from server_core.engine import Engine
from server_core.engine.device import resolve_device
from server_core.errors import ComputeDeviceError, ModelError
from server_core.net.server import LocalServer, ServerError, ServerOptions
from server_core.net.tls import TlsOptions

log = logging.getLogger(__name__)


@dataclass
class ServeOptions:
    host: str
    port: int
    model: Optional[str]  # None: the device's default (turbo on CUDA, base on the CPU)
    language: str
    token: Optional[str]
    max_clients: int
    idle_timeout: float
    device: str
    log_level: str
    decode: dict = field(default_factory=dict)  # advanced DecodeOptions overrides
    precision: str = "auto"
    max_batch: int = 8
    threads: Optional[int] = None
    allowed_hosts: tuple[str, ...] = ()
    require_token: bool = False
    resume_grace: float = 30.0
    tls: TlsOptions = field(default_factory=TlsOptions)


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
        help=f"token that non-loopback clients must present (env {ENV_TOKEN}); generated when "
        "binding off loopback",
    )
    p.add_argument("--max-clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=60.0,
        help="close a client that sends nothing for this many seconds (default 60)",
    )
    p.add_argument(
        "--resume-grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a client whose connection drops may resume its session this long (default 30; "
        "0 = off)",
    )
    p.add_argument(
        "--device",
        default="auto",
        help="auto | cpu | cuda | cuda:N (default auto: cuda where it works, else cpu)",
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto (default: fp16 on CUDA; bf16 on a CPU with bfloat16 instructions, else fp32), "
        "fp32, bf16 (the encoder's products in bfloat16), fp16, or int8 linear layers (CPU only)",
    )
    p.add_argument("--log-level", help=f"log level (env {ENV_LOG_LEVEL}; default WARNING)")
    p.add_argument(
        "--max-batch", type=int, default=8, help="sessions decoded in one step (default 8)"
    )
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: every core)")
    p.add_argument(
        "--require-token",
        action="store_true",
        help="every client needs the token, local ones too (use this behind a reverse proxy on "
        "this machine, where every client looks local)",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name clients may use besides addresses, localhost and this machine's names "
        "(against DNS rebinding; repeatable; '*' allows any, e.g. behind a proxy)",
    )
    add_task_options(p)
    tls = p.add_argument_group(
        "TLS",
        "Off loopback the server speaks HTTPS/WSS (browsers give the microphone only to secure "
        "pages): with your certificate, or a self-signed one made once in the data folder.",
    )
    tls.add_argument("--certfile", metavar="PEM", help="your certificate (may hold the key too)")
    tls.add_argument("--keyfile", metavar="PEM", help="the key of --certfile")
    tls.add_argument(
        "--no-tls",
        action="store_true",
        help="plain http/ws even off loopback (phones get no microphone; the token is sent "
        "in clear text)",
    )
    add_decode_option(p)
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
    if args.max_batch < 1:
        raise ValueError("--max-batch must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise ValueError("--threads must be at least 1")
    if args.idle_timeout <= 0:
        raise ValueError("--idle-timeout must be positive")
    if args.resume_grace < 0:
        raise ValueError("--resume-grace must be 0 (off) or positive")
    if args.no_tls and (args.certfile or args.keyfile):
        raise ValueError("--no-tls cannot go with --certfile/--keyfile")
    if args.keyfile and not args.certfile:
        raise ValueError("--keyfile needs --certfile")
    choice = resolve_model_choice(args, env)
    return ServeOptions(
        host=args.host,
        port=args.port,
        model=choice.model,
        language=choice.language,
        token=args.token or env.get(ENV_TOKEN) or None,
        max_clients=args.max_clients,
        idle_timeout=args.idle_timeout,
        device=args.device,
        log_level=resolve_log_level(args.log_level, env),
        decode=decode_overrides(args.decode) | task_overrides(args, env),
        precision=args.precision,
        max_batch=args.max_batch,
        threads=args.threads,
        allowed_hosts=tuple(args.allowed_host),
        require_token=args.require_token,
        resume_grace=args.resume_grace,
        tls=TlsOptions(
            certfile=Path(args.certfile).expanduser() if args.certfile else None,
            keyfile=Path(args.keyfile).expanduser() if args.keyfile else None,
            enabled=not args.no_tls,
        ),
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


def main(argv: list[str]) -> int:
    """Entry point of ``whisper-desktop --server-only``; returns the exit status."""
    try:
        opts = parse_serve_options(argv)
    except ValueError as exc:
        _error(str(exc))
        return 2
    logging.basicConfig(
        level=opts.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    try:  # before the port and the model: a GPU that is not there is one line, not a download
        device = resolve_device(opts.device)
        precision = resolve_precision(opts.precision, device)
    except (ComputeDeviceError, ValueError) as exc:
        _error(str(exc))
        return 2
    model = opts.model or default_model(device)
    config = EngineConfig(
        precision=precision,
        max_batch=opts.max_batch,
        threads=opts.threads,
        model=model,
        device=device,
        decode=DecodeOptions(language=opts.language, **opts.decode),
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
            allowed_hosts=opts.allowed_hosts,
            require_token=opts.require_token,
            resume_grace=opts.resume_grace,
            tls=opts.tls,
        ),
    )
    shutdown = _Shutdown()
    shutdown.install()
    try:
        server.bind()  # fail fast (port in use) before the slow model load
    except ServerError as exc:
        _error(str(exc))
        return 1
    if server.tls is not None:
        kind = "self-signed certificate" if server.tls.self_signed else "certificate"
        _say(f"TLS: {kind} {server.tls.certfile}, SHA-256 fingerprint {server.tls.fingerprint}")
    try:
        _say(f"Loading model {model} (language {opts.language}) on {device}, {engine.dtype} ...")
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
    if server.generated_token:  # before "Listening": whoever waits for that has the token
        lan = f"; LAN page {server.lan_url}" if server.lan_url else ""
        who = "every client" if opts.require_token else "non-local clients"
        _say(f"Token for {who} (shown once): {server.token}{lan}")
    bound = "" if f"://{opts.host}:" in server.ws_url else f"; bound to {opts.host}"
    _say(f"Listening on {server.ws_url} (web page {server.url}{bound})")
    shutdown.wait()
    _say(f"{shutdown.signal_name}: flushing sessions ...")
    server.set_draining()
    engine.stop(flush=True)
    server.wait_idle(timeout=10.0)
    server.stop()
    _say("Stopped.")
    return 0
