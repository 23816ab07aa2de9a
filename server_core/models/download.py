"""Downloading an official checkpoint into openai-whisper's cache, with progress and SHA-256."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server_core.errors import ModelError
from server_core.models.progress import Reporter
from server_core.models.resolve import ResolvedModel

DOWNLOAD_TIMEOUT_S = 30.0
_CHUNK = 1 << 20

BytesProgress = Callable[[int, int], None]  # bytes done, total (0 when the server won't say)
Cancelled = Callable[[], bool]  # polled between chunks


class DownloadCancelled(ModelError):
    """The caller stopped the download; the partial file is gone."""


def _expected_sha256(url: str) -> str:
    return url.split("/")[-2]


def download(
    resolved: ResolvedModel,
    report: Reporter,
    *,
    on_bytes: BytesProgress | None = None,
    cancelled: Cancelled | None = None,
) -> None:
    """Download an official checkpoint into openai-whisper's cache, checking its SHA-256.

    ``on_bytes`` hears the bytes so far after each chunk; when ``cancelled()`` turns true the
    download stops with :class:`DownloadCancelled` and leaves nothing behind."""
    assert resolved.url is not None
    url, target, name = resolved.url, resolved.path, resolved.name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    except OSError as e:
        raise ModelError(f"model {name!r}: cannot write to {target.parent}: {e}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(url, out, name, report, on_bytes, cancelled)
        if digest != _expected_sha256(url):
            raise ModelError(
                f"model {name!r}: download from {url} failed: SHA-256 checksum mismatch"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _fetch(
    url: str,
    out: Any,
    name: str,
    report: Reporter,
    on_bytes: BytesProgress | None = None,
    cancelled: Cancelled | None = None,
) -> str:
    """Stream `url` into `out` with progress lines; return the SHA-256 hex digest."""
    sha = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as src:
            total = int(src.headers.get("Content-Length") or 0)
            size = f" ({total / 2**20:.1f} MiB)" if total else ""
            report(f"model {name}: downloading{size} from {url}")
            done, next_pct, t0 = 0, 10, time.perf_counter()
            while chunk := src.read(_CHUNK):
                if cancelled is not None and cancelled():
                    report(f"model {name}: download cancelled")
                    raise DownloadCancelled(f"model {name!r}: download cancelled")
                out.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if on_bytes is not None:
                    on_bytes(done, total)
                if total and done * 100 >= next_pct * total:
                    report(
                        f"model {name}: downloaded {done * 100 // total}% ({done / 2**20:.1f} MiB)"
                    )
                    next_pct = done * 100 // total + 10
            report(f"model {name}: download done in {time.perf_counter() - t0:.1f} s")
    except urllib.error.HTTPError as e:
        raise ModelError(f"model {name!r}: download from {url} failed: HTTP {e.code}") from None
    except urllib.error.URLError as e:
        raise ModelError(f"model {name!r}: download from {url} failed: {e.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as e:
        why = str(e) or type(e).__name__
        raise ModelError(f"model {name!r}: download from {url} failed: {why}") from None
    return sha.hexdigest()
