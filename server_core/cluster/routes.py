"""``/health``, ``/clients`` and ``POST /config`` for the whole cluster, on every replica."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from server_core import __version__
from server_core.contract import EngineHandle
from server_core.net.app import config_change, config_request
from server_core.net.auth import check_access
from server_core.net.options import ApiOptions


class Replica(Protocol):
    """What these routes need of ``replica.Replica``."""

    name: str
    view: Any  # the ClusterView actor's handle
    engine: EngineHandle
    api: ApiOptions

    def status(self) -> dict[str, Any]: ...


CLUSTER_PATHS = ("/health", "/clients", "/config")
CONFIG_TIMEOUT = 600.0  # a model download and load on every replica


def _denied(reason: str) -> JSONResponse:
    return JSONResponse({"error": "unauthorized", "message": reason}, status_code=401)


async def _replicas(replica: Replica) -> list[dict[str, Any]]:
    """Every live replica's status, this one's fresh."""
    reported = await replica.view.replicas.remote()
    mine = replica.status()
    return [r for r in reported if r["replica"] != replica.name] + [mine]


def install_cluster_routes(app: FastAPI, replica: Replica) -> None:
    """Replace the single server's answers for these paths with the cluster's."""
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) not in CLUSTER_PATHS
    ]
    options = replica.api

    @app.get("/health")
    async def health() -> dict:
        replicas = sorted(await _replicas(replica), key=lambda r: r["replica"])
        ok = any(r["status"] == "ok" for r in replicas)
        return {
            "status": "ok" if ok else "draining",
            "version": __version__,
            "model": replica.engine.model_name,
            "language": replica.engine.language,
            "device": replica.engine.device,
            "dtype": replica.engine.dtype,
            "clients": sum(r["clients"] for r in replicas),
            "max_clients": sum(r["max_clients"] for r in replicas),
            "replicas": [
                {k: v for k, v in r.items() if k != "sessions"} | {"sessions": len(r["sessions"])}
                for r in replicas
            ],
            "answered_by": replica.name,
        }

    @app.get("/clients")
    async def clients(request: Request):
        reason = check_access(request, options.token, options.require_token)
        if reason:
            return _denied(reason)
        replicas = await _replicas(replica)
        return {"clients": [s for r in replicas for s in r["sessions"]]}

    @app.post("/config")
    async def config(request: Request):
        reason = check_access(request, options.token, options.require_token)
        if reason:
            return _denied(reason)
        try:
            values = await config_request(request)
            config_change(values)  # bad values fail here, before any replica is asked
        except ValueError as e:
            return JSONResponse({"error": "bad_request", "message": str(e)}, status_code=400)
        request_id, targets = await replica.view.post_config.remote(values)
        deadline = time.monotonic() + CONFIG_TIMEOUT
        results: dict[str, dict] = {}
        while time.monotonic() < deadline:
            results = await replica.view.config_results.remote(request_id)
            live = set(await replica.view.live.remote())
            if all(t in results or t not in live for t in targets):
                break
            await asyncio.sleep(0.2)
        await replica.view.config_results.remote(request_id, True)
        for target in targets:
            results.setdefault(target, {"error": "no_answer", "message": "the replica is gone"})
        failed = [t for t, r in results.items() if r.get("status") != "ok"]
        reply = {
            "status": "ok" if not failed else "failed",
            "model": replica.engine.model_name,
            "language": replica.engine.language,
            "replicas": results,
        }
        if failed:
            first = results[failed[0]]
            reply |= {"error": first.get("error", "config_failed"), "message": first.get("message")}
            return JSONResponse(reply, status_code=400)
        return reply
