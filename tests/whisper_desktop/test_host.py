"""The engine host: one worker on one QThread, requests in order, closes learnt from ClosedEvent."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from server_core.events import CloseReason
from tests.support.fake_engine import FakeEngine
from tests.support.fake_server import FakeServer
from whisper_desktop.host import EngineHost, HostConfig, HostState

SR = 16000
CONFIG = HostConfig(model="fake", language="en", port=9556)


@pytest.fixture()
def host(qtbot):
    """A started host with the fake engine and a fake server; shut down after. ``host.calls``
    notes the thread of every call the host makes into them."""
    calls: list[tuple[str, int]] = []
    engines: list[FakeEngine] = []
    FakeServer.started = []

    def factory(config, progress):
        calls.append(("factory", threading.get_ident()))
        engines.append(FakeEngine(progress=progress))
        engines[-1].calls = calls  # the engine's calls go to the same list
        return engines[-1]

    def server_factory(engine, config):
        calls.append(("server", threading.get_ident()))
        return FakeServer(engine, config)

    h = EngineHost(engine_factory=factory, server_factory=server_factory, poll_seconds=0.1)
    h.calls, h.engines = calls, engines
    closed: list[str] = []
    opened: list[tuple[str, bool]] = []
    h.session_closed.connect(closed.append)
    h.session_opened.connect(lambda cid, local: opened.append((cid, local)))
    h.closed_ids, h.opened_ids = closed, opened
    h.start(CONFIG)
    qtbot.waitUntil(lambda: h.state == HostState.READY, timeout=5000)
    yield h
    if h.state != HostState.STOPPED:
        with qtbot.waitSignal(h.stopped, timeout=6000):
            h.shutdown(2.0)


def test_every_request_runs_on_one_worker_thread(qtbot, host) -> None:
    host.open_local("user")
    qtbot.waitUntil(lambda: ("user", True) in host.opened_ids, timeout=3000)
    with qtbot.waitSignal(host.reconfigured, timeout=3000) as sig:
        host.reconfigure("other", "de")
    assert sig.args == ["other", "de"] and (host.model, host.language) == ("other", "de")
    qtbot.waitUntil(lambda: any(what == "sessions" for what, _ in host.calls), timeout=3000)
    with qtbot.waitSignal(host.stopped, timeout=6000):
        host.shutdown(2.0)
    worker_thread = host.worker.thread()
    assert not worker_thread.isRunning()  # the host ended its thread
    whats = {what for what, _ in host.calls}
    assert {"factory", "start", "server", "open_session", "reconfigure", "stop"} <= whats
    threads = {ident for _, ident in host.calls}
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_the_host_knows_where_the_engine_runs(qtbot, host) -> None:
    assert (host.device, host.dtype) == ("cpu", "float32")  # what the (fake) engine reports


def test_the_engine_is_made_for_the_configured_device() -> None:
    from server_core.errors import ComputeDeviceError
    from whisper_desktop.host import default_engine_factory

    engine = default_engine_factory(HostConfig("tiny.en", "en", device="cpu"), print)
    from server_core.config import cpu_has_bf16

    dtype = "bfloat16" if cpu_has_bf16() else "float32"  # the encoder's, where the CPU has it
    assert (engine.device, engine.dtype, engine.model_name) == ("cpu", dtype, "tiny.en")
    if not torch.cuda.is_available():  # a GPU that is not there: one line for the host's error
        with pytest.raises(ComputeDeviceError, match="CUDA is not available"):
            default_engine_factory(HostConfig("tiny.en", "en", device="cuda"), print)


def test_an_aborted_remote_session_is_closed_by_its_event(qtbot, host) -> None:
    server = FakeServer.started[-1]
    got: list = []
    session = server.engine.open_session("phone-1", got.append, meta={"peer": "192.0.2.9"})
    qtbot.waitUntil(lambda: ("phone-1", False) in host.opened_ids, timeout=3000)
    with qtbot.waitSignal(host.session_closed, timeout=3000) as sig:
        session.abort()
    assert sig.args == ["phone-1"]
    assert [e.reason for e in got] == [CloseReason.ABORTED]  # the WS listener heard it too


def test_a_reopened_local_session_waits_for_the_last_one_without_blocking(qtbot, host) -> None:
    host.open_local("user")
    qtbot.waitUntil(lambda: ("user", True) in host.opened_ids, timeout=3000)
    host.feed("user", np.zeros(SR, np.float32))
    engine = host.engines[0]
    engine.later(lambda: time.sleep(1.0))  # the engine is busy: the flush comes late
    texts: list[str] = []
    host.transcript.connect(lambda ev: texts.append(ev.text))
    host.close_local("user")
    host.open_local("user")
    with qtbot.waitSignal(host.reconfigured, timeout=3000):  # the worker is free meanwhile
        host.reconfigure(None, "fr")
    assert host.opened_ids == [("user", True)] and host.closed_ids == []  # still flushing
    qtbot.waitUntil(lambda: host.opened_ids == [("user", True)] * 2, timeout=5000)
    assert host.closed_ids == ["user"] and texts[-1] == " last."

    def fed() -> bool:  # as a capture does: the session takes audio soon after it is announced
        host.feed("user", np.zeros(SR // 10, np.float32))
        return engine.get_session("user").received > 0

    qtbot.waitUntil(fed, timeout=3000)


def test_audio_without_a_session_is_dropped(qtbot, host) -> None:
    host.feed("system", np.zeros(SR, np.float32))  # never opened: nothing happens
    host.open_local("system")
    qtbot.waitUntil(lambda: ("system", True) in host.opened_ids, timeout=3000)
    assert host.engines[0].get_session("system").received == 0
    host.close_local("system")
    host.feed("system", np.zeros(SR, np.float32))  # closing: not pushed, no error
    qtbot.waitUntil(lambda: host.closed_ids == ["system"], timeout=3000)


def test_a_host_never_started_stops_at_once(qtbot) -> None:
    h = EngineHost(engine_factory=lambda config, progress: FakeEngine())
    with qtbot.waitSignal(h.stopped, timeout=1000):
        h.shutdown()
    assert h.state == HostState.STOPPED


def test_a_local_session_opens_for_its_task(qtbot, host) -> None:
    host.open_local("system", "translate")
    host.open_local("user")
    qtbot.waitUntil(lambda: len(host.opened_ids) == 2, timeout=3000)
    engine = host.engines[-1]
    assert engine.get_session("system").options.task == "translate"
    assert engine.get_session("user").options.task == "transcribe"


def test_the_server_is_made_with_the_tls_settings(tmp_path) -> None:
    """Off loopback the desktop's server speaks TLS (a self-signed certificate, its
    fingerprint for the connect dialog); the user's certificate or TLS off as configured."""
    from server_core.net.tls import ensure_self_signed
    from whisper_desktop.host import default_server_factory

    engine = FakeEngine()
    try:
        lan = default_server_factory(engine, HostConfig("tiny.en", "en", host="0.0.0.0", port=0))
        lan.bind()
        try:
            assert lan.tls is not None and lan.tls.self_signed and lan.url.startswith("https://")
        finally:
            lan.close()
        own = ensure_self_signed(tmp_path, ["localhost"], ["127.0.0.1"])
        mine = HostConfig(
            "tiny.en", "en", port=0, tls_certfile=str(own.certfile), tls_keyfile=str(own.keyfile)
        )
        server = default_server_factory(engine, mine)
        server.bind()
        try:
            assert server.tls.fingerprint == own.fingerprint and not server.tls.self_signed
        finally:
            server.close()
        off = default_server_factory(
            engine, HostConfig("tiny.en", "en", host="0.0.0.0", port=0, tls_enabled=False)
        )
        off.bind()
        try:
            assert off.tls is None and off.url.startswith("http://")
        finally:
            off.close()
    finally:
        engine.stop(flush=False)
