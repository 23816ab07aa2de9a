"""The engine: one shared Whisper model, many client sessions, one loop that owns them.

Shape (after vLLM's engine core): a single loop thread owns every session and the model.
Other threads never change engine state; they put commands on the loop's queue (open, abort,
reconfigure, stop), which the loop takes between steps: commands, then schedule, run, update.
Audio itself goes through each session's thread-safe inbox.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from server_core.config import (
    DTYPE_OF_PRECISION,
    EngineConfig,
    SessionOptions,
    is_cuda,
    resolve_precision,
)
from server_core.contract import SessionInfo
from server_core.engine.alignatt import AlignAttDecoder
from server_core.engine.device import resolve_device
from server_core.engine.final_pass import FinalPass
from server_core.engine.precision import apply_precision, dtype_name
from server_core.engine.runner import Runner
from server_core.engine.scheduler import Scheduler
from server_core.engine.segmenter import import_silero, one_torch_thread
from server_core.engine.session import Session
from server_core.errors import DuplicateSessionError, EngineError
from server_core.events import CloseReason, Listener, Observer
from server_core.languages import normalize_language
from server_core.models import load_model
from server_core.observers import Observers

log = logging.getLogger(__name__)

IDLE_WAIT = 0.1  # seconds the loop sleeps when nothing is ready and nobody wakes it


def pick_device(device: str) -> str:
    """The torch device for ``device`` (auto, cpu, cuda, cuda:N); ComputeDeviceError if absent."""
    return resolve_device(device)


def use_all_cores(threads: int | None = None) -> int:
    """torch on every CPU core (importing silero_vad silently sets it to one)."""
    n = threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


# ---- commands: what other threads ask of the loop -------------------------------------------


@dataclass
class _Command:
    done: Future = field(default_factory=Future, init=False)


@dataclass
class _Open(_Command):
    session: Session


@dataclass
class _Abort(_Command):
    session: Session


@dataclass
class _Reconfigure(_Command):
    name: str | None
    model: Any  # a loaded whisper model, or None
    language: str | None
    options: SessionOptions | None = None  # new engine-wide task and prompts


@dataclass
class _Stop(_Command):
    flush: bool
    deadline: float


class Engine:
    def __init__(self, config: EngineConfig, progress: Callable[[str], None] | None = None):
        config.validate()
        self.config = config
        self._progress = progress or (lambda msg: log.info("%s", msg))
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False
        self._stopping: _Stop | None = None
        self._sessions: dict[str, Session] = {}  # loop-owned
        self._published: dict[str, Session] = {}  # a copy for other threads, replaced whole
        self._observers = Observers()
        self._runner: Runner | None = None
        self._scheduler = Scheduler(config)
        self._final = FinalPass()
        self._last_tick = time.monotonic()
        self.model_name = config.model
        self.device = pick_device(config.device)  # ComputeDeviceError: before any model loads
        self.precision = resolve_precision(config.precision, self.device)
        self._dtype = DTYPE_OF_PRECISION[self.precision]
        self.steps = 0
        # set to [] to record (served ids, ready ids) of every scheduler decision
        self.step_log: list[tuple[tuple[str, ...], tuple[str, ...]]] | None = None
        self.on_step: Callable[[list[str], float], None] | None = None

    # ---- lifecycle -----------------------------------------------------------------------
    @property
    def language(self) -> str:
        return self.config.decode.language

    @property
    def dtype(self) -> str:
        """What the model computes in: ``float16``, ``float32`` or ``int8`` (linear layers)."""
        return self._dtype

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def model(self):
        return self._runner.decoder.model if self._runner else None

    def _load(self, spec: str):
        model = load_model(spec, device=self.device, progress=self._progress)
        if is_cuda(self.device):  # fp32 matrix products on tensor cores where fp32 is chosen
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        model.eval()
        apply_precision(model, self.precision)
        self._dtype = dtype_name(model, self.precision)
        return model

    def _decoder(self, model) -> AlignAttDecoder:
        return AlignAttDecoder(model, self.config.decode, self.precision)

    def start(self) -> None:
        if self._running:
            return
        import_silero()  # its import sets torch to one thread: have that happen before ours
        self._runner = Runner(self._decoder(self._load(self.config.model)))
        threads = use_all_cores(self.config.threads)
        self._warn_language(self.config.decode.language)
        self._progress(
            f"model {self.model_name} ready on {self.device}, {self.dtype} ({threads} CPU threads)"
        )
        self._running = True
        self._stopping = None
        self._thread = threading.Thread(target=self._loop, name="whisper-engine", daemon=True)
        self._thread.start()

    def stop(self, flush: bool = True, timeout: float = 30.0) -> None:
        """Flush every session (final text, then ClosedEvent) and stop the loop.

        Sessions not flushed within ``timeout`` (or all of them without ``flush``) are closed
        with ``CloseReason.ENGINE_STOPPED``.
        """
        thread = self._thread
        if not self._running or thread is None:
            return
        command = _Stop(flush=flush, deadline=time.monotonic() + timeout)
        self._send(command)
        thread.join(timeout + 5.0)
        if thread.is_alive():
            log.warning("the engine loop did not stop in time")
        self._running = False

    # ---- sessions ------------------------------------------------------------------------
    def open_session(
        self,
        client_id: str,
        listener: Listener,
        *,
        language: str | None = None,
        meta: dict | None = None,
        options: SessionOptions | None = None,
    ) -> Session:
        if language is not None:
            language = normalize_language(language)
        if options is not None:
            options.validate()
        if not self._running or self._stopping is not None:
            raise EngineError("the engine is not running")
        if client_id in self._published:
            raise DuplicateSessionError(client_id)
        # built outside the loop: loading the session's VAD model must not stall it
        session = Session(
            client_id,
            self._observers.wrap(listener),
            self.config.vad,
            self._wakeup.set,
            self._request_abort,
            language=language,
            meta=meta,
            options=options,
            final_pass=self.config.final_pass,
        )
        return self._call(_Open(session))

    def add_observer(self, observer: Observer) -> Callable[[], None]:
        """``observer`` hears every session's events on the loop thread, after the session's
        listener, and an OpenedEvent per new session; returns its remover."""
        return self._observers.add(observer)

    def get_session(self, client_id: str) -> Session | None:
        return self._published.get(client_id)

    def sessions(self) -> list[SessionInfo]:
        return [s.info() for s in list(self._published.values())]

    def _request_abort(self, session: Session) -> None:
        self._send(_Abort(session))

    # ---- configuration -------------------------------------------------------------------
    def _warn_language(self, language: str) -> None:
        runner = self._runner
        if runner and not runner.decoder.multilingual and language not in ("en", "auto"):
            log.warning(
                "model %s is English-only; language %r is ignored, transcribing English",
                self.model_name,
                language,
            )

    def reconfigure(
        self,
        model: str | None = None,
        language: str | None = None,
        options: SessionOptions | None = None,
    ) -> None:
        """Switch model, default language and/or task and prompts without dropping sessions
        (blocking); ``options`` here changes what sessions without their own choice use.

        A new model is loaded here, in the caller's thread; the loop then closes every open
        utterance with the old model and swaps, so no text is lost or mixed.
        """
        if language is not None:
            language = normalize_language(language)
        if options is not None:
            options.validate()
        loaded = None
        if model is not None and model != self.model_name:
            loaded = self._load(model)
        command = _Reconfigure(model if loaded is not None else None, loaded, language, options)
        if self._running:
            self._call(command)
        else:
            self._reconfigure(command)

    # ---- talking to the loop -------------------------------------------------------------
    def _send(self, command: _Command) -> None:
        self._commands.put(command)
        self._wakeup.set()

    def _call(self, command: _Command):
        self._send(command)
        while True:
            try:
                return command.done.result(timeout=1.0)
            except FutureTimeout:
                thread = self._thread
                if thread is None or not thread.is_alive():
                    raise EngineError("the engine is not running") from None

    # ---- the loop ------------------------------------------------------------------------
    def _loop(self) -> None:
        busy = False
        try:
            while True:
                if not busy:
                    self._wakeup.wait(IDLE_WAIT)
                self._wakeup.clear()
                self._take_commands()
                if self._stopping is not None and self._stop_now():
                    break
                try:
                    busy = self._tick()
                except Exception:
                    log.exception("engine step failed")
                    busy = False
                    time.sleep(0.05)
        finally:
            self._finish()

    def _take_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                command.done.set_result(self._apply(command))
            except BaseException as e:
                command.done.set_exception(e)

    def _apply(self, command: _Command) -> Any:
        if isinstance(command, _Open):
            s = command.session
            if self._stopping is not None:
                raise EngineError("the engine is stopping")
            if s.client_id in self._sessions:
                raise DuplicateSessionError(s.client_id)
            assert self._runner is not None
            s.set_context(self._runner.initial_context(s))
            self._sessions[s.client_id] = s
            self._publish()
            log.info("session %s opened", s.client_id)
            self._observers.opened(s.client_id, s.meta)
            return s
        if isinstance(command, _Abort):
            self._close(command.session, CloseReason.ABORTED)
            return None
        if isinstance(command, _Reconfigure):
            return self._reconfigure(command)
        if isinstance(command, _Stop):
            self._stopping = command
            for s in list(self._sessions.values()):
                if command.flush:
                    s.paused = False
                    s.end()
            return None
        raise TypeError(f"unknown command {command!r}")

    def _stop_now(self) -> bool:
        stop = self._stopping
        assert stop is not None
        return not stop.flush or not self._sessions or time.monotonic() > stop.deadline

    def _finish(self) -> None:
        """The loop ends: close what is left, fail what still waits, say we are done."""
        for s in list(self._sessions.values()):
            self._close(s, CloseReason.ENGINE_STOPPED)
        self._running = False
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            if isinstance(command, _Abort):
                command.session.close(CloseReason.ABORTED)
            if not command.done.done():
                command.done.set_exception(EngineError("the engine has stopped"))

    def _publish(self) -> None:
        self._published = dict(self._sessions)

    def _close(self, session: Session, reason: CloseReason) -> None:
        if self._sessions.get(session.client_id) is session:
            del self._sessions[session.client_id]
            self._publish()
            log.info("session %s closed (%s)", session.client_id, reason.value)
        session.close(reason)

    def _tick(self) -> bool:
        """Ingest, schedule, run one step (or, with no session ready, one unit of the final
        pass), close finished sessions; True if either ran."""
        # a paused session (its client away, waiting to resume) takes no engine time
        sessions = [s for s in self._sessions.values() if not s.paused]
        now = time.monotonic()
        tick_seconds, self._last_tick = now - self._last_tick, now
        with one_torch_thread():
            for s in sessions:
                s.ingest(self._scheduler.ingest_budget(s, tick_seconds))
        for s in sessions:
            self._scheduler.apply_lag_policy(s)
        self._final.bound(sessions)
        ready = self._scheduler.ready(sessions)
        ran = False
        if ready:
            batch = self._scheduler.batch(ready, sessions)
            jobs = self._scheduler.jobs(batch)
            if self.step_log is not None:
                self.step_log.append(
                    (tuple(s.client_id for s in batch), tuple(s.client_id for s in ready))
                )
            if jobs:
                assert self._runner is not None
                elapsed = self._runner.run(jobs)
                self.steps += 1
                if self.on_step:
                    self.on_step([job.session.client_id for job in jobs], elapsed)
            ran = True
        elif self._runner is not None and self._final.room(sessions, self.config.decode.min_chunk):
            ran = self._final.step(sessions, self._runner)  # spare compute: one small unit
        for s in sessions:
            if s.finished():
                self._close(s, CloseReason.ENDED)
        return ran

    def _reconfigure(self, command: _Reconfigure) -> None:
        if command.model is not None:
            self._swap_model(command.name or self.model_name, command.model)
        if command.language is not None:
            decode = replace(self.config.decode, language=command.language)
            self._set_config(replace(self.config, decode=decode))
            self._warn_language(command.language)
        if command.options is not None:
            changes = {k: v for k, v in asdict(command.options).items() if v is not None}
            decode = replace(self.config.decode, **changes)
            self._set_config(replace(self.config, decode=decode))
        task = self.config.decode.task
        for s in list(self._sessions.values()):
            s.emitter.notice(
                "config_changed",
                f"now using model {self.model_name}, language {self.language}, task {task}",
            )

    def _set_config(self, config: EngineConfig) -> None:
        self.config = config
        self._scheduler = Scheduler(config)
        if self._runner is not None:
            self._runner.set_options(config.decode)

    def _swap_model(self, name: str, model: Any) -> None:
        runner = self._runner
        if runner is not None:
            for s in list(self._sessions.values()):
                s.ingest()
                s.segmenter.close_utterance()
                while s.has_work():  # close every open utterance with the model that began it
                    job = s.next_job(self._scheduler.max_window)
                    if job is None:
                        break
                    runner.run([job])
            self._final.drain(list(self._sessions.values()), runner)
        self._runner = Runner(self._decoder(model))
        self.model_name = name
        self.config = replace(self.config, model=name)
        use_all_cores(self.config.threads)
        for s in list(self._sessions.values()):
            s.restart(self._runner.initial_context(s))
        log.info("switched to model %s", name)
