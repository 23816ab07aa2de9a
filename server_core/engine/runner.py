"""The runner: one step of the model for a batch of jobs (the encoder over every job's window,
then one batched AlignAtt decoding pass), applied to the sessions."""

from __future__ import annotations

import logging
import time

from server_core.config import DecodeOptions
from server_core.engine.alignatt import AlignAttDecoder, StepRequest
from server_core.engine.encoder import Encoder
from server_core.engine.precision import ENCODER_AUTOCAST
from server_core.engine.session import Job, Session

log = logging.getLogger(__name__)


class Runner:
    def __init__(self, decoder: AlignAttDecoder) -> None:
        self.decoder = decoder
        self.set_options(decoder.options)

    @property
    def options(self) -> DecodeOptions:
        return self.decoder.options

    def set_options(self, options: DecodeOptions) -> None:
        self.decoder.options = options
        self.encoder = Encoder(
            self.decoder.model,
            options.encoder_pad,
            options.encoder_bucket,
            options.encoder_tail,
            autocast=ENCODER_AUTOCAST.get(self.decoder.precision),
        )
        self._texts: dict[str, list[int]] = {}

    def _encoded(self, text: str) -> list[int]:
        tokens = self._texts.get(text)
        if tokens is None:
            if len(self._texts) > 256:
                self._texts.clear()
            tokens = self._texts[text] = self.decoder.encode_text(text)
        return tokens

    def initial_context(self, session: Session | None = None) -> list[int]:
        own = session.options.init_prompt if session is not None else None
        return list(self._encoded(self.options.init_prompt if own is None else own))

    def static_tokens(self, session: Session) -> list[int]:
        own = session.options.static_prompt
        return self._encoded(self.options.static_prompt if own is None else own)

    def run(self, jobs: list[Job]) -> float:
        """Run the jobs; return the seconds it took. A failure costs only its own jobs."""
        t0 = time.perf_counter()
        try:
            features = self.encoder.encode([job.audio for job in jobs])
        except Exception as e:
            log.exception("encoder step failed")
            for job in jobs:
                job.session.drop_pending(f"{type(e).__name__}: {e}")
            return time.perf_counter() - t0
        live = [(job, f) for job, f in zip(jobs, features, strict=True) if not job.session.aborted]
        if not live:  # every session of the step was aborted while its audio was encoded
            return time.perf_counter() - t0
        requests = []
        for job, feats in live:
            state = job.window.state
            if state.language is None:
                state.language = self._language_for(job.session, feats)
            tokenizer = self.decoder.tokenizer(state.language, job.session.options.task)
            static = self.static_tokens(job.session)
            prompt = self.decoder.prompt(tokenizer, job.session.context, static)
            beams = job.session.options.beams or self.options.beams
            requests.append(
                StepRequest(
                    feats,
                    job.audio.shape[0],
                    tokenizer,
                    prompt,
                    state,
                    job.final,
                    job.full,
                    beams,
                    loop_context=job.session.loop_memory,
                )
            )
        try:
            results = self.decoder.steps(requests)
        except Exception:  # find the row that fails, so the others still get their text
            log.exception("batched decoder step failed; decoding its rows one by one")
            results = [self._alone(job, r) for (job, _), r in zip(live, requests, strict=True)]
        for (job, _), request, result in zip(live, requests, results, strict=True):
            if result is not None:
                job.session.apply(job, result, request.tokenizer.decode, self.options)
            self._trim_context(job.session)
        return time.perf_counter() - t0

    def _alone(self, job: Job, request: StepRequest):
        try:
            return self.decoder.steps([request])[0]
        except Exception as e:  # one bad step must not stall the session or the engine
            log.exception("decoder step for %s failed", job.session.client_id)
            job.session.drop_pending(f"{type(e).__name__}: {e}")
            return None

    def _trim_context(self, s: Session) -> None:
        keep = self.options.max_context_tokens
        if len(s.context) > 4 * keep:
            del s.context[: len(s.context) - keep]

    def _language_for(self, s: Session, features) -> str:
        language = (s.language or self.options.language).lower()
        if not self.decoder.multilingual:
            return "en"
        if language == "auto":
            detected = self.decoder.detect_language(features)
            log.debug("%s: detected language %s", s.client_id, detected)
            return detected
        return language
