"""`whisper-desktop --server-only`: the headless server. Never imports Qt."""

from __future__ import annotations

import logging
import sys

from server_core.config import DecodeOptions, EngineConfig, default_model, resolve_precision
from server_core.engine import Engine
from server_core.engine.device import resolve_device
from server_core.errors import ComputeDeviceError, ModelError
from server_core.net.server import LocalServer, ServerError, ServerOptions
from server_core.serve_options import ServeOptions, build_parser, parse_serve_options
from server_core.signals import Shutdown

__all__ = ["ServeOptions", "build_parser", "main", "parse_serve_options"]

log = logging.getLogger(__name__)


def _say(line: str) -> None:
    print(line, flush=True)


def _error(line: str) -> None:
    print(f"whisper-desktop: error: {line}", file=sys.stderr, flush=True)


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
        final_pass=opts.final_pass,
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
    shutdown = Shutdown()
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
