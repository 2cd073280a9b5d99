"""Beta-dialect clients, auth, and bad input over a live socket."""

from __future__ import annotations

import base64
import json

import pytest
import websockets
from openai import AsyncOpenAI

from tests.realtime_client import Recorder
from tests.validation import validate_ga

TEXT_SESSION = {"type": "realtime", "output_modalities": ["text"], "max_output_tokens": 24,
                "audio": {"input": {"turn_detection": None}}}


async def test_beta_client_text_and_audio_turn(server):
    client = AsyncOpenAI(api_key="local", websocket_base_url=f"{server.ws}/v1")
    async with client.beta.realtime.connect(model="vivavoce-local") as connection:
        beta = Recorder(connection, beta=True)
        created = await beta.wait_for("session.created")
        assert created["session"]["input_audio_format"] == "pcm16"
        await beta.send({"type": "session.update", "session": {
            "modalities": ["audio", "text"], "voice": "alloy", "turn_detection": None,
            "output_audio_format": "g711_ulaw", "instructions": "Answer in one sentence."}})
        updated = await beta.wait_for("session.updated")
        assert updated["session"]["turn_detection"] is None
        assert updated["session"]["output_audio_format"] == "g711_ulaw"
        await beta.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Say hello."}]}})
        created_item = await beta.wait_for("conversation.item.created")
        assert created_item["item"]["content"][0]["text"] == "Say hello."
        await beta.send({"type": "response.create"})
        done = await beta.wait_for("response.done", timeout=120)
        assert done["response"]["status"] == "completed"
        deltas = beta.of_type("response.audio.delta")
        assert deltas, "beta names for audio deltas"
        # G.711 μ-law: one byte per sample at 8 kHz.
        ulaw = b"".join(base64.b64decode(e["delta"]) for e in deltas)
        assert len(ulaw) > 8000 * 0.3
        assert beta.of_type("response.audio_transcript.done")
        ga_names = ("response.output_audio", "response.output_text")
        assert not [e for e in beta.events if e["type"].startswith(ga_names)]
        beta.close()


async def raw_events(ws, until: str, limit: int = 200) -> list[dict]:
    events = []
    for _ in range(limit):
        event = json.loads(await ws.recv())
        validate_ga(event)
        events.append(event)
        if event["type"] == until:
            return events
    raise AssertionError(f"no {until} in {len(events)} events")


BAD_INPUTS = [
    ("malformed json", "{oops", "invalid_json"),
    ("not an object", "42", "invalid_json"),
    ("unknown type", json.dumps({"type": "response.explode"}), "invalid_value"),
    ("missing type", json.dumps({"event_id": "x"}), "missing_required_parameter"),
    ("bad base64", json.dumps({"type": "input_audio_buffer.append", "audio": "!!!"}),
     "invalid_base64"),
    ("audio wrong type", json.dumps({"type": "input_audio_buffer.append", "audio": [1]}),
     "invalid_type"),
    ("oversized audio", json.dumps({"type": "input_audio_buffer.append",
                                    "audio": "AAAA" * (4 * 1024 * 1024)}), "audio_too_large"),
    ("empty commit", json.dumps({"type": "input_audio_buffer.commit"}),
     "input_audio_buffer_commit_empty"),
    ("cancel nothing", json.dumps({"type": "response.cancel"}), "response_cancel_not_active"),
    ("truncate unknown", json.dumps({"type": "conversation.item.truncate", "item_id": "x",
                                     "content_index": 0, "audio_end_ms": 10}), "item_not_found"),
    ("delete unknown", json.dumps({"type": "conversation.item.delete", "item_id": "x"}),
     "item_not_found"),
    ("retrieve unknown", json.dumps({"type": "conversation.item.retrieve", "item_id": "x"}),
     "item_not_found"),
    ("session wrong type", json.dumps({"type": "session.update", "session": "loud"}),
     "invalid_type"),
    ("bad item", json.dumps({"type": "conversation.item.create", "item": {"type": "message",
                             "role": "user", "content": [{"type": "input_image"}]}}),
     "invalid_value"),
    ("bad previous item", json.dumps({"type": "conversation.item.create",
                                      "previous_item_id": "nope", "item": {
                                          "type": "message", "role": "user",
                                          "content": [{"type": "input_text", "text": "a"}]}}),
     "item_not_found"),
    ("binary frame", b"\x00\x01", "invalid_event"),
]


@pytest.mark.parametrize("name, frame, code", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
async def test_bad_input_is_answered_and_session_keeps_working(server, name, frame, code):
    await bad_input_then_a_turn(server.ws, frame, code)


async def bad_input_then_a_turn(base_ws: str, frame: str | bytes, code: str) -> None:
    async with websockets.connect(f"{base_ws}/v1/realtime", max_size=None) as ws:
        await raw_events(ws, "conversation.created")
        await ws.send(json.dumps({"type": "session.update", "session": TEXT_SESSION}))
        await raw_events(ws, "session.updated")
        await ws.send(frame)
        (error,) = [e for e in await raw_events(ws, "error")]
        assert error["error"]["code"] == code
        assert error["error"]["message"]
        # ...and a normal turn still works.
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Say hi."}]}}))
        await ws.send(json.dumps({"type": "response.create"}))
        events = await raw_events(ws, "response.done")
        assert events[-1]["response"]["status"] == "completed"
        assert events[-1]["response"]["output"][0]["content"][0]["text"].strip()
