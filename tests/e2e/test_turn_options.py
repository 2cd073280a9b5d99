"""Turn-taking options and the function-call events, over a live socket."""

from __future__ import annotations

import json

import pytest
from openai import AsyncOpenAI

from tests.helpers import silence
from tests.realtime_client import Recorder
from vivavoce.personas import get_persona

WEATHER_TOOL = {
    "type": "function", "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}


@pytest.fixture
async def ga(server):
    client = AsyncOpenAI(base_url=f"{server.http}/v1", api_key="local")
    async with client.realtime.connect(model="vivavoce-local") as connection:
        recorder = Recorder(connection)
        await recorder.wait_for("session.created")
        yield recorder
        recorder.close()


async def ask(ga: Recorder, text: str, **session: object) -> None:
    """Configure the session (manual turns), then type `text` and ask for a response."""
    await ga.send({"type": "session.update", "session": {
        "type": "realtime", "audio": {"input": {"turn_detection": None}}, **session}})
    await ga.wait_for("session.updated")
    await ga.send({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
    await ga.send({"type": "response.create"})


async def test_client_tool_round_trip(ga):
    await ask(ga, "What's the weather in Paris?", output_modalities=["text"],
              tools=[WEATHER_TOOL])
    done = await ga.wait_for("response.done", timeout=120)
    calls = [i for i in done["response"]["output"] if i["type"] == "function_call"]
    assert calls, done["response"]["output"]
    call = calls[0]
    assert call["name"] == "get_weather"
    assert "paris" in json.loads(call["arguments"])["city"].lower()
    args_done = ga.of_type("response.function_call_arguments.done")[-1]
    assert args_done["call_id"] == call["call_id"] and args_done["arguments"] == call["arguments"]
    deltas = "".join(e["delta"] for e in ga.of_type("response.function_call_arguments.delta"))
    assert deltas == call["arguments"]

    await ga.send({"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": call["call_id"],
        "output": json.dumps({"city": "Paris", "temperature_c": 31, "sky": "sunny"})}})
    await ga.send({"type": "response.create"})
    answer = await ga.wait_for("response.done", timeout=120)
    text = answer["response"]["output"][0]["content"][0]["text"]
    assert "31" in text or "sunny" in text.lower(), text


async def test_a_server_tool_call_is_announced_at_once(ga):
    await ask(ga, "What time is it in Tokyo?")
    first = (await ga.wait_for("response.done", timeout=120))["response"]
    assert [i["type"] for i in first["output"]] == ["message", "function_call"], first
    # The persona's filler, spoken while the call was still being written.
    assert first["output"][0]["content"][0]["transcript"] in get_persona("assistant").filler
    kinds = [e["type"] for e in ga.events]
    assert kinds.index("response.output_audio.delta") < \
        kinds.index("response.function_call_arguments.delta")
    assert first["output"][1]["name"] == "get_time"
    answer = (await ga.wait_for("response.done", timeout=120))["response"]
    said = answer["output"][0]["content"][0]["transcript"]
    assert any(ch.isdigit() for ch in said), said


async def test_tool_choice_none_answers_in_words(ga):
    await ask(ga, "What's the weather in Paris?", output_modalities=["text"],
              tools=[WEATHER_TOOL], tool_choice="none")
    done = await ga.wait_for("response.done", timeout=120)
    assert [i["type"] for i in done["response"]["output"]] == ["message"]


async def test_out_of_band_response_stays_out_of_the_conversation(ga):
    await ga.send({"type": "response.create", "response": {
        "conversation": "none", "output_modalities": ["text"], "metadata": {"topic": "summary"},
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": "Say the word yes."}]}]}})
    done = await ga.wait_for("response.done", timeout=120)
    assert done["response"]["conversation_id"] is None
    assert done["response"]["metadata"] == {"topic": "summary"}
    assert not ga.of_type("conversation.item.added")


async def test_idle_timeout_prompts_the_assistant(ga):
    await ga.send({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}},
        "output_modalities": ["text"], "max_output_tokens": 30}})
    await ga.wait_for("session.updated")
    # The timer starts when an answer has finished (playing).
    await ga.send({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Say hi."}]}})
    await ga.send({"type": "response.create"})
    await ga.wait_for("response.done", timeout=120)
    await ga.stream_audio(silence(4000), realtime=False)
    assert not ga.of_type("input_audio_buffer.timeout_triggered")
    await ga.stream_audio(silence(5200), realtime=False)
    triggered = await ga.wait_for("input_audio_buffer.timeout_triggered", timeout=10)
    assert triggered["audio_end_ms"] - triggered["audio_start_ms"] >= 5000
    committed = await ga.wait_for("input_audio_buffer.committed")
    assert committed["item_id"] == triggered["item_id"]
    done = await ga.wait_for("response.done", timeout=120)
    assert done["response"]["status"] == "completed"


async def test_semantic_vad_is_accepted_and_detects_turns(ga, speak):
    await ga.send({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}},
        "output_modalities": ["text"], "max_output_tokens": 30}})
    updated = await ga.wait_for("session.updated")
    turn = updated["session"]["audio"]["input"]["turn_detection"]
    assert turn["type"] == "semantic_vad" and turn["eagerness"] == "high"
    await ga.stream_audio(speak("Good morning!"), realtime=False)
    # `high` waits at most 2 s of silence, however unfinished the words sound.
    await ga.stream_audio(silence(2100), realtime=False)
    await ga.wait_for("input_audio_buffer.speech_stopped", timeout=10)
    done = await ga.wait_for("response.done", timeout=120)
    assert done["response"]["status"] == "completed"
