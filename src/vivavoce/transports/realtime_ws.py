"""The Realtime WebSocket endpoint: `GET /v1/realtime` (GA, or beta by header).

A thin adapter: it checks the credential and whether there is room,
translates the beta dialect at its edge, and hands the connection to the runner. The
socket closes with a code and a reason a client can read: 1008 for a policy (no key,
a reader too slow, a session too long), 1011 for an internal error, 1013 for "busy, try
again later".
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import replace

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from vivavoce.protocol import beta
from vivavoce.protocol.errors import ProtocolError, parse_event, server_error
from vivavoce.runtime import ClientInput, Runner
from vivavoce.runtime.limits import Busy
from vivavoce.runtime.outbound import ClientGone
from vivavoce.transports.auth import Auth, bearer
from vivavoce.transports.client_context import client_context
from vivavoce.types import Ending, Event, close_code

log = logging.getLogger(__name__)

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
        if out is None:
            return
        try:
            await self.websocket.send_text(json.dumps(out))
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:  # closed under us
            raise ClientGone from exc

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
        if not self.beta:
            return event
        try:
            return beta.client_to_ga(event)
        except Exception:  # the last line of defence for the dialect's own edge
            return server_error("a beta client event")


async def deny_upgrade(websocket: WebSocket, status: int, message: str) -> None:
    """Refuse an upgrade with an HTTP status, before any session exists."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"error": {"message": message}},
                                                          status_code=status))
    else:  # servers without the extension answer a close before accept with 403
        await websocket.close(code=Ending.POLICY, reason=message[:MAX_REASON])


async def refuse(websocket: WebSocket, transport: WebSocketTransport,
                 err: ProtocolError, code: int = Ending.POLICY,
                 reason: str | None = None) -> None:
    """Refuse an accepted connection: an `error` event, then a close."""
    await transport.send(err.to_event())
    await websocket.close(code=code, reason=(reason or err.code)[:MAX_REASON])


async def realtime_endpoint(websocket: WebSocket, *, auth: Auth, runner: Runner) -> None:
    """One connection, one session: new, or resumed with `?resume=<session id>` (its
    origin already checked: `origins`)."""
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    token = bearer(websocket.headers, subprotocols)
    credential = await auth.check(token)
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
    try:
        ticket = runner.admission.admit(token if auth.required else None)
    except Busy as busy:
        await refuse(websocket, transport, ProtocolError("server_busy", busy.reason,
                                                         type="server_error"),
                     busy.close_code, busy.reason)
        return
    with ticket:
        try:
            ended = await runner.serve(transport, context)
        except Exception:
            log.exception("session failed")
            ended = Ending("internal error", Ending.INTERNAL)
    if ended is not None:
        with contextlib.suppress(RuntimeError, OSError):  # unless the client left meanwhile
            await websocket.close(code=close_code(ended), reason=ended[:MAX_REASON])
