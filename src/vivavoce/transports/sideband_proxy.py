"""The sideband of a WebRTC call (`/v1/realtime?call_id=…`, the server's key): joins
the call's session where it is held, or is passed through to the instance holding it.

The call registry (`runtime.calls`) says which instance holds a call and where it is
reached; frames are then piped both ways, unchanged, between the client and that
instance's own sideband endpoint, under the same credential.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime import Runner
from vivavoce.transports.auth import Auth, Credential

log = logging.getLogger(__name__)
FORWARDED_HEADERS = ("authorization", "openai-beta")


async def _refuse(websocket: WebSocket, transport: Any, code: str, message: str) -> None:
    await transport.send(ProtocolError(code, message, "call_id",
                                       type="invalid_request_error").to_event())
    await websocket.close(code=1008, reason=code)


async def sideband(websocket: WebSocket, transport: Any, call_id: str, credential: Credential,
                   auth: Auth, runner: Runner, extensions: bool) -> None:
    if auth.required and not credential.key:
        await _refuse(websocket, transport, "invalid_api_key",
                      "A call's sideband takes the server's API key.")
        return
    try:
        record = await runner.calls.locate(call_id)
    except Exception as exc:
        log.warning("cannot look up call %s: %s", call_id, exc)
        record = None
    if record is None:
        await _refuse(websocket, transport, "call_not_found", f"No live call '{call_id}'.")
        return
    if not runner.calls.holds(record):
        await proxy(websocket, record.address)
        return
    try:
        ended = await runner.join(record.session_id, transport, extensions)
    except KeyError:
        await _refuse(websocket, transport, "call_not_found", f"Call '{call_id}' has ended.")
        return
    if ended is not None:
        await websocket.close(code=1000, reason=ended)


async def proxy(websocket: WebSocket, address: str) -> None:
    """Pipe an accepted client socket to the same path and query on `address`."""
    base = "ws" + address.removeprefix("http")
    url = f"{base}{websocket.url.path}?{websocket.url.query}"
    headers = {k: websocket.headers[k] for k in FORWARDED_HEADERS if k in websocket.headers}
    offered = list(websocket.scope.get("subprotocols") or [])
    try:
        async with connect(url, additional_headers=headers, subprotocols=offered or None,
                           max_size=None, proxy=None) as holder:
            await _pipe(websocket, holder)
    except (OSError, ConnectionClosed) as exc:
        log.warning("the instance holding a call is unreachable at %s: %s", address, exc)
        await websocket.close(code=1011, reason="the instance holding the call is unreachable")


async def _pipe(websocket: WebSocket, holder: Any) -> None:
    async def to_holder() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            await holder.send(data if data is not None else message.get("bytes") or b"")

    async def to_client() -> None:
        async for message in holder:
            if isinstance(message, str):
                await websocket.send_text(message)
            else:
                await websocket.send_bytes(message)

    up, down = asyncio.create_task(to_holder()), asyncio.create_task(to_client())
    done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
    for task in (up, down):
        task.cancel()
    await asyncio.gather(up, down, return_exceptions=True)
    if down in done:  # the holder ended it: so does the client, for the same reason
        await websocket.close(code=holder.close_code or 1000, reason=holder.close_reason or "")
    else:
        await holder.close()
