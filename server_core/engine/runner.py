"""The runner: one step of the model for a batch of jobs (one encoder call, then each job's
AlignAtt decoder step), applied to the sessions."""

from __future__ import annotations

import logging
import time

from server_core.config import DecodeOptions
from server_core.engine.alignatt import AlignAttDecoder
from server_core.engine.session import Job, Session

log = logging.getLogger(__name__)


class Runner:
    def __init__(self, decoder: AlignAttDecoder) -> None:
        self.decoder = decoder
        self._static = decoder.encode_text(decoder.options.static_prompt)

    @property
    def options(self) -> DecodeOptions:
        return self.decoder.options

    def set_options(self, options: DecodeOptions) -> None:
        self.decoder.options = options
        self._static = self.decoder.encode_text(options.static_prompt)

    def initial_context(self) -> list[int]:
        return self.decoder.encode_text(self.options.init_prompt)

    def run(self, jobs: list[Job]) -> float:
        """Run the jobs; return the seconds it took. A failure costs only its own jobs."""
        t0 = time.perf_counter()
        decoder = self.decoder
        try:
            features = decoder.encode([job.audio for job in jobs])
        except Exception as e:
            log.exception("encoder step failed")
            for job in jobs:
                job.session.drop_pending(f"{type(e).__name__}: {e}")
            return time.perf_counter() - t0
        for i, job in enumerate(jobs):
            s = job.session
            if s.aborted:
                continue
            feats = features[i : i + 1]
            state = job.window.state
            if state.language is None:
                state.language = self._language_for(s, feats)
            try:
                tokenizer = decoder.tokenizer(state.language)
                prompt = decoder.prompt(tokenizer, s.context, self._static)
                result = decoder.step(
                    feats,
                    job.audio.shape[0],
                    tokenizer,
                    prompt,
                    state,
                    final=job.final,
                    full=job.full,
                )
                s.apply(job, result, tokenizer.decode)
            except Exception as e:  # one bad step must not stall the session or the engine
                log.exception("decoder step for %s failed", s.client_id)
                s.drop_pending(f"{type(e).__name__}: {e}")
            keep = self.options.max_context_tokens
            if len(s.context) > 4 * keep:
                del s.context[: len(s.context) - keep]
        return time.perf_counter() - t0

    def _language_for(self, s: Session, features) -> str:
        language = (s.language or self.options.language).lower()
        if not self.decoder.multilingual:
            return "en"
        if language == "auto":
            detected = self.decoder.detect_language(features)
            log.debug("%s: detected language %s", s.client_id, detected)
            return detected
        return language
