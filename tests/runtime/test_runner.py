"""The runner and the session driver on scripted parts: no models, no sockets.

The runner, driver, session and store are the real ones; the brain, the VAD and the
client side are fakes (tests/fakes.py), so each test says exactly what the brain does
and when the user speaks.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading

import numpy as np
import pytest

from tests.fakes import FakeBrain, FakePlayer, FakeTransport, FakeVAD, Wait, speech, until, voice
from tests.helpers import silence
from vivavoce.engines.base import TextDelta, ToolCall, ToolCallStarted
from vivavoce.runtime import Context, Runner
from vivavoce.runtime.backends import SessionBackend
from vivavoce.settings import Settings
from vivavoce.store import store_for
from vivavoce.tools import ToolRegistry


def clock_tools() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool
    def get_time(timezone: str = "UTC") -> dict:
        """Get the time.

        Args:
            timezone: An IANA zone.
        """
        return {"time": "12:00", "timezone": timezone}

    return registry


def runner_for(brain: FakeBrain, store=None, **settings) -> Runner:
    backend = SessionBackend(brain, FakeVAD(), clock_tools())
    return Runner(Settings(**settings), backend, store)


async def open_session(runner: Runner, client: FakeTransport | None = None,
                       context: Context | None = None):
    client = client or FakeTransport()
    served = asyncio.create_task(runner.serve(client, context or Context()))
    await client.wait_for("conversation.created")
    return client, served


async def leave(client: FakeTransport, served: asyncio.Task) -> None:
    client.put(None)
    assert await asyncio.wait_for(served, 5) is None


def text_turn(client: FakeTransport, text: str, **response) -> None:
    client.put({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
    client.put({"type": "response.create", **({"response": response} if response else {})})


def transcript(client: FakeTransport, response_id: str) -> str:
    return "".join(e["delta"] for e in client.of_type("response.output_audio_transcript.delta")
                   if e["response_id"] == response_id)


async def test_a_response_started_at_the_pause_is_adopted_when_the_turn_ends():
    brain = FakeBrain(scripts=[[speech("It is noon.")]], transcript="What time is it?")
    client, served = await open_session(runner_for(brain))
    client.audio(np.concatenate([voice(800), silence(300)]))
    # At the first pause (64 ms) the utterance is transcribed and its answer started...
    await until(lambda: brain.finished)
    (ahead,) = brain.requests
    assert ahead.items[-1]["content"][0]["transcript"] == "What time is it?"
    # ...but nothing of it is sent while the user might go on.
    assert not client.of_type("response.created")
    assert not client.of_type("input_audio_buffer.speech_stopped")
    client.audio(silence(400))
    done = await client.wait_for("response.done")
    assert done["response"]["status"] == "completed"
    # The turn asked for exactly that response: adopted under its id, not made again.
    assert len(brain.requests) == 1 and done["response"]["id"] == ahead.response_id
    types = client.types()
    first_audio = types.index("response.output_audio.delta")
    assert types.index("input_audio_buffer.speech_stopped") < first_audio
    assert transcript(client, ahead.response_id) == "It is noon."
    assert len(brain.transcribed) == 1  # the pause's transcript became the item's
    await leave(client, served)


async def test_held_output_is_dropped_when_the_voice_comes_back():
    hold = Wait()
    brain = FakeBrain(scripts=[[speech("A wrong guess."), hold], [speech("The right answer.")]],
                      transcript="What time")
    client, served = await open_session(runner_for(brain))
    client.audio(np.concatenate([voice(800), silence(300)]))
    await until(lambda: brain.requests)
    guessed = brain.requests[0].response_id
    client.audio(np.concatenate([voice(600), silence(700)]))  # "...is it in Paris?"
    done = await client.wait_for("response.done")
    # The guess was cancelled as soon as the voice came back: its work stopped...
    assert brain.closed == [guessed]
    # ...and no word of it reached the client.
    assert not [e for e in client.events if e.get("response_id") == guessed]
    assert done["response"]["id"] != guessed
    assert transcript(client, done["response"]["id"]) == "The right answer."
    assert "wrong" not in json.dumps(client.events)
    await leave(client, served)


async def test_the_filler_is_said_before_the_tool_call_it_announces():
    brain = FakeBrain(scripts=[[ToolCallStarted(), ToolCall("get_time", '{"timezone": "UTC"}',
                                                            "call_1")],
                               [speech("It is twelve.")]])
    client, served = await open_session(runner_for(brain), context=Context(persona="assistant"))
    text_turn(client, "What time is it?")
    await client.wait_for(lambda e: e["type"] == "response.done"
                          and e["response"]["output"][-1]["type"] == "message"
                          and e["response"]["output"][-1]["content"][0]["transcript"]
                          == "It is twelve.")
    assert brain.spoken == ["Let me check."]  # the assistant persona's first filler
    types = client.types()
    filler = next(i for i, e in enumerate(client.events)
                  if e["type"] == "response.output_audio_transcript.delta"
                  and e["delta"] == "Let me check.")
    assert filler < types.index("response.function_call_arguments.done")
    # The server ran its tool, and the model's second pass saw the result.
    output = next(e["item"] for e in client.of_type("conversation.item.done")
                  if e["item"]["type"] == "function_call_output")
    assert json.loads(output["output"]) == {"time": "12:00", "timezone": "UTC"}
    assert brain.requests[1].items[-1]["type"] == "function_call_output"
    await leave(client, served)


async def test_a_brain_that_raises_fails_that_response_and_the_session_goes_on():
    brain = FakeBrain(scripts=[[TextDelta("Half an"), RuntimeError("the model fell over")],
                               [TextDelta("Hello again.")]])
    client, served = await open_session(runner_for(brain))
    text_turn(client, "Hi.", output_modalities=["text"])
    failed = (await client.wait_for("response.done"))["response"]
    assert failed["status"] == "failed"
    assert failed["status_details"]["error"]["message"] == \
        "RuntimeError: the model fell over"
    seen = len(client.events)
    text_turn(client, "Hi again.", output_modalities=["text"])
    done = (await client.wait_for("response.done", after=seen))["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["text"] == "Hello again."
    await leave(client, served)


async def test_a_cancelled_response_stops_the_brain():
    hold = Wait()
    brain = FakeBrain(scripts=[[TextDelta("Once upon a time"), hold, TextDelta(" the end.")]])
    client, served = await open_session(runner_for(brain))
    text_turn(client, "Tell me a story.", output_modalities=["text"])
    await client.wait_for("response.output_text.delta")
    client.put({"type": "response.cancel"})
    done = (await client.wait_for("response.done"))["response"]
    assert done["status"] == "cancelled"
    await until(lambda: brain.closed)
    hold.go()
    await asyncio.sleep(0.05)
    assert "the end" not in json.dumps(client.events)
    await leave(client, served)


async def test_audio_in_and_out_without_json():
    brain = FakeBrain(scripts=[[speech("Hello there.", 700)]])
    player = FakePlayer()
    client, served = await open_session(runner_for(brain), player)
    client.audio(np.concatenate([voice(600), silence(900)]))
    done = (await client.wait_for("response.done"))["response"]
    assert client.of_type("input_audio_buffer.speech_started")
    assert done["status"] == "completed"
    # The audio was played, whole, and not also sent as JSON.
    assert not client.of_type("response.output_audio.delta")
    played = np.concatenate([pcm for _, _, pcm in player.played])
    assert abs(len(played) - 24 * 700) <= 24 * 5
    assert {rid for rid, _, _ in player.played} == {done["id"]}
    assert transcript(client, done["id"]) == "Hello there."
    await leave(client, served)


async def test_a_listener_that_joins_hears_the_session_and_may_speak():
    brain = FakeBrain(scripts=[[TextDelta("Hi, both of you.")]])
    runner = runner_for(brain)
    client, served = await open_session(runner)
    session_id = client.events[0]["session"]["id"]
    backend = FakeTransport()
    joined = asyncio.create_task(runner.join(session_id, backend))
    await until(lambda: len(runner.sessions[session_id]._listeners) == 2)
    text_turn(backend, "Say hi to both.", output_modalities=["text"])
    for side in (client, backend):
        done = (await side.wait_for("response.done"))["response"]
        assert done["output"][0]["content"][0]["text"] == "Hi, both of you."
    assert not backend.of_type("session.created")  # it joined; it did not open a session
    await leave(client, served)
    assert await asyncio.wait_for(joined, 5) == "session ended"
    assert session_id not in runner.sessions


async def test_finalized_items_are_stored_before_they_are_acknowledged(tmp_path):
    store = store_for(data_dir=str(tmp_path))
    await store.open()
    writers: list[str] = []
    in_store: dict[str, list[str]] = {}
    transaction = store.db._transaction

    def recording(fn, write, locked):
        writers.append(threading.current_thread().name)
        return transaction(fn, write, locked)

    store.db._transaction = recording  # type: ignore[method-assign]
    client = FakeTransport()
    send = client.send

    async def check_store(event):
        # Final when added complete (the client's own item), or when done.
        if event["type"] == "conversation.item.done" or (
                event["type"] == "conversation.item.added"
                and event["item"]["status"] == "completed"):
            stored = await store.items(session_id)
            in_store.setdefault(event["item"]["id"], [i["id"] for i in stored])
        await send(event)

    client.send = check_store  # type: ignore[method-assign]
    brain = FakeBrain(scripts=[[TextDelta("Stored.")]])
    runner = runner_for(brain, store)
    session_id = ""
    served = asyncio.create_task(runner.serve(client, Context()))
    session_id = (await client.wait_for("session.created"))["session"]["id"]
    text_turn(client, "Keep this.", output_modalities=["text"])
    await client.wait_for("response.done")
    done_ids = [e["item"]["id"] for e in client.of_type("conversation.item.done")]
    assert len(done_ids) == 2
    for item_id in done_ids:
        assert item_id in in_store[item_id]  # in the store before the client heard of it
    assert writers and threading.main_thread().name not in writers  # off the event loop
    await leave(client, served)


async def test_an_unknown_persona_is_reported_and_the_default_used():
    client, served = await open_session(runner_for(FakeBrain()),
                                        context=Context(persona="nobody"))
    assert client.types()[:3] == ["session.created", "conversation.created", "error"]
    error = client.events[2]["error"]
    assert error["param"] == "persona" and "Using 'assistant'" in error["message"]
    assert "Viva" in client.events[0]["session"]["instructions"]
    await leave(client, served)


def told(value, key: str = "") -> list[str]:
    """Every piece of text in server events: not their ids (random letters and digits)
    and not their numbers (rate limits, token counts, times), which no model writes."""
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != "id" and not k.endswith("_id")
                for s in told(v, k)]
    if isinstance(value, list):
        return [s for v in value for s in told(v, key)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("persona, private", [("enigma", True), ("assistant", False)])
async def test_the_escape_room_is_set_up_for_the_enigma_only(persona, private):
    brain = FakeBrain()
    runner = runner_for(brain)
    client, served = await open_session(runner, context=Context(persona=persona))
    session_id = client.events[0]["session"]["id"]
    text_turn(client, "Hello?", output_modalities=["text"])
    await client.wait_for("response.done")
    state = runner.sessions[session_id].tools.state
    code = state.get("escape_room_code")
    assert (code is not None) == private
    if private:
        # In the model's private notes, never in what the client is told.
        assert " ".join(code) in brain.requests[0].private_instructions
        said = told(client.events)
        assert any("The Enigma" in text for text in said)  # its instructions were told
        shown = re.compile(rf"(?<!\d){code}(?!\d)|{' '.join(code)}|SECRET")
        assert [text for text in said if shown.search(text)] == []
    await leave(client, served)


async def test_the_speaking_speed_reaches_the_brain():
    brain = FakeBrain(scripts=[[ToolCallStarted(), ToolCall("get_time", "{}", "call_1")],
                               [speech("Noon.")]])
    client, served = await open_session(runner_for(brain))
    client.put({"type": "session.update", "session": {
        "type": "realtime", "audio": {"output": {"speed": 1.3}}}})
    assert (await client.wait_for("session.updated"))["session"]["audio"]["output"][
        "speed"] == 1.3
    text_turn(client, "What time is it?")
    await until(lambda: len(brain.finished) == 2)
    assert [r.speed for r in brain.requests] == [1.3, 1.3]
    assert brain.spoken_speeds == [1.3]  # the filler too
    await leave(client, served)
