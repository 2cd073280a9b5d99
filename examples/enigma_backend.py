"""The Enigma's door, refereed by your backend over the sideband (the seed pattern).

The browser never holds a key and never sees the code: it sends its SDP offer here;
this backend starts the call with vivavoce (a form with the server key and its own
session: the Enigma's instructions, the riddles — not their answers — and an
`unlock_door` tool it declares itself), returns the answer, joins the call's session
over the sideband and answers every `unlock_door` against the code only it knows.

    VIVAVOCE_URL=http://127.0.0.1:8000 VIVAVOCE_API_KEY=sk-... \\
        python examples/enigma_backend.py        # serves POST /call on :8100

A page then calls `POST http://127.0.0.1:8100/call` with its offer (`application/sdp`)
instead of vivavoce's `/v1/realtime/calls` (start vivavoce with
`--cors-origin http://127.0.0.1:8100` if the page is served from elsewhere).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx
import websockets
from fastapi import FastAPI, Request
from fastapi.responses import Response

from vivavoce.personas import get_persona
from vivavoce.tools import ToolContext
from vivavoce.tools.escape_room import CODE, RIDDLES, new_escape_room, unlock_door

UNLOCK_DOOR = {
    "type": "function", "name": "unlock_door",
    "description": "Try a four-digit code on the door.",
    "parameters": {"type": "object", "properties": {"code": {"type": "string"}},
                   "required": ["code"]},
}


class EnigmaBackend:
    def __init__(self, url: str, api_key: str | None) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.rooms: dict[str, dict[str, Any]] = {}  # call id → its room (code, riddles)
        self.tasks: set[asyncio.Task[None]] = set()

    def session(self, room: dict[str, Any]) -> dict[str, Any]:
        riddles = "\n".join(f"- digit {n}: {r}" for n, r in enumerate(room[RIDDLES], 1))
        return {"type": "realtime", "tools": [UNLOCK_DOOR], "instructions": (
            f"{get_persona('enigma').instructions}\nGive the player one riddle per reply, in "
            f"order; each answer is one digit of the door code:\n{riddles}\nWhen the player "
            "says a four-digit code, call unlock_door with it.")}

    async def start_call(self, offer: str) -> str:
        """The browser's offer → vivavoce's answer; the referee joins the call."""
        room: dict[str, Any] = {}
        new_escape_room(room)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            reply = await http.post(f"{self.url}/v1/realtime/calls", headers=headers, files={
                "sdp": (None, offer), "session": (None, json.dumps(self.session(room)))})
        reply.raise_for_status()
        call_id = reply.headers["location"].rsplit("/", 1)[-1]
        self.rooms[call_id] = room
        task = asyncio.create_task(self.referee(call_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return reply.text

    async def referee(self, call_id: str) -> None:
        """Answer the call's unlock_door calls until it ends."""
        ws_url = self.url.replace("http", "ws", 1) + f"/v1/realtime?call_id={call_id}"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        context = ToolContext(call_id, self.rooms[call_id])
        try:
            async with websockets.connect(ws_url, additional_headers=headers) as ws:
                async for message in ws:
                    event = json.loads(message)
                    if event["type"] != "response.function_call_arguments.done" \
                            or event["name"] != "unlock_door":
                        continue
                    code = str(json.loads(event["arguments"] or "{}").get("code", ""))
                    result = unlock_door(code, context)
                    await ws.send(json.dumps({"type": "conversation.item.create", "item": {
                        "type": "function_call_output", "call_id": event["call_id"],
                        "output": json.dumps(result)}}))
                    await ws.send(json.dumps({"type": "response.create"}))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.rooms.pop(call_id, None)

    def code(self, call_id: str) -> str:
        return self.rooms[call_id][CODE]


def create_app(backend: EnigmaBackend) -> FastAPI:
    app = FastAPI()

    @app.post("/call")
    async def call(request: Request) -> Response:
        answer = await backend.start_call((await request.body()).decode())
        return Response(answer, status_code=201, media_type="application/sdp")

    return app


if __name__ == "__main__":
    import uvicorn

    backend = EnigmaBackend(os.environ.get("VIVAVOCE_URL", "http://127.0.0.1:8000"),
                            os.environ.get("VIVAVOCE_API_KEY"))
    uvicorn.run(create_app(backend), host="127.0.0.1", port=8100)
