"""The Serve application from the options, and Ray's and Serve's start and stop."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from typing import Any, Optional

import ray
from ray import serve

from server_core.config import DecodeOptions, EngineConfig
from server_core.net.options import ApiOptions
from server_core.net.tls import TlsFiles
from server_core.serve_options import ServeOptions

from .options import ClusterOptions, parse_cluster_options
from .proxy import CALLBACK, CALLBACK_ENV
from .replica import Replica, ReplicaSpec
from .router import ROUTER
from .view import NAMESPACE, get_view

log = logging.getLogger(__name__)

APP_NAME = "whisper-desktop"
DEPLOYMENT = "Replica"
# Idle OpenMP threads spin between model steps otherwise (as in whisper_desktop.main)
REPLICA_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def replica_spec(opts: ServeOptions, cluster: ClusterOptions, token: Optional[str]) -> ReplicaSpec:
    engine = EngineConfig(
        precision=opts.precision,  # type: ignore[arg-type]
        max_batch=opts.max_batch,
        threads=opts.threads,
        device=opts.device,
        decode=DecodeOptions(language=opts.language, **opts.decode),
        final_pass=opts.final_pass,
    )
    api = ApiOptions(
        token=token,
        max_clients=cluster.max_sessions_per_replica,
        idle_timeout=opts.idle_timeout,
        allowed_hosts=opts.allowed_hosts,
        require_token=opts.require_token,
        resume_grace=opts.resume_grace,
    )
    return ReplicaSpec(engine=engine, api=api, model=opts.model, log_level=opts.log_level)


def deployment_options(cluster: ClusterOptions) -> dict[str, Any]:
    """A WebSocket is one ongoing request for its life: ``max_ongoing_requests`` caps sessions,
    and autoscaling targets open sessions per replica."""
    sessions = cluster.max_sessions_per_replica
    options: dict[str, Any] = {
        "name": DEPLOYMENT,
        "max_ongoing_requests": sessions,
        "request_router_config": {"request_router_class": ROUTER},
        "ray_actor_options": {
            "num_cpus": cluster.cpus_per_replica,
            "num_gpus": cluster.gpus_per_replica,
            "runtime_env": {"env_vars": REPLICA_ENV},
        },
        "graceful_shutdown_timeout_s": cluster.drain_timeout,
        "graceful_shutdown_wait_loop_s": 1.0,
        "health_check_period_s": 5.0,
    }
    if cluster.autoscaling:
        options["autoscaling_config"] = {
            "min_replicas": cluster.min_replicas,
            "max_replicas": cluster.max_replicas,
            "target_ongoing_requests": max(1.0, 0.75 * sessions),
            "upscale_delay_s": 10.0,
            "downscale_delay_s": 120.0,
        }
    else:
        options["num_replicas"] = cluster.replicas
    return options


def application(spec: ReplicaSpec, cluster: ClusterOptions) -> Any:
    ingress = serve.ingress()(Replica)  # the app comes from Replica.__serve_build_asgi_app__
    return serve.deployment(ingress, **deployment_options(cluster)).bind(spec)


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start(
    opts: ServeOptions,
    cluster: ClusterOptions,
    token: Optional[str],
    tls: Optional[TlsFiles],
    port: int,
) -> None:
    """Start (or join) Ray, start Serve's proxy on ``port`` and deploy; returns once the
    replicas are up (their models loaded)."""
    verbose = opts.log_level in ("DEBUG", "INFO")
    init: dict[str, Any] = {
        "namespace": NAMESPACE,
        "include_dashboard": False,
        "log_to_driver": verbose,
        "logging_level": logging.INFO if verbose else logging.WARNING,
    }
    if cluster.address:
        init["address"] = cluster.address
    elif cluster.num_cpus is not None:
        init["num_cpus"] = cluster.num_cpus
    os.environ.setdefault(CALLBACK_ENV, CALLBACK)  # a local instance's proxy inherits it
    ray.init(**init)
    http: dict[str, Any] = {"host": opts.host, "port": port}
    if tls is not None:
        http |= {"ssl_certfile": str(tls.certfile), "ssl_keyfile": str(tls.keyfile)}
    serve.start(http_options=http)
    get_view()
    serve.run(
        application(replica_spec(opts, cluster, token), cluster),
        name=APP_NAME,
        route_prefix="/",
        blocking=False,
    )


def drain(timeout: float) -> None:
    """Every replica flushes its sessions ("done", close 1001) and takes no new ones."""
    view = get_view()
    ray.get(view.post_command.remote({"drain": True}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replicas = ray.get(view.replicas.remote())
        if all(r["clients"] == 0 for r in replicas):
            return
        time.sleep(0.5)


def stop(joined: bool = False) -> None:
    """Our app (on a cluster we ``joined``: only it; else Serve), the view actor, and our Ray
    connection or local instance; each step even if one before failed."""
    if ray.is_initialized():
        with contextlib.suppress(Exception):
            if joined:
                serve.delete(APP_NAME)
            else:
                serve.shutdown()
        with contextlib.suppress(Exception):
            ray.kill(get_view())
    ray.shutdown()


def build(args: dict[str, Any]) -> Any:
    """The application for a Serve config file (``import_path: server_core.cluster.deploy:build``,
    ``args: {flags: [...]}`` with ``whisper-desktop cluster``'s flags). The proxies' host, port
    and TLS come from the file's ``http_options``; the token from ``--token`` or
    WHISPER_DESKTOP_TOKEN (without one, only clients on the proxy's machine are served)."""
    opts, cluster = parse_cluster_options([str(f) for f in args.get("flags", [])])
    return application(replica_spec(opts, cluster, opts.token), cluster)
