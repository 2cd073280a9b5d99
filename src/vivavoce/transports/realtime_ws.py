"""The Realtime WebSocket endpoint: `GET /v1/realtime` (GA, or beta by header).

A thin adapter: it checks the credential, translates the beta dialect at its edge, and
hands the connection to the runner.
"""

from __future__ import annotations

import json

from starlette.websockets import WebSocket, WebSocketDisconnect

from vivavoce.protocol import beta
from vivavoce.protocol.errors import ProtocolError, parse_event
from vivavoce.runtime import ClientInput, Context, Runner
from vivavoce.transports.auth import Auth, bearer
from vivavoce.types import Event


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


async def realtime_endpoint(websocket: WebSocket, *, auth: Auth, runner: Runner) -> None:
    """One connection, one session."""
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    chosen = "realtime" if "realtime" in subprotocols else None
    allowed, secret = auth.check(bearer(websocket.headers, subprotocols))
    await websocket.accept(subprotocol=chosen)
    transport = WebSocketTransport(websocket, is_beta(websocket, subprotocols))
    if not allowed:
        err = ProtocolError("invalid_api_key",
                            "Incorrect or missing API key (or an expired client secret).",
                            type="invalid_request_error")
        await transport.send(err.to_event())
        await websocket.close(code=1008, reason="invalid_api_key")
        return
    query = websocket.query_params
    context = Context(persona=query.get("persona") or None, model=query.get("model") or None,
                      session=secret.session if secret is not None and secret.session else None,
                      # vivavoce's own events (turn spans) only for clients that ask: strict
                      # clients of the hosted protocol would not know them.
                      extensions=query.get("vivavoce_spans", "") in ("1", "true"))
    ended = await runner.serve(transport, context)
    if ended is not None:
        await websocket.close(code=1000, reason=ended)
