"""The engine: one shared Whisper model, many client sessions, one scheduler thread.

Shape (after vLLM): per-client `Session` state, a scheduler that picks the ready sessions with
the oldest pending audio, and a runner that executes one batched step for them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from server_core.alignatt import AlignAttDecoder
from server_core.config import SAMPLE_RATE, EngineConfig
from server_core.events import Listener, NoticeEvent
from server_core.session import Job, Session, SessionClosedError, SessionInfo
from server_core.vad import import_silero

log = logging.getLogger(__name__)

__all__ = ["Engine", "DuplicateSessionError", "SessionClosedError", "EngineError"]


class DuplicateSessionError(KeyError):
    def __str__(self) -> str:
        return f"client_id {self.args[0]!r} is already connected"


class EngineError(RuntimeError):
    pass


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def use_all_cores(threads: int | None = None) -> int:
    """torch on every CPU core (importing silero_vad silently sets it to one)."""
    n = threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


class Engine:
    def __init__(self, config: EngineConfig, progress: Callable[[str], None] | None = None):
        config.decode.validate()
        self.config = config
        self._progress = progress or (lambda msg: log.info("%s", msg))
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._dirty = False
        self._thread: threading.Thread | None = None
        self._running = False
        self._decoder: AlignAttDecoder | None = None
        self._pending_model: tuple[str, object] | None = None
        self._swap_done = threading.Event()
        self.model_name = config.model
        self.device = pick_device(config.device)
        self.steps = 0
        # set to [] to record (served ids, ready ids) of every scheduler decision
        self.step_log: list[tuple[tuple[str, ...], tuple[str, ...]]] | None = None
        self.on_step: Callable[[list[str], float], None] | None = None

    # ---- lifecycle -----------------------------------------------------------------------
    @property
    def language(self) -> str:
        return self.config.decode.language

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def model(self):
        return self._decoder.model if self._decoder else None

    def _load(self, spec: str):
        from server_core.models import load_model

        model = load_model(spec, device=self.device, progress=self._progress)
        if self.device == "cuda":  # whisper keeps fp32 weights (its LayerNorm needs them)
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        model.eval()
        return model

    def start(self) -> None:
        if self._running:
            return
        import_silero()  # its import sets torch to one thread: have that happen before ours
        self._decoder = AlignAttDecoder(self._load(self.config.model), self.config.decode)
        threads = use_all_cores(self.config.threads)
        self._warn_language(self.config.decode.language)
        self._progress(f"model {self.model_name} ready on {self.device} ({threads} CPU threads)")
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="whisper-engine", daemon=True)
        self._thread.start()

    def stop(self, flush: bool = True, timeout: float = 30.0) -> None:
        """Flush every session (final text + ClosedEvent), then stop the scheduler thread."""
        if not self._running:
            return
        for s in list(self._sessions.values()):
            if flush:
                s.end()
            else:
                s.abort()
        deadline = time.monotonic() + timeout
        while flush and self._sessions and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            self._running = False
            self._wakeup.notify_all()
        if self._thread:
            self._thread.join(timeout=max(0.1, deadline - time.monotonic()))
        for s in list(self._sessions.values()):
            s.abort()
        self._sessions.clear()

    # ---- sessions ------------------------------------------------------------------------
    def open_session(
        self,
        client_id: str,
        listener: Listener,
        *,
        language: str | None = None,
        meta: dict | None = None,
    ) -> Session:
        if language is not None:
            self._check_language(language)
        if client_id in self._sessions:
            raise DuplicateSessionError(client_id)
        # built outside the lock: loading the session's VAD model must not stall the scheduler
        session = Session(
            client_id, listener, self.config.vad, self._wake, language=language, meta=meta
        )
        session.context = self._initial_context()
        with self._lock:
            if client_id in self._sessions:
                raise DuplicateSessionError(client_id)
            self._sessions[client_id] = session
        log.info("session %s opened", client_id)
        return session

    def get_session(self, client_id: str) -> Session | None:
        return self._sessions.get(client_id)

    def sessions(self) -> list[SessionInfo]:
        return [s.info() for s in list(self._sessions.values())]

    def _wake(self) -> None:
        with self._lock:
            self._dirty = True
            self._wakeup.notify()

    def _initial_context(self) -> list[int]:
        if self._decoder is None:
            return []
        return self._decoder.encode_text(self.config.decode.init_prompt)

    def _static_prompt(self) -> list[int]:
        if self._decoder is None:
            return []
        return self._decoder.encode_text(self.config.decode.static_prompt)

    # ---- configuration -------------------------------------------------------------------
    def _check_language(self, language: str) -> None:
        from whisper.tokenizer import LANGUAGES, TO_LANGUAGE_CODE

        code = language.lower()
        if code != "auto" and code not in LANGUAGES and code not in TO_LANGUAGE_CODE:
            raise ValueError(
                f"unknown language {language!r}: use 'auto' or a Whisper language code "
                f"such as de, en, fr"
            )

    def _warn_language(self, language: str) -> None:
        if self._decoder and not self._decoder.multilingual and language not in ("en", "auto"):
            log.warning(
                "model %s is English-only; language %r is ignored, transcribing English",
                self.model_name,
                language,
            )

    def reconfigure(self, model: str | None = None, language: str | None = None) -> None:
        """Switch model and/or default language without dropping sessions.

        A new model is loaded here (in the caller's thread); the scheduler then closes every
        open utterance with the old model and swaps, so no text is lost or mixed.
        """
        if language is not None:
            self._check_language(language)
        if model is not None and model != self.model_name:
            loaded = self._load(model)
            self._swap_done.clear()
            with self._lock:
                self._pending_model = (model, loaded)
                self._dirty = True
                self._wakeup.notify()
            if self._running:
                self._swap_done.wait(timeout=120)
            else:
                self._swap_model()
        if language is not None:
            self.config.decode = replace(self.config.decode, language=language.lower())
            if self._decoder:
                self._decoder.options = self.config.decode
            self._warn_language(language)
        for s in list(self._sessions.values()):
            s.emit(
                NoticeEvent(
                    s.client_id,
                    "config_changed",
                    f"now using model {self.model_name}, language {self.language}",
                )
            )

    def _swap_model(self) -> None:
        pending, self._pending_model = self._pending_model, None
        if pending is None:
            return
        name, model = pending
        for s in list(self._sessions.values()):
            s.ingest()
            s.close_utterance()
            while s.has_work():  # close every open utterance with the model that began it
                job = s.next_job(self._max_window())
                if job is None:
                    break
                self._run([job])
        self._decoder = AlignAttDecoder(model, self.config.decode)
        self.model_name = name
        use_all_cores(self.config.threads)
        for s in list(self._sessions.values()):
            s.restart(self._initial_context())
        self._swap_done.set()
        log.info("switched to model %s", name)

    # ---- scheduler -----------------------------------------------------------------------
    def _max_window(self) -> int:
        return int(self.config.decode.audio_max_len * SAMPLE_RATE)

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._running:
                    return
                if not self._dirty:
                    self._wakeup.wait(timeout=0.1)
                self._dirty = False
            try:
                if self._pending_model is not None:
                    self._swap_model()
                self._tick()
            except Exception:
                log.exception("engine step failed")
                time.sleep(0.05)

    def _tick(self) -> None:
        sessions = list(self._sessions.values())
        for s in sessions:
            if s.aborted:
                self._forget(s)
                continue
            s.ingest()
            self._apply_lag_policy(s)
        min_samples = int(self.config.decode.min_chunk * SAMPLE_RATE)
        max_samples = self._max_window()
        ready = [s for s in sessions if not s.aborted and s.ready(min_samples, max_samples)]
        if ready:
            ready.sort(key=lambda s: s.pending_since())
            batch = ready[: max(1, self.config.max_batch)]
            jobs = [job for s in batch if (job := s.next_job(self._max_window()))]
            if self.step_log is not None:
                self.step_log.append(
                    (tuple(s.client_id for s in batch), tuple(s.client_id for s in ready))
                )
            self._run(jobs)
            with self._lock:
                self._dirty = True  # look again at once: more may be ready
        for s in sessions:
            if not s.aborted and s.finished():
                s.mark_closed()
                self._forget(s)

    def _forget(self, session: Session) -> None:
        with self._lock:
            if self._sessions.get(session.client_id) is session:
                del self._sessions[session.client_id]
                log.info("session %s closed", session.client_id)

    def _apply_lag_policy(self, s: Session) -> None:
        if self.config.lag_policy != "skip" or s.ending:
            return
        if s.lag > self.config.max_lag:
            keep = int(min(self.config.max_lag / 2, self.config.decode.audio_max_len) * SAMPLE_RATE)
            s.skip_backlog(keep)

    # ---- runner --------------------------------------------------------------------------
    def _run(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        decoder = self._decoder
        assert decoder is not None
        t0 = time.perf_counter()
        try:
            features = decoder.encode([job.audio for job in jobs])
        except Exception as e:
            log.exception("encoder step failed")
            for job in jobs:
                job.session.drop_pending(f"{type(e).__name__}: {e}")
            return
        static = self._static_prompt()
        for i, job in enumerate(jobs):
            s = job.session
            if s.aborted:
                continue
            feats = features[i : i + 1]
            window = job.buffer.window
            if window.language is None:
                window.language = self._language_for(s, feats)
            try:
                tokenizer = decoder.tokenizer(window.language)
                prompt = decoder.prompt(tokenizer, s.context, static)
                result = decoder.step(
                    feats,
                    job.audio.shape[0],
                    tokenizer,
                    prompt,
                    window,
                    final=job.final,
                    full=job.full,
                )
                s.apply(job, result, tokenizer.decode)
            except Exception as e:  # one bad step must not stall the session or the engine
                log.exception("decoder step for %s failed", s.client_id)
                s.drop_pending(f"{type(e).__name__}: {e}")
            keep = self.config.decode.max_context_tokens
            if len(s.context) > 4 * keep:
                del s.context[: len(s.context) - keep]
        elapsed = time.perf_counter() - t0
        self.steps += 1
        ids = [job.session.client_id for job in jobs]
        if self.on_step:
            self.on_step(ids, elapsed)

    def _language_for(self, s: Session, features) -> str:
        language = (s.language or self.config.decode.language).lower()
        if self._decoder is None or not self._decoder.multilingual:
            return "en"
        if language == "auto":
            detected = self._decoder.detect_language(features)
            log.debug("%s: detected language %s", s.client_id, detected)
            return detected
        return language
