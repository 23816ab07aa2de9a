"""Option parsing shared by the command-line entry points (no Qt, no torch).

Configuration comes, strongest first, from command-line flags, the process environment, a
``.env`` file in the working directory, and the defaults. The environment names are those of the
reference system, so its users can switch over unchanged: ``WHISPER_MODEL_PATH`` (a model spec;
``turbo.pt`` means ``turbo``), ``WHISPER_LAN`` (language) and ``WHISPER_LOG_LEVEL``; ours is
``WHISPER_DESKTOP_TOKEN`` (the token of the server).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Optional

from dotenv import dotenv_values

from server_core.config import DEFAULT_MODEL, DEFAULT_MODEL_CUDA, MAX_BEAMS, TASKS, DecodeOptions
from server_core.languages import normalize_language
from server_core.model_names import normalize_model_spec

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
ENV_MODEL = "WHISPER_MODEL_PATH"
ENV_LANGUAGE = "WHISPER_LAN"
ENV_LOG_LEVEL = "WHISPER_LOG_LEVEL"
ENV_TOKEN = "WHISPER_DESKTOP_TOKEN"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def read_dotenv(path: str | Path) -> dict[str, str]:
    """The ``KEY=VALUE`` pairs of a ``.env`` file, read by python-dotenv (quotes, ``export``,
    comments, escapes; a line it cannot parse is logged and left out). Keys without a value are
    left out; a missing file gives an empty dict."""
    p = Path(path)
    if not p.is_file():
        return {}
    return {k: v for k, v in dotenv_values(p, encoding="utf-8").items() if v is not None}


def layered_env(
    environ: Optional[Mapping[str, str]] = None, cwd: str | Path | None = None
) -> dict[str, str]:
    """The process environment over the ``.env`` file of ``cwd`` (the environment wins)."""
    env = read_dotenv(Path(cwd or os.getcwd()) / ".env")
    env.update(os.environ if environ is None else environ)
    return env


@dataclass
class ModelChoice:
    model: Optional[str]  # None: none was named; the device's default (config.default_model)
    language: str


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        help=f"model: official name (tiny.en, base, turbo, ...), .pt file or CTranslate2 folder "
        f"(env {ENV_MODEL}; default {DEFAULT_MODEL} on the CPU, {DEFAULT_MODEL_CUDA} on a GPU)",
    )
    parser.add_argument(
        "--language",
        "--lan",
        dest="language",
        help=f"language code or 'auto' (env {ENV_LANGUAGE}; default {DecodeOptions().language})",
    )


def resolve_model_choice(args: argparse.Namespace, env: Mapping[str, str]) -> ModelChoice:
    """Flags over env vars over defaults; raises ValueError with a clear message. The model
    stays None when neither names one: its default depends on the device."""
    model = args.model or env.get(ENV_MODEL)
    language = args.language or env.get(ENV_LANGUAGE) or DecodeOptions().language
    return ModelChoice(
        model=normalize_model_spec(model) if model else None,
        language=normalize_language(language),
    )


def resolve_log_level(flag: Optional[str], env: Mapping[str, str]) -> str:
    level = (flag or env.get(ENV_LOG_LEVEL) or "WARNING").strip().upper()
    if level == "WARN":
        level = "WARNING"
    if level not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LOG_LEVELS)}")
    return level


# The engine's task and prompts: a flag, else the environment (the reference system's WHISPER_
# naming), else the default. Clients may choose their own per connection.
TASK_FLAGS = {
    "task": "WHISPER_TASK",
    "init_prompt": "WHISPER_INIT_PROMPT",
    "static_prompt": "WHISPER_STATIC_PROMPT",
    "beams": "WHISPER_BEAMS",
}


def add_task_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task",
        choices=TASKS,
        help="transcribe (default), or translate into English (env WHISPER_TASK)",
    )
    parser.add_argument(
        "--init-prompt", help="initial context text, trimmed like any (env WHISPER_INIT_PROMPT)"
    )
    parser.add_argument(
        "--static-prompt",
        help="text always kept in the prompt, e.g. domain words (env WHISPER_STATIC_PROMPT)",
    )
    parser.add_argument(
        "--beams",
        type=int,
        help=f"1 = greedy (default); up to {MAX_BEAMS}: beam search (env WHISPER_BEAMS)",
    )


def task_overrides(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, object]:
    """The task flags over their environment variables, as DecodeOptions fields."""
    out: dict[str, object] = {}
    for name, var in TASK_FLAGS.items():
        value = getattr(args, name)
        if value is None and env.get(var):
            value = env[var]
        if value is not None:
            out[name] = value
    if "task" in out and out["task"] not in TASKS:
        raise ValueError(f"{TASK_FLAGS['task']}={out['task']!r}: use one of {', '.join(TASKS)}")
    if "beams" in out:
        try:
            out["beams"] = int(out["beams"])  # type: ignore[arg-type]
        except ValueError:
            pass  # validate() below names the allowed range
    replace(DecodeOptions(), **out).validate()  # type: ignore[arg-type]
    return out


def add_decode_option(parser: argparse.ArgumentParser) -> None:
    names = ", ".join(f.name for f in fields(DecodeOptions) if f.name != "language")
    parser.add_argument(
        "--decode",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"advanced: set a decoder option ({names})",
    )


def decode_overrides(pairs: list[str]) -> dict[str, object]:
    """``NAME=VALUE`` pairs as typed DecodeOptions fields; ValueError names what is wrong."""
    defaults = DecodeOptions()
    known = {f.name for f in fields(DecodeOptions)} - {"language"}
    out: dict[str, object] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in known:
            raise ValueError(f"--decode {pair!r}: use NAME=VALUE with NAME one of {sorted(known)}")
        kind = type(getattr(defaults, name))
        try:
            if kind is bool:
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                value: object = raw.lower() in ("1", "true", "yes", "on")
            else:
                value = kind(raw)
        except ValueError:
            raise ValueError(f"--decode {pair!r}: {name} takes a {kind.__name__}") from None
        out[name] = value
    replace(defaults, **out).validate()  # type: ignore[arg-type]
    return out
