"""One Serve replica: one ``Engine`` with its model, serving the unchanged app of ``create_app``.

A WebSocket is one ongoing request for its whole life, so it stays on the replica that accepted
it, and Serve's router (power of two choices over ongoing requests) sends each new connection to
the less loaded of two replicas; ``max_ongoing_requests`` is the replica's session cap.
``/health``, ``/clients`` and ``/config`` are replaced by cluster-wide ones (``routes.py``) that
read the view actor (``view.py``), which every replica reports to once a second.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass, replace
from typing import Any, Optional

import ray
from ray import serve

from server_core.config import EngineConfig, default_model, resolve_precision
from server_core.engine import Engine
from server_core.engine.device import resolve_device
from server_core.net.app import client_info, config_change, create_app
from server_core.net.options import ApiOptions, web_dir

from .routes import install_cluster_routes
from .view import get_view

log = logging.getLogger(__name__)

REPORT_INTERVAL = 1.0


@dataclass(frozen=True)
class ReplicaSpec:
    """What every replica builds its engine and app from (pickled to the replica)."""

    engine: EngineConfig  # device and precision as given (auto): resolved on the replica
    api: ApiOptions
    model: Optional[str] = None  # None: the replica's device's default
    log_level: str = "WARNING"


class Replica:
    def __init__(self, spec: ReplicaSpec) -> None:
        logging.getLogger("server_core").setLevel(spec.log_level)
        device = resolve_device(spec.engine.device)
        config = replace(
            spec.engine,
            device=device,
            precision=resolve_precision(spec.engine.precision, device),
            model=spec.model or default_model(device),
        )
        self.engine = Engine(config)
        self.engine.start()
        self.name = serve.get_replica_context().replica_id.unique_id
        self.node = ray.get_runtime_context().get_node_id()
        self.host = ray.util.get_node_ip_address()
        self.view = get_view()
        self.api = replace(spec.api, web_dir=web_dir())  # this node's installed page
        self.asgi = create_app(self.engine, self.api)
        self.hub = self.asgi.state.hub
        install_cluster_routes(self.asgi, self)
        self._stop = threading.Event()
        self._reporter = threading.Thread(target=self._report_loop, name="report", daemon=True)
        self._reporter.start()
        log.info("replica %s (pid %d): %s on %s", self.name, os.getpid(), config.model, device)

    def __serve_build_asgi_app__(self) -> Any:
        return self.asgi

    def status(self) -> dict[str, Any]:
        sessions = [client_info(s) | {"replica": self.name} for s in self.engine.sessions()]
        return {
            "replica": self.name,
            "pid": os.getpid(),
            "node": self.node,
            "host": self.host,
            "status": "draining" if self.hub.draining else "ok",
            "model": self.engine.model_name,
            "language": self.engine.language,
            "device": self.engine.device,
            "dtype": self.engine.dtype,
            "clients": len(self.hub.connections),
            "max_clients": self.api.max_clients,
            "lag": max((s["lag"] for s in sessions), default=0.0),
            "sessions": sessions,
        }

    def _report_loop(self) -> None:
        while not self._stop.is_set():
            try:
                pending = ray.get(self.view.report.remote(self.name, self.status()), timeout=10)
                for request in pending:
                    if request.get("drain"):
                        self.drain()
                        continue
                    result = self.reconfigure(request["values"])
                    self.view.config_done.remote(request["id"], self.name, result)
            except Exception as e:  # the view is restarting: report again next time
                log.debug("report to the cluster view failed: %r", e)
            self._stop.wait(REPORT_INTERVAL)

    def reconfigure(self, values: dict[str, Any]) -> dict[str, Any]:
        """One replica's part of ``POST /config``: its reply, or why it failed."""
        try:
            model, language, decode = config_change(values)
            self.engine.reconfigure(model=model, language=language, options=decode)
        except Exception as e:  # ModelError, ValueError: the old model stays
            log.warning("reconfigure(%s) failed: %s", values, e)
            text = str(e).splitlines()[0] if str(e) else type(e).__name__
            return {"error": "config_failed", "message": text}
        return {"status": "ok", "model": self.engine.model_name, "language": self.engine.language}

    def drain(self) -> None:
        """Flush every session ("done", then close 1001) and take no new ones."""
        self.hub.draining = True
        self.engine.stop(flush=True)

    def __del__(self) -> None:
        """Serve calls this once the replica's connections are drained (or its time ran out)."""
        with contextlib.suppress(Exception):
            self._stop.set()
            self.hub.draining = True
            self.engine.stop(flush=True)
            self.view.leave.remote(self.name)
