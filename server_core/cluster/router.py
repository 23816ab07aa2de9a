"""Serve's request router for this app: a new connection goes to the replica with the fewest
open sessions, as this router knows them.

A WebSocket is one request for its whole life, so a replica's ongoing requests are its
sessions. Serve's default (power of two choices) prefers a replica whose count it has cached
over one it has not probed yet, so a burst of connections right after a start or a quiet spell
can all land on one replica (measured: 4 of 4 on one of two), and connections routed at the
same moment all see the same counts. Here a replica not in the cache counts as empty, and ties
among the least loaded go round in turn, so a burst alternates; the first choice is probed and
taken if it has room, else the next. Serve's cache entries expire (10 s) and are refreshed by
probing, which keeps several proxies (one per node) close to the truth.
"""

from __future__ import annotations

import logging
from typing import Optional

from ray.serve.request_router import PendingRequest, RequestRouter, RunningReplica

ROUTER = "server_core.cluster.router:FewestSessionsRouter"

log = logging.getLogger("ray.serve")


class FewestSessionsRouter(RequestRouter):
    _turn = 0  # ties go round, so connections routed at the same moment spread

    async def choose_replicas(
        self,
        candidate_replicas: list[RunningReplica],
        pending_request: Optional[PendingRequest] = None,
    ) -> list[list[RunningReplica]]:
        cache = self.replica_queue_len_cache

        def load(replica: RunningReplica) -> int:
            known = cache.get(replica.replica_id)
            return 0 if known is None else known

        ranks: dict[int, list[RunningReplica]] = {}
        for replica in candidate_replicas:
            ranks.setdefault(load(replica), []).append(replica)
        if not ranks:
            return []
        groups = [sorted(g, key=lambda r: r.replica_id.unique_id) for _, g in sorted(ranks.items())]
        least = groups[0]
        pick = least[self._turn % len(least)]
        self._turn += 1
        if self._turn == 1:
            log.info("routing new connections to the replica with the fewest sessions")
        return [[pick], [r for r in least if r is not pick], *groups[1:]]
