"""The Realtime WebSocket endpoint: `GET /v1/realtime` (GA, or beta by header)."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from vivavoce.brains.base import Brain
from vivavoce.engines.base import VAD
from vivavoce.personas import Persona, get_persona
from vivavoce.protocol import beta, ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.session.config import SessionConfig, apply_update
from vivavoce.session.driver import SessionDriver
from vivavoce.session.session import Session
from vivavoce.settings import Settings
from vivavoce.tools import ToolContext, ToolRegistry
from vivavoce.tools.escape_room import escape_room_hints, new_escape_room
from vivavoce.transports.auth import Auth, bearer

log = logging.getLogger(__name__)


def is_beta(websocket: WebSocket, subprotocols: list[str]) -> bool:
    header = websocket.headers.get("openai-beta", "")
    return "realtime=v1" in header or "openai-beta.realtime-v1" in subprotocols


def persona_session(settings: Settings, persona: Persona) -> SessionConfig:
    """The session a connection starts with: the persona, unless settings override it."""
    config = SessionConfig(model=settings.model,
                           instructions=settings.instructions or persona.instructions)
    return apply_update(config, {"audio": {"output": {"voice": settings.voice or persona.voice}}})


def _persona(websocket: WebSocket, settings: Settings) -> tuple[Persona, ProtocolError | None]:
    name = websocket.query_params.get("persona") or settings.persona
    try:
        return get_persona(name), None
    except KeyError as exc:
        return get_persona(settings.persona), ProtocolError(
            "invalid_value", f"{exc.args[0]} Using '{settings.persona}'.", "persona")


async def realtime_endpoint(websocket: WebSocket, *, auth: Auth, brain: Brain,
                            vad: VAD | None, settings: Settings, tools: ToolRegistry,
                            sessions: dict[str, ToolContext] | None = None) -> None:
    """One connection. `sessions`, if given, lists it while it is open (see create_app)."""
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    chosen = "realtime" if "realtime" in subprotocols else None
    allowed, secret = auth.check(bearer(websocket.headers, subprotocols))
    await websocket.accept(subprotocol=chosen)
    dialect_beta = is_beta(websocket, subprotocols)

    async def send(event: dict[str, Any]) -> None:
        out = beta.server_to_beta(event) if dialect_beta else event
        if out is not None:
            await websocket.send_text(json.dumps(out))

    if not allowed:
        err = ProtocolError("invalid_api_key",
                            "Incorrect or missing API key (or an expired client secret).",
                            type="invalid_request_error")
        await send({"type": "error", "event_id": ids.event_id(), "error": err.to_error(None)})
        await websocket.close(code=1008, reason="invalid_api_key")
        return

    persona, persona_error = _persona(websocket, settings)
    config = persona_session(settings, persona)
    if secret is not None and secret.session:
        config = apply_update(config, secret.session)
    model = websocket.query_params.get("model") or settings.model
    session_id = ids.new_id("sess_")
    context = ToolContext(session_id)
    private = ""
    if "unlock_door" in persona.tools:
        new_escape_room(context.state)
        private = escape_room_hints(context.state)
    session = Session(session_id=session_id, model=model, vad=vad, config=config,
                      voices=brain.voices, server_tools=tools.schemas(persona.tools),
                      private_instructions=private,
                      speculative_stt=settings.speculative_stt)
    if persona_error is not None:
        session.report(persona_error)
    # vivavoce's own events (turn spans) only for clients that ask: strict
    # clients of the hosted protocol would not know them.
    extensions = websocket.query_params.get("vivavoce_spans", "") in ("1", "true")
    driver = SessionDriver(session, brain, send, extensions=extensions, tools=tools,
                           tool_context=context, fillers=persona.filler)
    if sessions is not None:
        sessions[session_id] = context
    try:
        await driver.start()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                await driver.reject(ProtocolError(
                    "invalid_event", "Binary frames are not supported; send JSON text events."))
                continue
            if dialect_beta:
                try:
                    parsed = json.loads(text)
                except ValueError:
                    await driver.handle(text)  # the session reports the bad JSON
                    continue
                await driver.handle(beta.client_to_ga(parsed) if isinstance(parsed, dict)
                                    else text)
            else:
                await driver.handle(text)
    except WebSocketDisconnect:
        pass
    finally:
        if sessions is not None:
            sessions.pop(session_id, None)
        await driver.close()
