"""The `whisper-desktop` command: dispatches to the app, the headless server, or a tool.

This module must not import Qt: `--server-only`, `simulate` and `history` run without it.
"""

from __future__ import annotations

import os
import sys

from server_core.extras import missing_extra_message

# Idle OpenMP threads otherwise spin on the CPU between model steps (about 3/4 of two cores
# with two silent captures); must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _needs(extra: str, what: str) -> bool:
    """True (after one line on stderr) when ``what`` cannot run without ``extra``."""
    message = missing_extra_message(extra, what)
    if message:
        print(f"whisper-desktop: error: {message}", file=sys.stderr)
    return message is not None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args and args[0] in ("simulate", "cluster") else None
    if command and _needs("server", command):
        return 2
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
        if _needs("server", "--server-only"):
            return 2
        from server_core.serve import main as serve_main

        args.remove("--server-only")
        return serve_main(args)
    from whisper_desktop.app import main as app_main

    return app_main(args)


if __name__ == "__main__":
    sys.exit(main())
