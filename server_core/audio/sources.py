"""Live audio sources without Qt: the microphone (sounddevice) and the system-audio loopback
(soundcard), and :class:`Capture`, which keeps one running on background threads.

A *source* opens a device and hands 16 kHz mono float32 blocks to a sink; it blocks until told
to stop and raises :class:`DeviceError` when the device fails. The desktop app and the example
client both use these; the desktop turns :class:`Capture`'s callbacks into Qt signals.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Optional, Protocol

import numpy as np

from server_core.audio.resample import Resampler, to_mono
from server_core.config import SAMPLE_RATE

log = logging.getLogger(__name__)

BLOCK_SECONDS = 0.1
DEVICE_CHECK_SECONDS = 1.0
Sink = Callable[[np.ndarray], None]


def mic_hint(exc: BaseException) -> str:
    """What to install when ``import sounddevice`` failed with ``exc``: the package or PortAudio."""
    if isinstance(exc, ModuleNotFoundError) and exc.name == "sounddevice":
        return "the sounddevice package is not installed: pip install sounddevice"
    if isinstance(exc, OSError):  # sounddevice's "PortAudio library not found"
        return "the PortAudio library is missing: apt install libportaudio2 (Debian/Ubuntu)"
    return "sounddevice could not load: pip install --force-reinstall sounddevice"


def loopback_hint(exc: BaseException) -> str:
    """What is missing when ``import soundcard`` (which connects to the sound server) failed."""
    if isinstance(exc, ModuleNotFoundError) and exc.name == "soundcard":
        return "the soundcard package is not installed: pip install soundcard"
    if isinstance(exc, OSError) and "pulse" in str(exc).lower():  # cffi could not open libpulse
        return "the PulseAudio client library is missing: apt install libpulse0 (Debian/Ubuntu)"
    return "no PulseAudio or PipeWire sound server answers: start one (pipewire-pulse, pulseaudio)"


class DeviceError(RuntimeError):
    """The device is missing, refused to open, or stopped delivering audio."""


class AudioSource(Protocol):
    """Blocks in ``run`` feeding 16 kHz mono float32 to ``sink`` until ``stop`` is set."""

    def describe(self) -> str: ...

    def run(self, sink: Sink, stop: threading.Event) -> None: ...


def _match(names: list[str], wanted: str) -> Optional[int]:
    """Index of the exact name, else of the first name containing it (case-insensitive)."""
    for i, n in enumerate(names):
        if n == wanted:
            return i
    low = wanted.lower()
    for i, n in enumerate(names):
        if low in n.lower():
            return i
    return None


def _import_sounddevice(rescan: bool = False):
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        raise DeviceError(f"microphone unavailable: {exc} ({mic_hint(exc)})") from None
    if rescan and hasattr(sd, "_terminate"):
        # PortAudio lists devices once at initialisation; re-initialise to see new ones
        try:
            sd._terminate()
            sd._initialize()
        except Exception as exc:  # pragma: no cover - backend specific
            log.debug("PortAudio re-initialisation failed: %s", exc)
    return sd


def _import_soundcard():
    try:
        import soundcard as sc  # connects to the sound server at import
    except Exception as exc:
        raise DeviceError(
            f"system audio unavailable: {type(exc).__name__}: {exc} ({loopback_hint(exc)})"
        ) from None
    return sc


class MicSource:
    """The chosen input device (or the default one) through sounddevice/PortAudio."""

    def __init__(self, device: str = "", stall_seconds: float = 3.0) -> None:
        self.device = device
        self.stall_seconds = stall_seconds
        self._name = device or "default input"

    def describe(self) -> str:
        return self._name

    def _resolve(self, sd) -> Optional[int]:
        if not self.device:
            info = sd.query_devices(kind="input")  # raises when there is no input at all
            self._name = str(info["name"])
            return None
        devices = [d for d in sd.query_devices() if d["max_input_channels"] > 0]
        i = _match([str(d["name"]) for d in devices], self.device)
        if i is None:
            raise DeviceError(f"microphone {self.device!r} is not connected")
        self._name = str(devices[i]["name"])
        return int(devices[i]["index"])

    def _settings(self, sd, device: Optional[int]) -> tuple[int, int]:
        """(channels, rate): 16 kHz mono when the device takes it, else its own rate."""
        info = (
            sd.query_devices(device, kind="input") if device is None else sd.query_devices(device)
        )
        try:
            sd.check_input_settings(device=device, channels=1, samplerate=SAMPLE_RATE)
            return 1, SAMPLE_RATE
        except Exception:
            rate = int(info["default_samplerate"])
        try:
            sd.check_input_settings(device=device, channels=1, samplerate=rate)
            return 1, rate
        except Exception:
            return min(2, int(info["max_input_channels"])), rate

    def run(self, sink: Sink, stop: threading.Event) -> None:
        sd = _import_sounddevice(rescan=True)
        try:
            device = self._resolve(sd)
            channels, rate = self._settings(sd, device)
            if channels <= 0:
                raise DeviceError(f"{self._name} has no input channels")
        except DeviceError:
            raise
        except Exception as exc:
            raise DeviceError(f"microphone unavailable: {exc}") from exc

        blocks: queue.Queue[np.ndarray] = queue.Queue(maxsize=200)

        def callback(indata, frames, time_info, status) -> None:  # PortAudio's thread: no work
            try:
                blocks.put_nowait(indata.copy())
            except queue.Full:
                pass

        resampler = Resampler(rate, SAMPLE_RATE)
        try:
            stream = sd.InputStream(
                device=device,
                channels=channels,
                samplerate=rate,
                dtype="float32",
                blocksize=int(rate * BLOCK_SECONDS),
                callback=callback,
            )
        except Exception as exc:
            raise DeviceError(f"could not open {self._name}: {exc}") from exc
        log.info("microphone: %s at %d Hz, %d channel(s)", self._name, rate, channels)
        with stream:
            last = time.monotonic()
            while not stop.is_set():
                try:
                    block = blocks.get(timeout=0.2)
                except queue.Empty:
                    if not stream.active or time.monotonic() - last > self.stall_seconds:
                        raise DeviceError(f"{self._name} stopped delivering audio") from None
                    continue
                last = time.monotonic()
                out = resampler.process(to_mono(block))
                if out.size:
                    sink(out)


class LoopbackSource:
    """What a speaker plays, recorded from its monitor through soundcard."""

    def __init__(self, speaker: str = "", block_seconds: float = BLOCK_SECONDS) -> None:
        self.speaker = speaker
        # short blocks when an echo canceller waits for this audio as its reference
        self.block_seconds = block_seconds
        self._name = speaker or "default speaker"

    def describe(self) -> str:
        return self._name

    def run(self, sink: Sink, stop: threading.Event) -> None:
        sc = _import_soundcard()
        try:
            if self.speaker:
                speakers = sc.all_speakers()
                i = _match([str(s.name) for s in speakers], self.speaker)
                if i is None:
                    raise DeviceError(f"speaker {self.speaker!r} is not connected")
                spk = speakers[i]
            else:
                spk = sc.default_speaker()
            self._name = str(spk.name)
            mic = sc.get_microphone(id=str(spk.name), include_loopback=True)
            n = int(SAMPLE_RATE * self.block_seconds)
            recorder = mic.recorder(samplerate=SAMPLE_RATE, channels=1, blocksize=n)
        except DeviceError:
            raise
        except Exception as exc:
            raise DeviceError(f"system audio unavailable: {type(exc).__name__}: {exc}") from exc
        log.info("system audio: loopback of %s (%s)", self._name, mic.name)
        checked = time.monotonic()
        with recorder as rec:
            while not stop.is_set():
                data = rec.record(numframes=n)
                if data.size:
                    sink(to_mono(data))
                if time.monotonic() - checked > DEVICE_CHECK_SECONDS:
                    checked = time.monotonic()
                    self._check_still_there(sc)

    def _check_still_there(self, sc) -> None:
        """The sound server moves a stream elsewhere when its device goes; notice that."""
        if self.speaker:
            if self._name not in [str(s.name) for s in sc.all_speakers()]:
                raise DeviceError(f"speaker {self._name!r} disappeared")
        elif str(sc.default_speaker().name) != self._name:
            raise DeviceError(f"the default speaker is no longer {self._name!r}")


def list_input_devices() -> list[str]:
    sd = _import_sounddevice()
    return [str(d["name"]) for d in sd.query_devices() if d["max_input_channels"] > 0]


def list_speakers() -> list[str]:
    return [str(s.name) for s in _import_soundcard().all_speakers()]


# -- keeping a source running --------------------------------------------------------------------


class CaptureState(str, Enum):
    STARTING = "starting"
    RUNNING = "running"
    RETRYING = "retrying"
    FAILED = "failed"  # failed and retry is off
    STOPPED = "stopped"


StateCallback = Callable[[CaptureState, str], None]
LevelCallback = Callable[[float], None]


class Capture:
    """Runs one source on background threads and reports through callbacks (called from
    those threads).

    A supervisor thread starts the source on a runner thread and watches that audio keeps
    coming. On a failure or a stall it reports it and, with ``retry``, starts over after
    ``retry_seconds``; without, it ends in ``FAILED``.
    """

    LEVEL_SECONDS = 0.2

    def __init__(
        self,
        source: AudioSource,
        sink: Sink,
        on_state: Optional[StateCallback] = None,
        on_level: Optional[LevelCallback] = None,
        retry: bool = True,
        retry_seconds: float = 2.0,
        stall_seconds: float = 5.0,
        name: str = "capture",
    ) -> None:
        self.source = source
        self._sink = sink
        self._on_state = on_state or (lambda state, detail: None)
        self._on_level = on_level or (lambda rms: None)
        self.retry = retry
        self.retry_seconds = retry_seconds
        self.stall_seconds = stall_seconds
        self.name = name
        self._stop = threading.Event()
        self._supervisor: Optional[threading.Thread] = None
        self._attempt = 0
        self._heartbeat = 0.0
        self._got_audio = False
        self._levels: list[float] = []
        self._level_at = 0.0
        self.state = CaptureState.STOPPED
        self.problem = ""
        self._logged_problem = ""  # a problem that stays is logged once, not every retry

    def start(self) -> None:
        if self._supervisor is not None and self._supervisor.is_alive():
            return
        self._stop.clear()
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"capture-{self.name}", daemon=True
        )
        self._supervisor.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the threads to stop; a device stuck in a driver call is left behind (daemon)."""
        self._stop.set()
        t = self._supervisor
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    def is_running(self) -> bool:
        return self._supervisor is not None and self._supervisor.is_alive()

    def _set_state(self, state: CaptureState, detail: str) -> None:
        self.state = state
        self._on_state(state, detail)

    def _supervise(self) -> None:
        final = CaptureState.STOPPED
        while not self._stop.is_set():
            problem = self._attempt_once()
            if self._stop.is_set():
                break
            self.problem = problem
            if not self.retry:
                log.warning("%s capture: %s", self.name, problem)
                final = CaptureState.FAILED
                break
            level = logging.DEBUG if problem == self._logged_problem else logging.WARNING
            self._logged_problem = problem
            log.log(
                level,
                "%s capture: %s; retrying every %.0f s",
                self.name,
                problem,
                self.retry_seconds,
            )
            self._set_state(CaptureState.RETRYING, problem)
            self._stop.wait(self.retry_seconds)
        self._set_state(final, self.problem if final is CaptureState.FAILED else "")

    def _attempt_once(self) -> str:
        """Run the source until it fails, stalls or we stop; return what went wrong."""
        self._attempt += 1
        attempt = self._attempt
        attempt_stop = threading.Event()
        errors: list[BaseException] = []
        self._heartbeat = time.monotonic()
        self._got_audio = False
        self._set_state(CaptureState.STARTING, self.source.describe())

        def sink(chunk: np.ndarray) -> None:
            if attempt != self._attempt or self._stop.is_set():
                return  # a runner we gave up on
            self._heartbeat = time.monotonic()
            self._got_audio = True
            self._feed(chunk)

        def runner() -> None:
            try:
                self.source.run(sink, attempt_stop)
            except BaseException as exc:  # reported by the supervisor
                errors.append(exc)

        thread = threading.Thread(target=runner, name=f"{self.name}-audio", daemon=True)
        thread.start()
        running_reported = False
        problem = ""
        while not self._stop.is_set():
            thread.join(0.2)
            if not thread.is_alive():
                failure = errors[0] if errors else None
                problem = str(failure) if failure else "the audio stream ended"
                if failure is not None and not isinstance(failure, DeviceError):
                    log.error("%s capture failed", self.name, exc_info=failure)
                break
            silent_for = time.monotonic() - self._heartbeat
            if silent_for > self.stall_seconds:
                problem = f"no audio from {self.source.describe()} for {silent_for:.0f} s"
                break
            if not running_reported and self._got_audio:
                running_reported = True
                self._logged_problem = ""
                self._set_state(CaptureState.RUNNING, self.source.describe())
        attempt_stop.set()
        self._attempt += 1  # data from the old runner is dropped from here on
        if self._stop.is_set():
            thread.join(1.0)
        return problem

    def _feed(self, chunk: np.ndarray) -> None:
        try:
            self._sink(chunk)
        except Exception as exc:  # the engine side must not kill the capture
            log.debug("%s: sink refused audio: %s", self.name, exc)
        now = time.monotonic()
        self._levels.append(float(np.sqrt(np.mean(np.square(chunk))) if chunk.size else 0.0))
        if now - self._level_at >= self.LEVEL_SECONDS:
            self._on_level(max(self._levels))
            self._levels.clear()
            self._level_at = now
