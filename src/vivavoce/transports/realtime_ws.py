"""The Realtime WebSocket endpoint: `GET /v1/realtime` (GA, or beta by header)."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from vivavoce.brains.base import Brain
from vivavoce.engines.base import VAD
from vivavoce.protocol import beta, ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.session.config import SessionConfig, apply_update
from vivavoce.session.driver import SessionDriver
from vivavoce.session.session import Session
from vivavoce.transports.auth import Auth, bearer

log = logging.getLogger(__name__)


def is_beta(websocket: WebSocket, subprotocols: list[str]) -> bool:
    header = websocket.headers.get("openai-beta", "")
    return "realtime=v1" in header or "openai-beta.realtime-v1" in subprotocols


async def realtime_endpoint(websocket: WebSocket, *, auth: Auth, brain: Brain,
                            vad: VAD | None, default_config: SessionConfig,
                            default_model: str) -> None:
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

    config = default_config
    if secret is not None and secret.session:
        config = apply_update(config, secret.session)
    model = websocket.query_params.get("model") or config.model or default_model
    session = Session(session_id=ids.new_id("sess_"), model=model, vad=vad,
                      config=config, voices=brain.voices)
    # vivavoce's own events (turn spans) only for clients that ask: strict
    # clients of the hosted protocol would not know them.
    extensions = websocket.query_params.get("vivavoce_spans", "") in ("1", "true")
    driver = SessionDriver(session, brain, send, extensions=extensions)
    await driver.start()
    try:
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
        await driver.close()
