"""Where the caption overlay goes: one saved position per screen, keyed by the screen's name and
geometry, so that moving between a laptop alone and a laptop with a monitor keeps both places.
No Qt here: screens are described by :class:`ScreenInfo`."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

Rect = tuple[int, int, int, int]  # x, y, width, height


@dataclass(frozen=True)
class ScreenInfo:
    name: str
    geometry: Rect  # the whole screen, in desktop coordinates
    available: Rect  # without panels

    @property
    def key(self) -> str:
        x, y, w, h = self.geometry
        return f"{self.name} {w}x{h}+{x}+{y}"

    def contains(self, px: int, py: int) -> bool:
        x, y, w, h = self.geometry
        return x <= px < x + w and y <= py < y + h


def default_rect(available: Rect, width: int = 760, height: int = 240) -> Rect:
    """Bottom centre of the screen, above the panel."""
    ax, ay, aw, ah = available
    w = min(width, aw - 40)
    return (ax + (aw - w) // 2, ay + ah - height - 60, w, height)


def _intersects(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def parse_positions(text: str) -> dict[str, Rect]:
    """The stored JSON object ``{screen key: [x, y, w, h]}``; unreadable entries are dropped."""
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError:
        log.warning("ignoring unreadable overlay positions %r", text[:200])
        return {}
    out: dict[str, Rect] = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            try:
                x, y, w, h = (int(v) for v in value)
            except (TypeError, ValueError):
                continue
            out[str(key)] = (x, y, w, h)
    return out


def format_positions(positions: dict[str, Rect]) -> str:
    return json.dumps({k: list(v) for k, v in sorted(positions.items())}, separators=(",", ":"))


def screen_of(rect: Rect, screens: Sequence[ScreenInfo]) -> ScreenInfo | None:
    """The screen under the rectangle's centre, else the first it overlaps."""
    cx, cy = rect[0] + rect[2] // 2, rect[1] + rect[3] // 2
    for screen in screens:
        if screen.contains(cx, cy):
            return screen
    for screen in screens:
        if _intersects(rect, screen.geometry):
            return screen
    return None


def choose_rect(
    positions: dict[str, Rect],
    last_screen: str,
    screens: Sequence[ScreenInfo],
    primary: ScreenInfo,
    legacy: Rect | None = None,
) -> tuple[Rect, ScreenInfo]:
    """Where to show the overlay at start. The screen it was last on, if it is here, at its
    position there; else the primary screen, at its saved position or the default place. Saved
    positions of absent screens are left alone. ``legacy``: a single saved geometry from before
    positions were kept per screen, used while there are none."""
    by_key = {s.key: s for s in screens}
    if last_screen in by_key and last_screen in positions:
        screen = by_key[last_screen]
        rect = positions[last_screen]
        if _intersects(rect, screen.available):
            return rect, screen
    if primary.key in positions and _intersects(positions[primary.key], primary.available):
        return positions[primary.key], primary
    if not positions and legacy is not None:
        screen = screen_of(legacy, screens)
        if screen is not None:
            return legacy, screen
    return default_rect(primary.available), primary


def remember(
    positions: dict[str, Rect], rect: Rect, screens: Sequence[ScreenInfo]
) -> tuple[dict[str, Rect], str]:
    """The positions with ``rect`` saved for the screen it is on, and that screen's key
    (unchanged positions and "" when it is on no screen)."""
    screen = screen_of(rect, screens)
    if screen is None:
        return positions, ""
    return {**positions, screen.key: tuple(rect)}, screen.key
