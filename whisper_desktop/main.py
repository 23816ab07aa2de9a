"""The `whisper-desktop` command: dispatches to the app, the headless server, or a tool.

This module must not import Qt: `--server-only`, `simulate` and `history` run without it.
"""

from __future__ import annotations

import os
import sys

# Idle OpenMP threads otherwise spin on the CPU between model steps (about 3/4 of two cores
# with two silent captures); must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "simulate":
        from server_core.simulate import main as simulate_main

        return simulate_main(args[1:])
    if args and args[0] == "history":
        from whisper_desktop.history.cli import main as history_main

        return history_main(args[1:])
    if args and args[0] == "cluster":
        from server_core.cluster.main import main as cluster_main

        return cluster_main(args[1:])
    if "--server-only" in args:
        from server_core.serve import main as serve_main

        args.remove("--server-only")
        return serve_main(args)
    from whisper_desktop.app import main as app_main

    return app_main(args)


if __name__ == "__main__":
    sys.exit(main())
