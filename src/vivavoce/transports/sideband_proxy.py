"""A sideband asked of one instance for a call another instance holds: the client's
socket is piped, frames unchanged both ways, to the same path and query on the holder
(its address from the call registry), under the same credential.

The holder is dialled before the client's socket is accepted, so the client's socket
opens once the holder's has (and takes the subprotocol the holder chose); the holder
answers for everything else, refusals included.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

log = logging.getLogger(__name__)
FORWARDED_HEADERS = ("authorization", "openai-beta")


async def proxy(websocket: WebSocket, address: str) -> None:
    """Pipe the (not yet accepted) client socket to the same path and query on `address`."""
    base = "ws" + address.removeprefix("http")
    url = f"{base}{websocket.url.path}?{websocket.url.query}"
    headers = {k: websocket.headers[k] for k in FORWARDED_HEADERS if k in websocket.headers}
    offered = list(websocket.scope.get("subprotocols") or [])
    try:
        async with connect(url, additional_headers=headers, subprotocols=offered or None,
                           max_size=None, proxy=None) as holder:
            await websocket.accept(subprotocol=holder.subprotocol)
            await _pipe(websocket, holder)
    except (OSError, ConnectionClosed, InvalidHandshake) as exc:
        log.warning("the instance holding a call is unreachable at %s: %s", address, exc)
        if websocket.application_state == WebSocketState.CONNECTING:
            await websocket.accept()
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
