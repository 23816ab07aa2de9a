"""The streaming engine: loop (core), scheduler, runner, session, segmenter, AlignAtt."""

from server_core.engine.core import Engine

__all__ = ["Engine"]
