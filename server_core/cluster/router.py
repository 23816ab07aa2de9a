"""Serve's request router for this app: a new connection goes to the replica with the fewest
open sessions, as this router knows them.

A WebSocket is one request for its whole life, so a replica's ongoing requests are its
sessions. Serve's default (power of two choices) prefers a replica whose count it has cached
over one it has not probed yet, so a burst of connections right after a start or a quiet spell
can all land on one replica (measured: 4 of 4 on one of two), and connections routed at the
same moment all see the same counts. Here a replica not in the cache counts as empty, a pick
counts on top of the cache until the request is sent (so connections routed at once see each
other), and ties go round in turn; the pick is probed and taken if it has room, else the next.
Serve's cache entries expire (10 s) and are refreshed by probing, which keeps several proxies
(one per node) close to the truth.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Optional

from ray.serve.request_router import PendingRequest, ReplicaID, RequestRouter, RunningReplica

ROUTER = "server_core.cluster.router:FewestSessionsRouter"

log = logging.getLogger("ray.serve")


class FewestSessionsRouter(RequestRouter):
    RECENT = 2.0  # seconds an unsent pick counts at most (it may have served another request)

    def initialize_state(self, **kwargs) -> None:
        self._recent: dict[str, deque[float]] = {}  # picks not yet routed, by replica
        self._turn = 0
        log.info("routing new connections to the replica with the fewest sessions")

    async def choose_replicas(
        self,
        candidate_replicas: list[RunningReplica],
        pending_request: Optional[PendingRequest] = None,
    ) -> list[list[RunningReplica]]:
        if not candidate_replicas:
            return []
        cache = self.replica_queue_len_cache
        now = time.monotonic()
        recent, turn = self._recent, self._turn
        self._turn += 1

        def load(replica: RunningReplica) -> int:
            picks = recent.setdefault(replica.replica_id.unique_id, deque())
            while picks and now - picks[0] > self.RECENT:
                picks.popleft()
            known = cache.get(replica.replica_id)
            return (0 if known is None else known) + len(picks)

        ordered = sorted(candidate_replicas, key=lambda r: r.replica_id.unique_id)
        loads = {r.replica_id.unique_id: load(r) for r in ordered}
        least = min(loads.values())
        tied = [r for r in ordered if loads[r.replica_id.unique_id] == least]
        pick = tied[turn % len(tied)]
        recent[pick.replica_id.unique_id].append(now)
        rest = sorted(
            (r for r in ordered if r is not pick), key=lambda r: loads[r.replica_id.unique_id]
        )
        return [[pick], rest] if rest else [[pick]]

    def on_send_request(self, replica_id: ReplicaID) -> None:
        """Sent: Serve's cache counts it now (``super``), so the pick no longer does."""
        super().on_send_request(replica_id)
        picks = self._recent.get(replica_id.unique_id)
        if picks:
            picks.popleft()
