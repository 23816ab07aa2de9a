"""The cluster's one view of itself: a small named Ray actor that every replica reports to.

Each replica sends its status (device, sessions, lag) about once a second and collects the
``POST /config`` requests waiting for it; whichever replica answers ``/health``, ``/clients`` or
``/config`` reads and writes here, so the answer is the cluster's, not its own.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import ray

VIEW_NAME = "whisper-desktop-view"
NAMESPACE = "whisper-desktop"
STALE_AFTER = 5.0  # a replica silent this long is gone (killed, or its node lost)


@dataclass
class _Entry:
    status: dict[str, Any]
    seen: float
    pending: list[dict[str, Any]] = field(default_factory=list)


@ray.remote(num_cpus=0, max_restarts=-1)
class ClusterView:
    def __init__(self) -> None:
        self._replicas: dict[str, _Entry] = {}
        self._results: dict[int, dict[str, dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    def report(self, replica: str, status: dict[str, Any]) -> list[dict[str, Any]]:
        """Store ``replica``'s status; returns the config requests waiting for it."""
        entry = self._replicas.get(replica)
        if entry is None:
            entry = self._replicas[replica] = _Entry(status, time.monotonic())
        entry.status, entry.seen = status, time.monotonic()
        pending, entry.pending = entry.pending, []
        return pending

    def leave(self, replica: str) -> None:
        self._replicas.pop(replica, None)

    def _live(self) -> dict[str, _Entry]:
        now = time.monotonic()
        for name in [n for n, e in self._replicas.items() if now - e.seen > STALE_AFTER]:
            del self._replicas[name]
        return self._replicas

    def replicas(self) -> list[dict[str, Any]]:
        return [e.status for _, e in sorted(self._live().items())]

    def post_config(self, values: dict[str, Any]) -> tuple[int, list[str]]:
        """Queue a config change for every live replica: (request id, the replicas asked)."""
        request = next(self._ids)
        self._results[request] = {}
        targets = sorted(self._live())
        for name in targets:
            self._replicas[name].pending.append({"id": request, "values": values})
        return request, targets

    def post_command(self, command: dict[str, Any]) -> list[str]:
        """Queue ``command`` (e.g. ``{"drain": True}``) for every live replica."""
        targets = sorted(self._live())
        for name in targets:
            self._replicas[name].pending.append(command)
        return targets

    def config_done(self, request: int, replica: str, result: dict[str, Any]) -> None:
        if request in self._results:
            self._results[request][replica] = result

    def config_results(self, request: int, forget: bool = False) -> dict[str, dict[str, Any]]:
        results = dict(self._results.get(request, {}))
        if forget:
            self._results.pop(request, None)
        return results

    def live(self) -> list[str]:
        return sorted(self._live())


def get_view() -> Any:
    """The cluster's view actor, made by the first replica (or driver) that asks."""
    return ClusterView.options(  # type: ignore[attr-defined]
        name=VIEW_NAME, namespace=NAMESPACE, get_if_exists=True, lifetime="detached"
    ).remote()
