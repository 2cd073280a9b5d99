"""A send that fails is not a dropped session: on the Realtime WebSocket, an event the
transport fails to deliver is one `error` and the next turn is answered (a live server on
scripted parts). The WebRTC call and its sideband: tests/webrtc/test_delivery.py; a
phone call: tests/telephony/test_phone_calls.py."""

from __future__ import annotations

import json

import websockets

from tests.fakes import FakeBrain
from tests.helpers import fail_once, raw_events, scripted_server, text_turn
from vivavoce.engines.base import TextDelta
from vivavoce.transports.realtime_ws import WebSocketTransport


async def test_a_websocket_send_that_fails_once_is_one_error(monkeypatch):
    failed = fail_once(monkeypatch, WebSocketTransport, "response.done")
    brain_ = FakeBrain(scripts=[[TextDelta("One.")], [TextDelta("Two.")]])
    with scripted_server(brain_) as live:
        async with websockets.connect(f"{live.ws}/v1/realtime") as ws:
            await raw_events(ws, "conversation.created")
            await ws.send(json.dumps({"type": "conversation.item.create", "item": {
                "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "One?"}]}}))
            await ws.send(json.dumps({"type": "response.create"}))
            events = await raw_events(ws, "error")
            assert failed and events[-1]["error"]["type"] == "server_error"
            assert "response.done" in events[-1]["error"]["message"]
            second = await text_turn(ws, "Two?")
            assert second["status"] == "completed"
            assert second["output"][0]["content"][0]["transcript"] == "Two."
