"""Input devices as the settings dialog offers them: the name the capture needs, and a
description a person understands instead of raw ALSA names such as ``pulse`` or ``default``.
No Qt.

PortAudio on Linux lists ALSA's virtual devices by their plug-in names. Where the sound server
can say which microphone those lead to (``soundcard`` asks PulseAudio/PipeWire), the
description names it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

ALSA_DESCRIPTIONS = {
    "default": "System default input",
    "sysdefault": "Default sound card",
    "pulse": "PulseAudio sound server",
    "pipewire": "PipeWire sound server",
    "jack": "JACK sound server",
    "dsnoop": "Shared sound card input (ALSA dsnoop)",
    "dmix": "Shared sound card (ALSA dmix)",
    "lavrate": "Resampling converter (ALSA lavrate)",
    "samplerate": "Resampling converter (ALSA samplerate)",
    "speexrate": "Resampling converter (ALSA speexrate)",
    "upmix": "Channel converter (ALSA upmix)",
    "vdownmix": "Channel converter (ALSA vdownmix)",
    "oss": "OSS emulation",
}
# these lead to the sound server's default microphone
SERVER_ROUTES = {"default", "pulse", "pipewire"}


def default_microphone_name() -> str:
    """The sound server's name for its default microphone, or "" when it cannot be asked."""
    try:
        import soundcard

        return str(soundcard.default_microphone().name)
    except Exception as exc:  # no server, no soundcard, or its import-time bugs
        log.debug("no default microphone name: %s", exc)
        return ""


def describe_input(name: str, server_microphone: str = "") -> str:
    """A readable description of a PortAudio input name."""
    description = ALSA_DESCRIPTIONS.get(name, name)
    if name in SERVER_ROUTES and server_microphone:
        return f"{description}: {server_microphone}"
    return description


def list_input_choices(
    list_names: Callable[[], Sequence[str]],
    server_microphone: Callable[[], str] = default_microphone_name,
) -> list[tuple[str, str]]:
    """(name, description) of every input device ``list_names`` gives, in its order."""
    names = list(list_names())
    mic = server_microphone() if SERVER_ROUTES.intersection(names) else ""
    return [(name, describe_input(name, mic)) for name in names]
