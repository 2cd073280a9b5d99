"""Beta-dialect clients, auth, and bad input over a live socket."""

from __future__ import annotations

import base64

import pytest
from openai import AsyncOpenAI

from tests.helpers import BAD_INPUTS, bad_input_then_a_turn
from tests.realtime_client import Recorder


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


@pytest.mark.parametrize("name, frame, code", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
async def test_bad_input_is_answered_and_session_keeps_working(server, name, frame, code):
    await bad_input_then_a_turn(server.ws, frame, code)
