"""The sideband: `GET /v1/realtime?call_id=rtc_…`, a backend's WebSocket into the session
of a WebRTC call. It hears every server event the call's data channel gets and may send
any client event (instructions, tools, tool outputs, responses), with the server's key."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket

from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime import Runner
from vivavoce.transports.auth import Auth, bearer
from vivavoce.transports.realtime_ws import WebSocketTransport, is_beta
from vivavoce.transports.webrtc.registry import CallRegistry
from vivavoce.types import close_code

# A sideband may dial in right after the call was created, while its session opens.
SESSION_WAIT_S = 5.0


async def _session_of(calls: CallRegistry, call_id: str) -> str | None:
    call = calls.get(call_id)
    if call is None:
        return None
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(call.session_opened.wait(), SESSION_WAIT_S)
    return call.session_id


async def sideband_endpoint(websocket: WebSocket, *, auth: Auth, runner: Runner,
                            calls: CallRegistry, call_id: str) -> None:
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    allowed, secret = auth.check(bearer(websocket.headers, subprotocols))
    # Found before the socket opens, so it hears everything from its first moment on.
    session_id = await _session_of(calls, call_id) if allowed else None
    await websocket.accept(subprotocol="realtime" if "realtime" in subprotocols else None)
    transport = WebSocketTransport(websocket, is_beta(websocket, subprotocols))

    async def refuse(err: ProtocolError) -> None:
        await transport.send(err.to_event())
        await websocket.close(code=1008, reason=err.code)

    if not allowed or (secret is not None and auth.required):
        await refuse(ProtocolError("invalid_api_key", "Joining a call needs the server's "
                                   "API key.", type="invalid_request_error"))
        return
    extensions = websocket.query_params.get("vivavoce_spans", "") in ("1", "true")
    try:
        if session_id is None:
            raise KeyError(call_id)
        ended = await runner.join(session_id, transport, extensions)
    except KeyError:
        await refuse(ProtocolError("call_not_found", f"No call {call_id} is in progress "
                                   "(unknown, or already ended).", "call_id"))
        return
    if ended is not None:
        await websocket.close(code=close_code(ended), reason=ended)
