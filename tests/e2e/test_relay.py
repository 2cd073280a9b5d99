"""The relay brain between two real servers on loopback.

Upstream: a vivavoce server on the local cascade that requires a key (a real
implementation of the protocol, not a mock). In front: a vivavoce relay holding that
key. Clients are the openai SDK (GA and beta); no frame they receive may carry the key.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest
from openai import AsyncOpenAI

from tests.helpers import (
    BAD_INPUTS,
    UPSTREAM_KEY,
    LiveServer,
    bad_input_then_a_turn,
    relay_tools,
    silence,
    start_relay,
    start_server,
    upstream_app,
)
from tests.realtime_client import Recorder, audio_of
from vivavoce.bench.wer import wer
from vivavoce.brains.relay import Relay
from vivavoce.settings import Settings
from vivavoce.transports.app import create_app

TEXT = {"type": "realtime", "output_modalities": ["text"], "max_output_tokens": 60}


@pytest.fixture
def upstream(engines, cascade) -> Iterator[LiveServer]:
    live = start_server(upstream_app(engines, cascade), Settings(api_key=UPSTREAM_KEY))
    yield live
    live.stop()


@pytest.fixture
def relay(upstream) -> Iterator[LiveServer]:
    live = start_relay(upstream)
    yield live
    live.stop()


def assert_key_never_sent(rec: Recorder) -> None:
    assert rec.frames
    assert not [f for f in rec.frames if UPSTREAM_KEY.encode() in f]


async def text_session(connection) -> tuple[Recorder, dict]:
    """A Recorder on a fresh connection set to text answers; and its session.created."""
    rec = Recorder(connection)
    created = await rec.wait_for("session.created")
    await rec.send({"type": "session.update", "session": TEXT})
    await rec.wait_for("session.updated")
    return rec, created


async def text_turn(rec: Recorder, text: str) -> dict:
    await rec.send({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
    await rec.send({"type": "response.create"})
    return (await rec.wait_for("response.done", timeout=120))["response"]


def answer_text(response: dict) -> str:
    return " ".join(part.get("text") or part.get("transcript") or ""
                    for item in response["output"] if item["type"] == "message"
                    for part in item["content"])


async def test_spoken_turn_through_the_relay_ga(relay, speak, transcribe):
    client = AsyncOpenAI(base_url=f"{relay.http}/v1", api_key="anything")
    async with client.realtime.connect(model="gpt-realtime") as connection:
        rec = Recorder(connection)
        created = await rec.wait_for("session.created")
        assert created["session"]["tools"] == []  # the relay's own tools are not shown
        await rec.send({"type": "session.update", "session": {
            "type": "realtime", "max_output_tokens": 40,
            "audio": {"input": {"transcription": {"model": "whisper-1"}}}}})
        await rec.wait_for("session.updated")
        question = "What is the capital of Italy?"
        await rec.stream_audio(np.concatenate([speak(question), silence(1200)]))
        heard = await rec.wait_for("conversation.item.input_audio_transcription.completed")
        assert wer(question, heard["transcript"]) <= 0.25, heard["transcript"]
        done = (await rec.wait_for("response.done", timeout=120))["response"]
        assert done["status"] == "completed"
        (message,) = [i for i in done["output"] if i["type"] == "message"]
        transcript = message["content"][0]["transcript"]
        spoken = transcribe(audio_of(rec.events, done["id"]))
        assert transcript.strip() and wer(transcript, spoken) <= 0.35, (transcript, spoken)
        rec.close()
    assert_key_never_sent(rec)


async def test_beta_client_through_the_relay(relay):
    client = AsyncOpenAI(api_key="anything", websocket_base_url=f"{relay.ws}/v1")
    async with client.beta.realtime.connect(model="gpt-4o-realtime-preview") as connection:
        rec = Recorder(connection, beta=True)
        await rec.wait_for("session.created")
        await rec.send({"type": "session.update", "session": {
            "modalities": ["text"], "max_response_output_tokens": 40}})
        await rec.wait_for("session.updated")
        await rec.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Say hello in one short sentence."}]}})
        created = await rec.wait_for("conversation.item.created")
        assert created["item"]["content"][0]["text"].startswith("Say hello")
        await rec.send({"type": "response.create"})
        done = (await rec.wait_for("response.done", timeout=120))["response"]
        assert done["status"] == "completed"
        assert rec.of_type("response.text.delta")  # beta names on the way down
        assert not [e for e in rec.events
                    if e["type"].startswith(("response.output_text", "response.output_audio"))]
        rec.close()
    assert_key_never_sent(rec)


async def test_a_server_tool_is_run_by_the_relay(relay):
    client = AsyncOpenAI(base_url=f"{relay.http}/v1", api_key="anything")
    async with client.realtime.connect(model="gpt-realtime") as connection:
        rec, _ = await text_session(connection)
        first = await text_turn(rec, "What's the weather in Paris?")
        (call,) = [i for i in first["output"] if i["type"] == "function_call"]
        assert call["name"] == "get_weather"
        assert json.loads(call["arguments"])["city"].lower() == "paris"
        # The relay answered the call itself and asked for the spoken answer.
        answer = (await rec.wait_for("response.done", timeout=120))["response"]
        outputs = [e["item"] for e in rec.events if e["type"] == "conversation.item.added"
                   and e["item"]["type"] == "function_call_output"]
        assert [o["call_id"] for o in outputs] == [call["call_id"]]
        assert json.loads(outputs[0]["output"])["temperature_c"] == 31
        text = answer_text(answer).lower()
        assert "31" in text or "sunny" in text, text
        rec.close()
    assert_key_never_sent(rec)


async def test_the_conversation_survives_an_upstream_restart(engines, cascade):
    upstream = start_server(upstream_app(engines, cascade), Settings(api_key=UPSTREAM_KEY))
    relay = start_relay(upstream)
    try:
        client = AsyncOpenAI(base_url=f"{relay.http}/v1", api_key="anything")
        async with client.realtime.connect(model="gpt-realtime") as connection:
            rec, created = await text_session(connection)
            first = await text_turn(rec, "Hello! My name is Ada.")
            assert first["status"] == "completed"

            upstream.stop()  # the upstream goes away mid-conversation...
            lost = await rec.wait_for("error", timeout=30)
            assert lost["error"]["code"] == "upstream_lost"
            upstream = start_server(upstream_app(engines, cascade),
                                    Settings(api_key=UPSTREAM_KEY), port=upstream.port)

            # ...and the next turn, sent while the relay reconnects, knows the earlier fact.
            second = await text_turn(rec, "What is my name?")
            assert second["status"] == "completed", second
            assert "ada" in answer_text(second).lower(), answer_text(second)

            # The log holds the whole conversation, in order, across the two upstreams.
            url = f"{relay.http}/v1/sessions/{created['session']['id']}/items"
            with urllib.request.urlopen(url) as reply:
                items = json.load(reply)["items"]
            said = [(i["role"], i["content"][0].get("text") or "") for i in items
                    if i["type"] == "message"]
            assert [role for role, _ in said] == ["user", "assistant", "user", "assistant"]
            assert said[0][1] == "Hello! My name is Ada." and said[2][1] == "What is my name?"
            rec.close()
        assert_key_never_sent(rec)
        with urllib.request.urlopen(f"{relay.http}/metrics") as reply:
            metrics = reply.read().decode()
        assert "vivavoce_relay_upstream_drops_total 1.0" in metrics
        assert 'vivavoce_relay_tokens_total{direction="output",kind="text"}' in metrics
    finally:
        relay.stop()
        upstream.stop()


async def test_the_usage_cap_ends_the_session_politely(upstream):
    relay = start_relay(upstream, usage_cap=1)
    try:
        client = AsyncOpenAI(base_url=f"{relay.http}/v1", api_key="anything")
        async with client.realtime.connect(model="gpt-realtime") as connection:
            rec, _ = await text_session(connection)
            done = await text_turn(rec, "Say hello.")
            assert done["status"] == "completed"  # the turn that crossed the cap finishes
            limit = await rec.wait_for("error")
            assert limit["error"]["code"] == "session_usage_limit"
            await rec._reader  # the relay closes the connection
            rec.close()
    finally:
        relay.stop()


async def test_a_client_without_the_relays_key_is_refused(upstream):
    settings = Settings(brain="relay", api_key="relay-key")
    relay_brain = Relay(f"{upstream.ws}/v1/realtime", None, UPSTREAM_KEY, relay_tools())
    relay = start_server(create_app(settings, relay_brain, None), settings)
    try:
        client = AsyncOpenAI(base_url=f"{relay.http}/v1", api_key=UPSTREAM_KEY)
        async with client.realtime.connect(model="gpt-realtime") as connection:
            rec = Recorder(connection)
            refused = await rec.wait_for("error")
            assert refused["error"]["code"] == "invalid_api_key"
            rec.close()
    finally:
        relay.stop()


@pytest.mark.parametrize("name, frame, code", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
async def test_bad_input_through_the_relay_is_answered_and_the_session_goes_on(
        relay, name, frame, code):
    # The relay answers what it cannot parse; the upstream answers the rest.
    await bad_input_then_a_turn(relay.ws, frame, code)
