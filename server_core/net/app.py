"""The FastAPI app: the WebSocket transcription endpoint, REST, and the browser page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Optional

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.websockets import WebSocketState

from server_core import __version__
from server_core.config import TASKS, SessionOptions
from server_core.contract import EngineHandle, SessionInfo
from server_core.languages import language_choices, normalize_language
from server_core.model_names import normalize_model_spec
from server_core.net.auth import check_access
from server_core.net.captions import CAPTIONS_PATH
from server_core.net.connection import Connection, parse_beams
from server_core.net.hosts import HostAllowList, HostCheck
from server_core.net.hub import Hub
from server_core.net.options import ApiOptions
from server_core.net.protocol import CLOSE_NORMAL, WS_PATH
from server_core.net.viewer import serve_viewer

log = logging.getLogger(__name__)


def client_info(info: SessionInfo) -> dict:
    meta = info.meta or {}
    return {
        "client_id": info.client_id,
        "lag": round(float(info.lag), 3),
        "state": info.state,
        "peer": meta.get("peer") or "in-process",
        "transport": meta.get("transport", "in-process"),
        "received_seconds": round(float(info.received_seconds), 3),
        "processed_seconds": round(float(info.processed_seconds), 3),
    }


CONFIG_KEYS = ("model", "language", "task", "init_prompt", "static_prompt", "beams")


def _denied(reason: str) -> JSONResponse:
    return JSONResponse({"error": "unauthorized", "message": reason}, status_code=401)


async def config_request(request: Request) -> dict[str, str]:
    """Model/language from query params (``?lan=..&model=..``) and/or a JSON body."""
    values: dict[str, str] = {}
    body = await request.body()
    if body.strip():
        try:
            data = json.loads(body)
        except ValueError:
            raise ValueError('the body must be JSON such as {"model": "base"}') from None
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        values.update({k: v for k, v in data.items() if v not in (None, "")})
    for key in (*CONFIG_KEYS, "lan"):
        if request.query_params.get(key):
            values[key] = request.query_params[key]
    if "lan" in values:
        values.setdefault("language", values.pop("lan"))
    beams = parse_beams(values.pop("beams", None))
    unknown = set(values) - set(CONFIG_KEYS)
    if unknown:
        raise ValueError(
            f"unknown setting(s): {', '.join(sorted(unknown))}; known: {', '.join(CONFIG_KEYS)}"
        )
    if beams is not None:
        values["beams"] = str(beams)
    if not values:
        raise ValueError(
            f"give one or more of {', '.join(CONFIG_KEYS)} (JSON body or ?model=..&lan=..)"
        )
    for key, value in values.items():
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key} must be a string")
    if values.get("task") not in (None, *TASKS):
        raise ValueError(f"task must be one of {', '.join(TASKS)}")
    return values


def config_change(
    values: dict[str, str],
) -> tuple[Optional[str], Optional[str], Optional[SessionOptions]]:
    """The model, language and decode options of a ``POST /config`` request (None: unchanged);
    raises ValueError."""
    model = values.get("model")
    language = values.get("language")
    beams = values.get("beams")
    decode = SessionOptions(
        values.get("task"),
        values.get("init_prompt"),
        values.get("static_prompt"),
        int(beams) if beams else None,
    )
    return (
        normalize_model_spec(model) if model else None,
        normalize_language(language) if language else None,
        decode if decode != SessionOptions() else None,
    )


def create_app(engine: EngineHandle, options: Optional[ApiOptions] = None) -> FastAPI:
    """The server app for ``engine`` (started or not; requests need it started)."""
    options = options or ApiOptions()
    hub = Hub(engine, options)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        hub.drop_all()  # sessions parked for a resume end with the server

    app = FastAPI(
        title="Whisper Desktop server",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.add_middleware(HostCheck, allowed=HostAllowList(options.allowed_hosts))

    @app.websocket(WS_PATH)
    async def transcription(ws: WebSocket) -> None:
        await Connection(hub, ws).run()
        if ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close(CLOSE_NORMAL)

    @app.websocket(CAPTIONS_PATH)
    async def captions(ws: WebSocket) -> None:
        await serve_viewer(hub, ws)
        if ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close(CLOSE_NORMAL)

    @app.get("/languages")
    async def languages() -> dict:
        """Whisper's languages by name for pickers: ``auto`` first (openai-whisper's table)."""
        return {
            "default": engine.language,
            "languages": [{"code": c, "name": n} for c, n in language_choices()],
        }

    @app.get("/health")
    async def health() -> dict:
        return {
            "status": "draining" if hub.draining else "ok",
            "version": __version__,
            "model": engine.model_name,
            "language": engine.language,
            "device": engine.device,
            "dtype": engine.dtype,
            "clients": len(hub.connections),
            "max_clients": options.max_clients,
        }

    @app.get("/clients")
    async def clients(request: Request):
        reason = check_access(request, options.token, options.require_token)
        if reason:
            return _denied(reason)
        return {"clients": [client_info(s) for s in engine.sessions()]}

    @app.post("/config")
    async def config(request: Request):
        reason = check_access(request, options.token, options.require_token)
        if reason:
            return _denied(reason)
        try:
            values = await config_request(request)
            model, language, decode = config_change(values)
        except ValueError as e:
            return JSONResponse({"error": "bad_request", "message": str(e)}, status_code=400)
        async with hub.config_lock:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(
                    None,
                    lambda: engine.reconfigure(model=model, language=language, options=decode),
                )
            except Exception as e:  # ModelError, ValueError: the old model stays
                log.warning("reconfigure(model=%s, language=%s) failed: %s", model, language, e)
                return JSONResponse(
                    {
                        "error": "config_failed",
                        "message": str(e).splitlines()[0] if str(e) else type(e).__name__,
                    },
                    status_code=400,
                )
        log.info("reconfigured: model=%s language=%s", engine.model_name, engine.language)
        reply = {"status": "ok", "model": engine.model_name, "language": engine.language}
        chosen = {k: v for k, v in values.items() if k not in reply and v is not None}
        if "beams" in chosen:
            chosen["beams"] = int(chosen["beams"])
        return reply | chosen

    @app.get("/", include_in_schema=False)
    async def index():
        page = options.web_dir / "index.html"
        if not page.is_file():
            return JSONResponse({"error": "the web page is not installed"}, status_code=404)
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    app.mount("/web", StaticFiles(directory=options.web_dir, check_dir=False), name="web")
    return app
