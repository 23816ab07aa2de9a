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
