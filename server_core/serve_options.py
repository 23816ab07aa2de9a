"""The options of the headless server: its flags, environment and ``.env`` (no Qt, no torch).

Shared by ``--server-only`` and ``cluster``, which adds its own flags to the same parser.
"""

from __future__ import annotations

import argparse
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
from server_core.config import PRECISIONS
from server_core.net.tls import TlsOptions


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
    final_pass: bool = False  # the second, offline-style pass over each finished utterance
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
    p.add_argument(
        "--final-pass",
        dest="final_pass",
        action="store_true",
        default=None,
        help="a second, offline-style pass over each finished utterance, sent as 'utterance' "
        f"messages (env {ENV_FINAL_PASS}=1; off by default: a client that uploads faster than "
        "real time is then not held back)",
    )
    p.add_argument(
        "--no-final-pass",
        dest="final_pass",
        action="store_false",
        default=None,
        help=f"no final pass (the default; env {ENV_FINAL_PASS}=0)",
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


ENV_FINAL_PASS = "WHISPER_FINAL_PASS"
OFF_WORDS = ("0", "false", "no", "off")
ON_WORDS = ("1", "true", "yes", "on")


def resolve_final_pass(flag: Optional[bool], env: Mapping[str, str]) -> bool:
    """``--final-pass``/``--no-final-pass`` over ``WHISPER_FINAL_PASS`` over off."""
    if flag is not None:
        return flag
    raw = env.get(ENV_FINAL_PASS, "").strip().lower()
    if raw in ON_WORDS:
        return True
    if not raw or raw in OFF_WORDS:
        return False
    raise ValueError(f"{ENV_FINAL_PASS}={raw!r}: use 1 (on) or 0 (off, the default)")


def parse_serve_options(
    argv: list[str],
    environ: Optional[Mapping[str, str]] = None,
    cwd: str | Path | None = None,
    parser: Optional[argparse.ArgumentParser] = None,
) -> ServeOptions:
    """Parse argv with env and ``.env``; argparse errors exit(2), bad values raise ValueError.
    ``parser`` may be ``build_parser()`` with more flags (``cluster``'s)."""
    parser = parser or build_parser()
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
        final_pass=resolve_final_pass(args.final_pass, env),
        tls=TlsOptions(
            certfile=Path(args.certfile).expanduser() if args.certfile else None,
            keyfile=Path(args.keyfile).expanduser() if args.keyfile else None,
            enabled=not args.no_tls,
        ),
    )
