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
from vivavoce.transports.sideband_proxy import sideband
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
    """One connection, one session (new, or resumed with `?resume=<session id>`); or,
    with `?call_id=`, the sideband of a WebRTC call."""
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    chosen = "realtime" if "realtime" in subprotocols else None
    token = bearer(websocket.headers, subprotocols)
    credential = await auth.check(token)
    await websocket.accept(subprotocol=chosen)
    transport = WebSocketTransport(websocket, is_beta(websocket, subprotocols))
    if not credential.allowed:
        await refuse(websocket, transport, ProtocolError(
            "invalid_api_key", "Incorrect or missing API key (or an expired client secret).",
            type="invalid_request_error"))
        return
    query = websocket.query_params
    extensions = query.get("vivavoce_spans", "") in ("1", "true")
    if query.get("call_id"):
        await sideband(websocket, transport, query["call_id"], credential, auth, runner,
                       extensions)
        return
    resume = query.get("resume") or None
    secret = credential.secret
    if resume is not None and auth.required and not credential.key \
            and (secret is None or secret.session_id != resume):
        await refuse(websocket, transport, ProtocolError(
            "invalid_resume_credential", f"This credential cannot resume session '{resume}': "
            "use the server's key, or a client secret minted for that session "
            "(POST /v1/realtime/client_secrets or /session with its resume token).",
            "resume", type="invalid_request_error"))
        return
    opens = secret if secret is not None and resume is None else None
    context = Context(persona=query.get("persona") or None, model=query.get("model") or None,
                      session=opens.session if opens is not None and opens.session else None,
                      # vivavoce's own events (turn spans) only for clients that ask: strict
                      # clients of the hosted protocol would not know them.
                      extensions=extensions, resume=resume,
                      session_id=opens.session_id if opens is not None else None,
                      resume_token_hash=opens.resume_token_hash if opens is not None else None,
                      owner=credential.owner)
    ended = await runner.serve(transport, context)
    if ended is not None:
        await websocket.close(code=1000, reason=ended[:MAX_REASON])
