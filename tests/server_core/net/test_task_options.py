"""The engine's task and prompts on every surface: the WebSocket query, POST /config, flags and
environment variables; and a German clip translated into English through ?task=translate."""

from __future__ import annotations

import asyncio
import re

import pytest

from server_core.audio.files import read_wav
from server_core.config import DecodeOptions, EngineConfig, SessionOptions
from server_core.serve import parse_serve_options
from tests.server_core.net.test_api import make_client, open_ws, refused, ws_url
from tests.support.fake_engine import FakeEngine
from tests.support.ws_text import transcribe_over_ws


@pytest.fixture
def engine():
    e = FakeEngine()
    yield e
    e.stop(flush=False)


def test_a_connection_chooses_its_task_and_prompts(engine) -> None:
    url = ws_url("tr", task="translate", init_prompt="Hallo", static_prompt="Kubernetes", beams=4)
    with make_client(engine) as tc, open_ws(tc, url) as ws:
        assert ws.receive_json()["type"] == "ready"
        assert engine.get_session("tr").options == SessionOptions(
            "translate", "Hallo", "Kubernetes", 4
        )
    with make_client(engine) as tc, open_ws(tc, ws_url("plain")) as ws:
        ws.receive_json()
        assert engine.get_session("plain").options == SessionOptions()


@pytest.mark.parametrize(
    ("query", "code", "names"),
    [
        ({"task": "summarize"}, "bad_task", "transcribe, translate"),
        ({"beams": "0"}, "bad_beams", "from 1 (greedy) to 8"),
        ({"beams": "9"}, "bad_beams", "from 1 (greedy) to 8"),
        ({"beams": "x"}, "bad_beams", "from 1 (greedy) to 8"),
    ],
)
def test_bad_task_options_are_refused_naming_the_allowed(engine, query, code, names) -> None:
    with make_client(engine) as tc, tc.websocket_connect(ws_url("x", **query)) as ws:
        first, close, _ = refused(ws)
    assert first["code"] == code and names in first["message"] and close == 1008
    assert engine.sessions() == []


def test_post_config_sets_the_engine_wide_task_and_prompts(engine) -> None:
    with make_client(engine) as tc:
        body = {"task": "translate", "static_prompt": "Kubernetes, Grafana", "beams": 1}
        reply = tc.post("/config", json=body)
        assert reply.status_code == 200, reply.text
        assert reply.json()["task"] == "translate" and reply.json()["beams"] == 1
        reply = tc.post("/config?beams=4")
        assert reply.status_code == 200 and reply.json()["beams"] == 4, reply.text
        assert engine.reconfigured_options == [
            SessionOptions("translate", None, "Kubernetes, Grafana", 1),
            SessionOptions(beams=4),
        ]
        for bad, words in (
            ({"task": "nope"}, "transcribe, translate"),
            ({"beams": 9}, "from 1 (greedy) to 8"),
            ({"beams": "x"}, "from 1 (greedy) to 8"),
            ({"beams": 2.5}, "from 1 (greedy) to 8"),
            ({"temperature": "1"}, "known: model, language, task"),
        ):
            reply = tc.post("/config", json=bad)
            assert reply.status_code == 400 and words in reply.json()["message"], reply.text
        assert len(engine.reconfigured_options) == 2


def test_server_flags_and_environment_set_the_task_and_prompts() -> None:
    opts = parse_serve_options(["--task", "translate", "--static-prompt", "Grafana"], environ={})
    assert opts.decode == {"task": "translate", "static_prompt": "Grafana"}
    env = {"WHISPER_TASK": "translate", "WHISPER_INIT_PROMPT": "Guten Tag", "WHISPER_BEAMS": "1"}
    opts = parse_serve_options([], environ=env)
    assert opts.decode == {"task": "translate", "init_prompt": "Guten Tag", "beams": 1}
    flag_wins = parse_serve_options(["--task", "transcribe"], environ=env)
    assert flag_wins.decode["task"] == "transcribe"
    with pytest.raises(ValueError, match="transcribe, translate"):
        parse_serve_options([], environ={"WHISPER_TASK": "summarize"})
    assert parse_serve_options(["--beams", "4"], environ={}).decode == {"beams": 4}
    for argv, environ in ((["--beams", "9"], {}), ([], {"WHISPER_BEAMS": "four"})):
        with pytest.raises(ValueError, match=r"from 1 \(greedy\) to 8"):
            parse_serve_options(argv, environ=environ)


ENGLISH = {"the", "and", "of", "to", "is", "in", "that", "it", "was", "for", "with", "on"}
GERMAN = {"der", "die", "das", "und", "ist", "in", "zu", "den", "mit", "von", "nicht", "ein"}


def stop_words(text: str, words: set[str]) -> int:
    return sum(w in words for w in re.findall(r"[a-zäöüß]+", text.lower()))


@pytest.mark.model
def test_a_german_clip_comes_out_english_with_task_translate(speech_dir) -> None:
    """Two connections to one engine hear the same German clip: the one that asked for
    ?task=translate gets English, the other German."""
    from server_core.engine import Engine
    from server_core.net.server import LocalServer, ServerOptions

    audio = read_wav(speech_dir / "fleurs_de_000.wav")
    engine = Engine(EngineConfig(model="base", decode=DecodeOptions(language="de")))
    engine.start()
    server = LocalServer(engine, ServerOptions(port=0))
    server.start()

    def transcribe(client_id: str, query: str):
        url = f"{server.ws_url}?client_id={client_id}&language=de{query}"
        return transcribe_over_ws(url, audio, 0.25)

    async def both() -> list[str]:
        return await asyncio.gather(transcribe("en", "&task=translate"), transcribe("de", ""))

    try:
        english, german = asyncio.run(both())
    finally:
        server.stop()
        engine.stop()
    print("translate:", english, "\ntranscribe:", german)
    assert stop_words(english, ENGLISH) > 2 * max(1, stop_words(english, GERMAN)), english
    assert stop_words(german, GERMAN) > 2 * max(1, stop_words(german, ENGLISH)), german
