"""Audio captures: the microphone (sounddevice) and the system-audio loopback (soundcard).

A *source* opens a device and hands 16 kHz mono float32 blocks to a sink; it blocks until told to
stop and raises when the device fails. A :class:`CaptureWorker` runs a source on plain threads that
talk to Qt only through signals, and restarts it when the device fails or goes silent-dead, so the
UI never waits on audio hardware. Sources are injected, so tests can replay real audio.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from math import gcd
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
BLOCK_SECONDS = 0.1
DEVICE_CHECK_SECONDS = 1.0
Sink = Callable[[np.ndarray], None]


class DeviceError(RuntimeError):
    """The device is missing, refused to open, or stopped delivering audio."""


# -- resampling --------------------------------------------------------------------------------


class Resampler:
    """Streaming polyphase resampler (windowed-sinc low-pass), chunk-size independent."""

    def __init__(self, src_rate: int, dst_rate: int = SAMPLE_RATE, quality: int = 16) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError("sample rates must be positive")
        g = gcd(int(src_rate), int(dst_rate))
        self.up, self.down = int(dst_rate) // g, int(src_rate) // g
        self.passthrough = self.up == self.down
        self.taps = int(np.ceil(quality * max(1.0, self.down / self.up)))
        n = self.taps * self.up
        fc = 0.5 / max(self.up, self.down) * 0.92  # cycles per upsampled sample
        k = np.arange(n) - (n - 1) / 2
        h = 2 * fc * np.sinc(2 * fc * k) * np.kaiser(n, 8.0) * self.up
        # phases[p, i] = h[p + i * up]: the taps that meet input sample (jmax - i)
        self._phases = h.reshape(self.taps, self.up).T.astype(np.float64)
        self._hist = np.zeros(self.taps - 1, dtype=np.float64)
        self.delay_seconds = (n - 1) / 2 / (src_rate * self.up) if not self.passthrough else 0.0
        self._n_in = 0  # input samples consumed so far
        self._m = 0  # next output index

    def process(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        if self.passthrough or x.size == 0:
            return x
        buf = np.concatenate([self._hist, x.astype(np.float64)])
        last = self._n_in + x.size - 1
        m_end = (last * self.up + self.up - 1) // self.down + 1
        ms = np.arange(self._m, m_end, dtype=np.int64)
        out = np.empty(0, dtype=np.float32)
        if ms.size:
            t = ms * self.down
            jmax = t // self.up
            phase = t % self.up
            local = jmax - (self._n_in - (self.taps - 1))
            idx = local[:, None] - np.arange(self.taps)[None, :]
            out = np.einsum("ij,ij->i", self._phases[phase], buf[idx]).astype(np.float32)
        self._m = int(m_end)
        self._n_in += x.size
        self._hist = buf[-(self.taps - 1) :] if self.taps > 1 else buf[:0]
        return out


def to_mono(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block, dtype=np.float32)
    return block if block.ndim == 1 else block.mean(axis=1)


# -- sources -----------------------------------------------------------------------------------


class AudioSource(Protocol):
    """Blocks in ``run`` feeding 16 kHz mono float32 to ``sink`` until ``stop`` is set."""

    def describe(self) -> str: ...

    def run(self, sink: Sink, stop: threading.Event) -> None: ...


def _match(names: list[str], wanted: str) -> int | None:
    """Index of the exact name, else of the only/first name containing it (case-insensitive)."""
    for i, n in enumerate(names):
        if n == wanted:
            return i
    low = wanted.lower()
    for i, n in enumerate(names):
        if low in n.lower():
            return i
    return None


def _import_sounddevice(rescan: bool = False):
    import sounddevice as sd

    if rescan and hasattr(sd, "_terminate"):
        # PortAudio lists devices once at initialisation; re-initialise to see new ones
        try:
            sd._terminate()
            sd._initialize()
        except Exception as exc:  # pragma: no cover - backend specific
            log.debug("PortAudio re-initialisation failed: %s", exc)
    return sd


class MicSource:
    """The chosen input device (or the default one) through sounddevice/PortAudio."""

    def __init__(self, device: str = "", stall_seconds: float = 3.0) -> None:
        self.device = device
        self.stall_seconds = stall_seconds
        self._attempts = 0
        self._name = device or "default input"

    def describe(self) -> str:
        return self._name

    def _resolve(self, sd) -> int | None:
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

    def run(self, sink: Sink, stop: threading.Event) -> None:
        sd = _import_sounddevice(rescan=True)
        self._attempts += 1
        try:
            device = self._resolve(sd)
            info = (
                sd.query_devices(device, kind="input")
                if device is None
                else sd.query_devices(device)
            )
            channels, rate = 1, SAMPLE_RATE
            try:
                sd.check_input_settings(device=device, channels=1, samplerate=SAMPLE_RATE)
            except Exception:
                rate = int(info["default_samplerate"])
                channels = 1 if int(info["max_input_channels"]) >= 1 else 0
                try:
                    sd.check_input_settings(device=device, channels=1, samplerate=rate)
                except Exception:
                    channels = min(2, int(info["max_input_channels"]))
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

    def __init__(self, speaker: str = "") -> None:
        self.speaker = speaker
        self._name = speaker or "default speaker"

    def describe(self) -> str:
        return self._name

    def run(self, sink: Sink, stop: threading.Event) -> None:
        try:
            import soundcard as sc  # connects to the sound server at import

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
            recorder = mic.recorder(
                samplerate=SAMPLE_RATE, channels=1, blocksize=int(SAMPLE_RATE * BLOCK_SECONDS)
            )
        except DeviceError:
            raise
        except Exception as exc:
            raise DeviceError(f"system audio unavailable: {type(exc).__name__}: {exc}") from exc
        log.info("system audio: loopback of %s (%s)", self._name, mic.name)
        n = int(SAMPLE_RATE * BLOCK_SECONDS)
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
    import soundcard as sc

    return [str(s.name) for s in sc.all_speakers()]


# -- the worker --------------------------------------------------------------------------------


class CaptureState:
    STARTING = "starting"
    RUNNING = "running"
    RETRYING = "retrying"
    STOPPED = "stopped"


class CaptureWorker(QObject):
    """Runs one source on background threads; reports only through signals.

    A supervisor thread starts the source on a runner thread, watches that audio keeps coming,
    and on a failure or a stall reports it and starts over after ``retry_seconds``.
    """

    state_changed = Signal(str, str, str)  # client_id, CaptureState, detail for people
    level = Signal(str, float)  # client_id, RMS of the last blocks (about 5 per second)

    def __init__(
        self,
        client_id: str,
        source: AudioSource,
        sink: Sink,
        retry_seconds: float = 2.0,
        stall_seconds: float = 5.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.client_id = client_id
        self.source = source
        self._sink = sink
        self.retry_seconds = retry_seconds
        self.stall_seconds = stall_seconds
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._attempt = 0
        self._heartbeat = 0.0
        self._got_audio = False
        self._level_acc: list[float] = []
        self._level_at = 0.0
        self.state = CaptureState.STOPPED

    def start(self) -> None:
        if self._supervisor is not None and self._supervisor.is_alive():
            return
        self._stop.clear()
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"capture-{self.client_id}", daemon=True
        )
        self._supervisor.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the threads to stop; a device stuck in a driver call is left behind (daemon)."""
        self._stop.set()
        t = self._supervisor
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        self._supervisor = None

    def is_running(self) -> bool:
        return self._supervisor is not None and self._supervisor.is_alive()

    def _set_state(self, state: str, detail: str) -> None:
        self.state = state
        self.state_changed.emit(self.client_id, state, detail)

    def _supervise(self) -> None:
        while not self._stop.is_set():
            self._attempt += 1
            attempt = self._attempt
            attempt_stop = threading.Event()
            errors: list[BaseException] = []
            self._heartbeat = time.monotonic()
            self._got_audio = False
            self._set_state(CaptureState.STARTING, self.source.describe())

            def sink(chunk: np.ndarray, attempt: int = attempt) -> None:
                if attempt != self._attempt or self._stop.is_set():
                    return  # a runner we gave up on
                self._heartbeat = time.monotonic()
                self._got_audio = True
                self._feed(chunk)

            def runner(attempt_stop: threading.Event = attempt_stop, errors=errors) -> None:
                try:
                    self.source.run(sink, attempt_stop)
                except BaseException as exc:  # reported by the supervisor
                    errors.append(exc)

            thread = threading.Thread(target=runner, name=f"{self.client_id}-audio", daemon=True)
            thread.start()
            running_reported = False
            problem = ""
            while not self._stop.is_set():
                thread.join(0.2)
                if not thread.is_alive():
                    failure = errors[0] if errors else None
                    problem = str(failure) if failure else "the audio stream ended"
                    if failure is not None and not isinstance(failure, DeviceError):
                        log.error("%s capture failed", self.client_id, exc_info=failure)
                    break
                silent_for = time.monotonic() - self._heartbeat
                if silent_for > self.stall_seconds:
                    problem = f"no audio from {self.source.describe()} for {silent_for:.0f} s"
                    break
                if not running_reported and self._got_audio:
                    running_reported = True
                    self._set_state(CaptureState.RUNNING, self.source.describe())
            attempt_stop.set()
            self._attempt += 1  # data from the old runner is dropped from here on
            if self._stop.is_set():
                thread.join(1.0)
                break
            log.warning(
                "%s capture: %s; retrying in %.0f s", self.client_id, problem, self.retry_seconds
            )
            self._set_state(CaptureState.RETRYING, problem)
            self._stop.wait(self.retry_seconds)
        self._set_state(CaptureState.STOPPED, "")

    def _feed(self, chunk: np.ndarray) -> None:
        try:
            self._sink(chunk)
        except Exception as exc:  # the engine side must not kill the capture
            log.debug("%s: sink refused audio: %s", self.client_id, exc)
        now = time.monotonic()
        self._level_acc.append(float(np.sqrt(np.mean(np.square(chunk))) if chunk.size else 0.0))
        if now - self._level_at >= 0.2:
            self.level.emit(self.client_id, max(self._level_acc))
            self._level_acc.clear()
            self._level_at = now
