"""Options of the network layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Optional

from server_core.audio.wire import DEFAULT_LIMITS, FrameLimits


def web_dir() -> Path:
    """The browser page's folder, installed inside the package (``server_core.resources``)."""
    return Path(str(files("server_core.resources") / "web"))


@dataclass(frozen=True)
class ApiOptions:
    token: Optional[str] = None  # required from non-loopback peers; None = local clients only
    max_clients: int = 8  # concurrent WebSocket clients
    idle_timeout: float = 60.0  # seconds without any client message before the server closes
    flush_timeout: float = 120.0  # seconds to wait for the engine's final events after "end"
    limits: FrameLimits = field(default_factory=lambda: DEFAULT_LIMITS)
    # A client this many seconds of audio ahead of real time, with as much still undecoded,
    # is not read from until the engine catches up (TCP backpressure: nothing is dropped)
    max_ahead: float = 10.0
    require_token: bool = False  # loopback peers need the token too (behind a local proxy)
    # A session whose connection drops stays this long for its client to resume it (0 = off)
    resume_grace: float = 30.0
    web_dir: Path = field(default_factory=web_dir)
    # Host names accepted besides addresses, localhost and this machine's names ("*" = any)
    allowed_hosts: tuple[str, ...] = ()
    max_viewers: int = 16  # read-only caption viewers (/ws/captions), besides max_clients
    viewer_queue: int = 256  # messages waiting for one viewer before the oldest are dropped
    caption_backlog: int = 20  # committed lines a viewer gets when it connects
