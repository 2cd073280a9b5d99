"""The ASGI app: Realtime WebSocket, WebRTC calls and their sideband, phone calls
(Twilio), client secrets, health, the web UI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vivavoce.brains.base import Brain
from vivavoce.brains.relay import Relay
from vivavoce.engines.base import VAD
from vivavoce.personas import PERSONAS, get_persona
from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime import Runner
from vivavoce.runtime.backends import backend_for
from vivavoce.runtime.resume import Instance
from vivavoce.runtime.setup import persona_session
from vivavoce.session.config import apply_update
from vivavoce.settings import Settings
from vivavoce.store import Store, digest, store_for
from vivavoce.tools import ToolRegistry, builtin
from vivavoce.transports.auth import DEFAULT_TTL_S, MAX_TTL_S, Auth, Credential, bearer
from vivavoce.transports.origins import origin_refusal, same_origin_refusal
from vivavoce.transports.ratelimit import RateLimit
from vivavoce.transports.realtime_ws import deny_upgrade, realtime_endpoint
from vivavoce.transports.resume_tokens import new_token, resume_request, rotate
from vivavoce.transports.sessions_api import add_session_routes
from vivavoce.transports.sideband import sideband_endpoint
from vivavoce.transports.twilio import mount_twilio
from vivavoce.transports.webrtc import mount_calls

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# Long enough to open the socket; a session outlives the secret that opened it.
PAGE_SECRET_TTL_S = 60


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        raise HTTPException(400, "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "The body must be a JSON object.")
    return body


def instance_for(settings: Settings) -> Instance:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return Instance(settings.instance_id or ids.new_id("inst_"),
                    settings.advertise_url or f"http://{host}:{settings.port}")


def create_app(settings: Settings, brain: Brain | Relay, vad: VAD | None,
               tools: ToolRegistry | None = None, store: Store | None = None) -> FastAPI:
    """The server; `store` defaults to the one `settings` name (opened with the app)."""
    store = store or store_for(settings.database_url, settings.data_dir, settings.store)
    backend = backend_for(brain, vad, tools or builtin.registry, settings.speculative_stt)
    runner = Runner(settings, backend, store, instance_for(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        runner.start()
        try:
            yield
        finally:
            # Their sessions write what they still hold first.
            await calls.close()
            await phone_calls.close()
            await runner.stop()
            await store.close()

    app = FastAPI(title="vivavoce", docs_url=None, redoc_url=None, lifespan=lifespan)
    auth = Auth(settings.api_key, store)
    default_persona = get_persona(settings.persona)
    base_config = persona_session(settings, default_persona)
    app.state.auth = auth
    app.state.runner = runner
    app.state.store = store
    # Live sessions, for operators and tests: session id → the tool context of each open
    # connection (the escape room's code and door live in its `state`). Never sent to clients.
    app.state.sessions = runner.sessions.tool_contexts()

    calls = mount_calls(app, runner, auth, settings)
    app.state.calls = calls
    app.state.phone_calls = phone_calls = mount_twilio(app, runner, settings)

    @app.websocket("/v1/realtime")
    async def realtime(websocket: WebSocket) -> None:
        # Every upgrade, the sideband's too, is checked by origin before anything else.
        refusal = origin_refusal(websocket.headers, settings)
        if refusal is not None:
            await deny_upgrade(websocket, 403, refusal)
            return
        call_id = websocket.query_params.get("call_id")
        if call_id:  # a backend joining a WebRTC call: the sideband
            await sideband_endpoint(websocket, auth=auth, runner=runner, call_id=call_id)
            return
        await realtime_endpoint(websocket, auth=auth, runner=runner)

    add_session_routes(app, auth, runner, store)

    @app.get("/v1/personas")
    async def personas() -> dict[str, Any]:
        return {"default": default_persona.name, "personas": [
            {"name": p.name, "title": p.title, "voice": p.voice, "greeting": p.greeting,
             "tools": list(p.tools)} for p in PERSONAS.values()]}

    @app.get("/healthz")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "brain": settings.brain, "model": settings.model,
                "voices": backend.voices}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def mint(ttl: int, body: dict[str, Any], credential: Credential) -> JSONResponse:
        """A client secret that opens a new session, or (`resume`) continues one; with
        the session's id and its next resume token (vivavoce extensions)."""
        resuming = resume_request(body)
        if resuming is not None:
            session_id, token = resuming
            trusted = credential.key or not auth.required
            fresh = await rotate(store, session_id, token, trusted)
            record = await store.session(session_id)
            secret = await auth.mint(ttl, {}, session_id, resumes=True)
            config = record.config if record is not None else {}
        else:
            if not credential.allowed or credential.secret is not None:
                raise HTTPException(401, "A valid API key is required to create client "
                                    "secrets.")
            update = body.get("session") or {}
            try:
                config = apply_update(base_config, update).wire()
            except ProtocolError as err:
                raise HTTPException(400, err.message) from None
            session_id, fresh = ids.new_id("sess_"), new_token()
            secret = await auth.mint(ttl, update, session_id, digest(fresh))
        return JSONResponse({"value": secret.value, "expires_at": secret.expires_at,
                             "session": config, "session_id": session_id,
                             "resume_token": fresh})

    minting = RateLimit(settings.mint_per_minute)

    def mint_allowed(request: Request, refusal: str | None) -> None:
        """The checks before a secret is minted: the asking page, then the rate."""
        if refusal is not None:
            raise HTTPException(403, refusal)
        wait = minting.take(request.client.host if request.client else "")
        if wait is not None:
            raise HTTPException(429, f"Too many client secrets asked for; try again in "
                                f"{wait:.0f} s.", headers={"Retry-After": f"{wait:.0f}"})

    @app.post("/v1/realtime/client_secrets")
    async def client_secrets(request: Request) -> JSONResponse:
        # The hosted API's route: minting takes the server's own key (or, to resume a
        # session, that session's resume token).
        mint_allowed(request, origin_refusal(request.headers, settings))
        credential = await auth.check(bearer(request.headers, []))
        body = await json_body(request)
        expires = body.get("expires_after") or {}
        ttl = expires.get("seconds", DEFAULT_TTL_S) if isinstance(expires, dict) else None
        if not isinstance(ttl, int) or not 10 <= ttl <= MAX_TTL_S:
            raise HTTPException(400, f"expires_after.seconds must be 10..{MAX_TTL_S}.")
        return await mint(ttl, body, credential)

    @app.post("/session")
    async def page_session(request: Request) -> JSONResponse:
        """The web page's way in: a short-lived secret, so the page never holds the key.
        Only for a same-origin browser request: no other site can mint through a
        visitor's browser (a non-browser client can claim anything: a convenience for
        trusted networks, not a way around the key)."""
        mint_allowed(request, same_origin_refusal(request.headers, settings))
        if not settings.web_sessions:
            raise HTTPException(403, "This server's web page is turned off (--no-web-sessions).")
        return await mint(PAGE_SECRET_TTL_S, await json_body(request), Credential(True))

    if WEB_DIR.is_dir():
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app
