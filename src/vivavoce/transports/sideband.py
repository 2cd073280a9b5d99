"""The sideband: `GET /v1/realtime?call_id=rtc_…`, a backend's WebSocket into the session
of a WebRTC call. It hears every server event the call's data channel gets and may send
any client event (instructions, tools, tool outputs, responses), with the server's key.

One path whichever instance is asked: the call registry (`runner.calls`) says who holds
the call; this instance joins the session itself, or passes the socket through to the
instance holding it (`sideband_proxy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket

from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime import Runner
from vivavoce.store import CallRecord
from vivavoce.transports.auth import Auth, bearer
from vivavoce.transports.realtime_ws import WebSocketTransport, is_beta
from vivavoce.transports.sideband_proxy import proxy

log = logging.getLogger(__name__)

# A sideband may dial in right after the call was created, while its session opens.
SESSION_WAIT_S = 5.0


async def _locate(runner: Runner, call_id: str) -> CallRecord | None:
    try:
        record = await runner.calls.locate(call_id)
    except Exception as exc:  # the store is away: only calls held here are found
        log.warning("cannot look up call %s: %s", call_id, exc)
        return None
    call = runner.calls.held(call_id) if record is not None else None
    if call is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.session_opened.wait(), SESSION_WAIT_S)
    return record


async def sideband_endpoint(websocket: WebSocket, *, auth: Auth, runner: Runner,
                            call_id: str) -> None:
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    credential = await auth.check(bearer(websocket.headers, subprotocols))
    allowed = credential.allowed and (credential.key or not auth.required)
    # Found (and a call held here, its session open) before the socket opens, so it
    # hears everything from its first moment on.
    record = await _locate(runner, call_id) if allowed else None
    if record is not None and not runner.calls.holds(record):
        await proxy(websocket, record.address)
        return
    await websocket.accept(subprotocol="realtime" if "realtime" in subprotocols else None)
    transport = WebSocketTransport(websocket, is_beta(websocket, subprotocols))

    async def refuse(err: ProtocolError) -> None:
        await transport.send(err.to_event())
        await websocket.close(code=1008, reason=err.code)

    if not allowed:
        await refuse(ProtocolError("invalid_api_key", "Joining a call needs the server's "
                                   "API key.", type="invalid_request_error"))
        return
    extensions = websocket.query_params.get("vivavoce_spans", "") in ("1", "true")
    try:
        if record is None:
            raise KeyError(call_id)
        ended = await runner.join(record.session_id, transport, extensions)
    except KeyError:
        await refuse(ProtocolError("call_not_found", f"No call {call_id} is in progress "
                                   "(unknown, or already ended).", "call_id"))
        return
    if ended is not None:
        await websocket.close(code=1000, reason=ended)
