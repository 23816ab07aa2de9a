"""``whisper-desktop cluster``'s flags: the server's (``serve_options``) plus the cluster's."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Optional

from server_core.serve_options import ServeOptions, build_parser, parse_serve_options

RAY_MISSING = "Ray is not installed: pip install 'whisper-desktop[cluster]'"


@dataclass(frozen=True)
class ClusterOptions:
    address: Optional[str]  # None: start a local Ray instance; "auto" or host:port joins one
    replicas: int
    min_replicas: Optional[int]  # both set: autoscale on open sessions per replica
    max_replicas: Optional[int]
    gpus_per_replica: float
    cpus_per_replica: float
    max_sessions_per_replica: int
    num_cpus: Optional[int]  # a local instance's CPUs (default: the machine's)
    drain_timeout: float

    @property
    def autoscaling(self) -> bool:
        return self.min_replicas is not None or self.max_replicas is not None


def build_cluster_parser() -> argparse.ArgumentParser:
    p = build_parser()
    p.prog = "whisper-desktop cluster"
    p.description = (
        "Serve the streaming Whisper server from replicas on a Ray cluster (Ray Serve): the "
        "same routes, protocol, tokens and TLS behind one address."
    )
    g = p.add_argument_group("cluster")
    g.add_argument(
        "--address",
        help="join this Ray cluster ('auto', or HEAD:6379) instead of starting a local one",
    )
    g.add_argument("--replicas", type=int, default=1, help="replicas (default 1)")
    g.add_argument("--min-replicas", type=int, help="autoscale from this many replicas ...")
    g.add_argument("--max-replicas", type=int, help="... to this many, on open sessions")
    g.add_argument(
        "--gpus-per-replica",
        type=float,
        default=0.0,
        help="GPUs each replica reserves; fractions share one (default 0: CPU)",
    )
    g.add_argument(
        "--cpus-per-replica", type=float, default=1.0, help="CPUs each replica reserves (1)"
    )
    g.add_argument(
        "--max-sessions-per-replica",
        type=int,
        help="WebSocket sessions one replica serves (default: --max-clients); a new connection "
        "goes to the less loaded of two replicas, and waits while all are full",
    )
    g.add_argument("--num-cpus", type=int, help="CPUs of a local Ray instance (default: all)")
    g.add_argument(
        "--drain-timeout",
        type=float,
        default=600.0,
        help="a replica removed by scaling down serves its open sessions this long (600 s)",
    )
    return p


def parse_cluster_options(argv: list[str]) -> tuple[ServeOptions, ClusterOptions]:
    """argparse errors exit(2); bad values raise ValueError."""
    parser = build_cluster_parser()
    serve = parse_serve_options(argv, parser=parser)
    a = parser.parse_args(argv)
    if a.replicas < 1:
        raise ValueError("--replicas must be at least 1")
    if (a.min_replicas is None) != (a.max_replicas is None):
        raise ValueError("--min-replicas and --max-replicas go together")
    if a.min_replicas is not None and not 0 <= a.min_replicas <= a.max_replicas:
        raise ValueError("--min-replicas must be between 0 and --max-replicas")
    if a.max_replicas is not None and a.max_replicas < 1:
        raise ValueError("--max-replicas must be at least 1")
    if a.gpus_per_replica < 0 or a.cpus_per_replica < 0:
        raise ValueError("--gpus-per-replica and --cpus-per-replica cannot be negative")
    sessions = a.max_sessions_per_replica or serve.max_clients
    if sessions < 1:
        raise ValueError("--max-sessions-per-replica must be at least 1")
    if a.drain_timeout < 0:
        raise ValueError("--drain-timeout cannot be negative")
    return serve, ClusterOptions(
        address=a.address,
        replicas=a.replicas,
        min_replicas=a.min_replicas,
        max_replicas=a.max_replicas,
        gpus_per_replica=a.gpus_per_replica,
        cpus_per_replica=a.cpus_per_replica,
        max_sessions_per_replica=sessions,
        num_cpus=a.num_cpus,
        drain_timeout=a.drain_timeout,
    )
