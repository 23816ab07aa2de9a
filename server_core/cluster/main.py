"""``whisper-desktop cluster``: the server on replicas of a Ray cluster. Never imports Qt.

Ray is imported only after the flags are read, so ``--help`` works without it and a missing Ray
is one line (``RAY_MISSING``) and exit status 2.
"""

from __future__ import annotations

import logging
import secrets
import sys

from server_core.net.auth import is_loopback
from server_core.net.protocol import WS_PATH
from server_core.net.tls import TlsError, resolve_tls
from server_core.signals import Shutdown

from .options import RAY_MISSING, parse_cluster_options

log = logging.getLogger(__name__)


def _say(line: str) -> None:
    print(line, flush=True)


def _error(line: str) -> None:
    print(f"whisper-desktop: error: {line}", file=sys.stderr, flush=True)


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def main(argv: list[str]) -> int:
    """Entry point of ``whisper-desktop cluster``; returns the exit status."""
    try:
        opts, cluster = parse_cluster_options(argv)
    except ValueError as exc:
        _error(str(exc))
        return 2
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError:
        _error(RAY_MISSING)
        return 2
    from . import deploy

    logging.basicConfig(
        level=opts.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    loopback = opts.host == "localhost" or is_loopback(opts.host)
    token, generated = opts.token, False
    if token is None and (opts.require_token or not loopback):
        token, generated = secrets.token_urlsafe(16), True
    try:
        tls = resolve_tls(opts.tls, opts.host, loopback, opts.allowed_hosts)
    except TlsError as exc:
        _error(str(exc))
        return 1
    if tls is not None:
        kind = "self-signed certificate" if tls.self_signed else "certificate"
        _say(f"TLS: {kind} {tls.certfile}, SHA-256 fingerprint {tls.fingerprint}")
    port = opts.port or deploy.free_port(opts.host)
    shutdown = Shutdown()
    scale = (
        f"{cluster.min_replicas}-{cluster.max_replicas} replicas (autoscaling)"
        if cluster.autoscaling
        else f"{cluster.replicas} replica(s)"
    )
    where = f"Ray at {cluster.address}" if cluster.address else "a local Ray instance"
    _say(f"Starting {scale} of model {opts.model or 'default'} on {where} ...")
    try:
        deploy.start(opts, cluster, token, tls, port)
    except KeyboardInterrupt:
        deploy.stop(joined=cluster.address is not None)
        return 130
    except Exception as exc:  # a replica failed to start (model, device): Serve says why
        _error(f"the cluster did not start: {str(exc).strip().splitlines()[-1]}")
        deploy.stop(joined=cluster.address is not None)
        return 1
    shutdown.install()
    if generated:
        who = "every client" if opts.require_token else "non-local clients"
        _say(f"Token for {who} (shown once): {token}")
    scheme = "https" if tls else "http"
    base = f"{_url_host(opts.host)}:{port}"
    _say(f"Listening on {'wss' if tls else 'ws'}://{base}{WS_PATH} (web page {scheme}://{base}/)")
    shutdown.wait()
    _say(f"{shutdown.signal_name}: flushing sessions ...")
    deploy.drain(timeout=30.0)
    deploy.stop(joined=cluster.address is not None)
    _say("Stopped.")
    return 0
