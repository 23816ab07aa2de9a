"""The scheduler: which sessions the next step serves, and the lag policy."""

from __future__ import annotations

from server_core.config import SAMPLE_RATE, EngineConfig
from server_core.engine.session import Job, Session


class Scheduler:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config

    @property
    def max_window(self) -> int:
        return int(self.config.decode.audio_max_len * SAMPLE_RATE)

    def ingest_budget(self, s: Session, tick_seconds: float) -> int | None:
        """How much of its backlog a session's VAD may take this turn (None: all of it).

        Twice the time since the last turn, and at least the half window a step slides by: a
        real-time session always gets all its audio in, a backlog is decoded in full steps,
        and a client that uploads far faster than real time costs the others little VAD time
        per turn. A session over the lag bound takes everything, so that the skip policy sees
        its whole backlog at once."""
        cfg = self.config
        if cfg.lag_policy == "skip" and s.lag > cfg.max_lag:
            return None
        return int(max(cfg.decode.audio_max_len / 2, 2 * tick_seconds) * SAMPLE_RATE)

    def apply_lag_policy(self, s: Session) -> None:
        cfg = self.config
        if cfg.lag_policy != "skip" or s.ending:
            return
        if s.lag > cfg.max_lag:
            keep = int(min(cfg.max_lag / 2, cfg.decode.audio_max_len) * SAMPLE_RATE)
            s.skip_backlog(keep)

    def ready(self, sessions: list[Session]) -> list[Session]:
        """Ready sessions, the one that has waited longest first."""
        min_samples = int(self.config.decode.min_chunk * SAMPLE_RATE)
        ready = [s for s in sessions if not s.aborted and s.ready(min_samples, self.max_window)]
        ready.sort(key=lambda s: s.pending_since())
        return ready

    def batch(self, ready: list[Session], sessions: list[Session]) -> list[Session]:
        """The ready sessions, joined by those at least half-way to ready.

        The step costs little more for them, and they come back in step with the others
        next time, so sessions that speak at once share their steps instead of taking turns.
        """
        size = max(1, self.config.max_batch)
        batch = ready[:size]
        if batch and len(batch) < size:
            half = int(self.config.decode.min_chunk * SAMPLE_RATE / 2)
            chosen = {id(s) for s in batch}
            almost = [
                s
                for s in sessions
                if id(s) not in chosen and not s.aborted and s.ready(half, self.max_window)
            ]
            almost.sort(key=lambda s: s.pending_since())
            batch += almost[: size - len(batch)]
        return batch

    def jobs(self, batch: list[Session]) -> list[Job]:
        return [job for s in batch if (job := s.next_job(self.max_window))]
