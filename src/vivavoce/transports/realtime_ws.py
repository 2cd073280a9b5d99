"""The Realtime WebSocket endpoint: `GET /v1/realtime` (GA, or beta by header).

A thin adapter: it checks the credential, translates the beta dialect at its edge, and
hands the connection to the runner.
"""

from __future__ import annotations

import json
from dataclasses import replace

from starlette.websockets import WebSocket, WebSocketDisconnect

from vivavoce.protocol import beta
from vivavoce.protocol.errors import ProtocolError, parse_event
from vivavoce.runtime import ClientInput, Runner
from vivavoce.transports.auth import Auth, bearer
from vivavoce.transports.client_context import client_context
from vivavoce.types import Event

# A close frame's reason is at most 123 bytes.
MAX_REASON = 120


def is_beta(websocket: WebSocket, subprotocols: list[str]) -> bool:
    header = websocket.headers.get("openai-beta", "")
    return "realtime=v1" in header or "openai-beta.realtime-v1" in subprotocols


class WebSocketTransport:
    """JSON text frames, GA or beta."""

    def __init__(self, websocket: WebSocket, dialect_beta: bool) -> None:
        self.websocket = websocket
        self.beta = dialect_beta

    async def send(self, event: Event) -> None:
        out = beta.server_to_beta(event) if self.beta else event
        if out is not None:
            await self.websocket.send_text(json.dumps(out))

    async def receive(self) -> ClientInput | None:
        """The client's next event in GA form; None once it has gone."""
        try:
            message = await self.websocket.receive()
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
        return beta.client_to_ga(event) if self.beta else event


async def refuse(websocket: WebSocket, transport: WebSocketTransport,
                 err: ProtocolError) -> None:
    await transport.send(err.to_event())
    await websocket.close(code=1008, reason=err.code)


async def realtime_endpoint(websocket: WebSocket, *, auth: Auth, runner: Runner) -> None:
    """One connection, one session (new, or resumed with `?resume=<session id>`)."""
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    credential = await auth.check(bearer(websocket.headers, subprotocols))
    await websocket.accept(subprotocol="realtime" if "realtime" in subprotocols else None)
    transport = WebSocketTransport(websocket, is_beta(websocket, subprotocols))
    if not credential.allowed:
        await refuse(websocket, transport, ProtocolError(
            "invalid_api_key", "Incorrect or missing API key (or an expired client secret).",
            type="invalid_request_error"))
        return
    try:
        context = client_context(credential, websocket.query_params, auth.required)
    except ProtocolError as err:
        await refuse(websocket, transport, err)
        return
    context = replace(context, model=websocket.query_params.get("model") or None)
    ended = await runner.serve(transport, context)
    if ended is not None:
        await websocket.close(code=1000, reason=ended[:MAX_REASON])
