"""A work-around for a reference-counting bug of the Qt binding.

PySide6-Essentials 6.12.0 (an abi3 wheel) on CPython 3.11 returns ``None`` from every void
method (``update()``, ``show()``, …) and ``True``/``False`` from ``Signal.emit()`` without
taking a reference. Each call takes one reference away; after some minutes of live captions
the interpreter frees ``None`` or ``True`` and aborts ("Fatal Python error: none_dealloc").
PySide6 6.11.2 does not do this, and CPython 3.12+ makes these objects immortal.

Where the bug is measured, :func:`protect_singletons` gives ``None``, ``True`` and ``False``
2**40 extra references: about 10**12 calls before anything could happen. They are never freed
in a healthy interpreter anyway, so the extra references change nothing else.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

EXTRA_REFERENCES = 1 << 40
_applied = False


def binding_drops_references() -> bool:
    """Measure it: do void calls and emits of this Qt binding lose references?"""
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    n = 32
    none0, bool0 = sys.getrefcount(None), sys.getrefcount(True) + sys.getrefcount(False)
    for _ in range(n):
        probe.setObjectName("probe")
        probe.ping.emit()
    none_lost = none0 - sys.getrefcount(None)
    bool_lost = bool0 - sys.getrefcount(True) - sys.getrefcount(False)
    return none_lost >= n // 2 or bool_lost >= n // 2  # other threads may move counts a little


def protect_singletons() -> bool:
    """Apply the work-around once if this interpreter and binding need it; True if applied."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if not binding_drops_references():
        return False
    for obj in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt leads every PyObject
        refcount.value += EXTRA_REFERENCES
    _applied = True
    import PySide6

    log.info("PySide6 %s loses references to None/True/False: protected", PySide6.__version__)
    return True
