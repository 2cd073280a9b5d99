"""The Realtime WebSocket endpoint: `GET /v1/realtime` (GA, or beta by header)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from vivavoce.brains.base import Brain
from vivavoce.brains.relay import Relay
from vivavoce.engines.base import VAD
from vivavoce.personas import Persona, get_persona
from vivavoce.protocol import beta, ids
from vivavoce.protocol.errors import ProtocolError, parse_event
from vivavoce.session.config import SessionConfig, apply_update
from vivavoce.session.conversation_log import ConversationLog
from vivavoce.session.driver import Send, SessionDriver
from vivavoce.session.session import Session
from vivavoce.settings import Settings
from vivavoce.tools import ToolContext, ToolRegistry
from vivavoce.tools.escape_room import escape_room_hints, new_escape_room
from vivavoce.transports.auth import Auth, ClientSecret, bearer

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


async def realtime_endpoint(websocket: WebSocket, *, auth: Auth, brain: Brain | Relay,
                            vad: VAD | None, settings: Settings, tools: ToolRegistry,
                            sessions: dict[str, ToolContext] | None = None,
                            conversations: dict[str, ConversationLog] | None = None) -> None:
    """One connection. `sessions` and `conversations`, if given, list it while it is open
    (see create_app)."""
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    chosen = "realtime" if "realtime" in subprotocols else None
    allowed, secret = auth.check(bearer(websocket.headers, subprotocols))
    await websocket.accept(subprotocol=chosen)
    dialect_beta = is_beta(websocket, subprotocols)
    session_id = ids.new_id("sess_")
    conversation = ConversationLog(session_id)

    async def send(event: dict[str, Any]) -> None:
        if conversation.observe(event) and settings.conversation_log_dir:
            conversation.write(Path(settings.conversation_log_dir))
        out = beta.server_to_beta(event) if dialect_beta else event
        if out is not None:
            await websocket.send_text(json.dumps(out))

    async def receive() -> dict[str, Any] | ProtocolError | None:
        """The client's next event in GA form; None once it has gone."""
        try:
            message = await websocket.receive()
        except WebSocketDisconnect:
            return None
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            return ProtocolError("invalid_event",
                                 "Binary frames are not supported; send JSON text events.")
        try:
            event = parse_event(text)
        except ProtocolError as err:
            return err
        return beta.client_to_ga(event) if dialect_beta else event

    if not allowed:
        err = ProtocolError("invalid_api_key",
                            "Incorrect or missing API key (or an expired client secret).",
                            type="invalid_request_error")
        await send(err.to_event())
        await websocket.close(code=1008, reason="invalid_api_key")
        return

    persona, persona_error = _persona(websocket, settings)
    config = persona_session(settings, persona)
    if secret is not None and secret.session:
        config = apply_update(config, secret.session)
    context = ToolContext(session_id)
    if sessions is not None:
        sessions[session_id] = context
    if conversations is not None:
        conversations[session_id] = conversation
    try:
        if isinstance(brain, Relay):
            if persona_error is not None:
                await send(persona_error.to_event())
            ended = await brain.serve(receive=receive, send=send, context=context,
                                      conversation=conversation,
                                      tools=[n for n in persona.tools if n in brain.tools],
                                      session=relay_session(settings, persona, secret))
            if ended is not None:
                await websocket.close(code=1000, reason=ended)
            return
        await _run_cascade(websocket, brain, vad, settings, tools, persona, persona_error,
                           config, session_id, context, send, receive)
    finally:
        if sessions is not None:
            sessions.pop(session_id, None)
        if conversations is not None:
            conversations.pop(session_id, None)


def relay_session(settings: Settings, persona: Persona, secret: ClientSecret | None
                  ) -> dict[str, Any]:
    """What the relay sets on each upstream session: the persona's instructions (the
    voice only when asked for: voices differ between servers), then a client secret's."""
    session: dict[str, Any] = {"instructions": settings.instructions or persona.instructions}
    if settings.voice:
        session["audio"] = {"output": {"voice": settings.voice}}
    if secret is not None and secret.session:
        session.update({k: v for k, v in secret.session.items() if k != "type"})
    return session


async def _run_cascade(websocket: WebSocket, brain: Brain, vad: VAD | None,
                       settings: Settings, tools: ToolRegistry, persona: Persona,
                       persona_error: ProtocolError | None, config: SessionConfig,
                       session_id: str, context: ToolContext, send: Send,
                       receive: Callable[[], Awaitable[dict[str, Any] | ProtocolError | None]]
                       ) -> None:
    model = websocket.query_params.get("model") or settings.model
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
    try:
        await driver.start()
        while (event := await receive()) is not None:
            if isinstance(event, ProtocolError):
                await driver.reject(event)
            else:
                await driver.handle(event)
    finally:
        await driver.close()
