"""Whisper's languages, from openai-whisper's own tables (no torch): the one validator."""

from __future__ import annotations

from server_core.whisper_tables import tokenizer_module

AUTO = "auto"


def languages() -> dict[str, str]:
    """Code -> English name, in Whisper's order."""
    return dict(tokenizer_module().LANGUAGES)


def language_choices() -> list[tuple[str, str]]:
    """(code, label) for pickers: 'auto' first, then every language by name."""
    named = sorted(languages().items(), key=lambda kv: kv[1])
    return [(AUTO, "Detect automatically")] + [(c, n.title()) for c, n in named]


# locale codes that Whisper spells differently
_LOCALE_ALIASES = {"nb": "no", "nn": "no", "iw": "he", "jv": "jw"}


def language_of_locale(value: str | None) -> str | None:
    """The Whisper language of a locale name (``en_US.UTF-8``, ``de``, ``English_United
    States``); None for ``C``, ``POSIX`` or a language Whisper does not know."""
    if not value:
        return None
    head = value.split(".", 1)[0].split("@", 1)[0].replace("-", "_").split("_", 1)[0]
    code = _LOCALE_ALIASES.get(head.strip().lower(), head.strip().lower())
    module = tokenizer_module()
    if code in module.LANGUAGES:
        return code
    return module.TO_LANGUAGE_CODE.get(code)


def normalize_language(value: str) -> str:
    """A Whisper language code from a code, an English name, or ``auto``; ValueError if none."""
    module = tokenizer_module()
    v = str(value).strip().lower()
    if v == AUTO or v in module.LANGUAGES:
        return v
    if v in module.TO_LANGUAGE_CODE:
        return module.TO_LANGUAGE_CODE[v]
    raise ValueError(
        f"unknown language {value!r}; use 'auto' or a Whisper language code such as 'de' or 'en'"
    )
