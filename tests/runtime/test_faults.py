"""Faults, floods and slow readers, on the real runner, driver and session with scripted
parts (tests/fakes.py): what fails takes one input with it, never the session; a client
that stops reading is let go with a reason; memory stays bounded."""

from __future__ import annotations

import asyncio
import json
import logging

import numpy as np

from tests.fakes import (
    FakeBrain,
    FakeTransport,
    Wait,
    break_log_on_final_items,
    speech,
    until,
    voice,
)
from tests.helpers import silence
from tests.runtime.test_runner import leave, open_session, runner_for, text_turn
from vivavoce.brains.base import AudioOut
from vivavoce.engines.base import TextDelta
from vivavoce.runtime import Context, InputAudio
from vivavoce.runtime.outbound import MAX_FAILURES_IN_A_ROW, TooLarge
from vivavoce.session.input_buffer import MAX_BUFFER_MS
from vivavoce.types import Ending, close_code


async def test_an_unexpected_failure_costs_one_event_not_the_session(caplog, monkeypatch):
    break_log_on_final_items(monkeypatch)
    brain = FakeBrain(scripts=[[TextDelta("Still here.")]])
    client, served = await open_session(runner_for(brain))
    client.put({"type": "conversation.item.create", "event_id": "evt_item", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}})
    failure = await client.wait_for("error")
    assert failure["error"]["type"] == "server_error"
    assert failure["error"]["event_id"] == "evt_item"
    # Logged once, with the traceback and what was being handled; the session goes on.
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "conversation.item.create" in record.getMessage() and record.exc_info
    client.put({"type": "session.update", "event_id": "evt_update", "session": {
        "instructions": "Be brief."}})
    updated = await client.wait_for("session.updated")
    assert updated["session"]["instructions"] == "Be brief."
    await leave(client, served)


async def test_an_engine_callback_that_fails_is_one_error_and_the_next_turn_works(caplog):
    # Not audio at all: the session cannot encode it.
    brain = FakeBrain(scripts=[[AudioOut("not audio", "Hello.")], [speech("Fine again.")]])  # type: ignore[arg-type]
    client, served = await open_session(runner_for(brain))
    text_turn(client, "Hi")
    failure = await client.wait_for("error")
    assert failure["error"]["type"] == "server_error"
    assert "response_audio" in failure["error"]["message"]
    first = await client.wait_for("response.done")
    text_turn(client, "Again?")
    second = await client.wait_for(lambda e: e["type"] == "response.done"
                                   and e["response"]["id"] != first["response"]["id"])
    assert second["response"]["status"] == "completed"
    assert second["response"]["output"][0]["content"][0]["transcript"] == "Fine again."
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    await leave(client, served)


class StopsReading(FakeTransport):
    """A client that reads `reads` events and then never again."""

    def __init__(self, reads: int) -> None:
        super().__init__()
        self.reads = reads
        self.stuck = asyncio.Event()

    async def send(self, event: dict) -> None:
        if len(self.events) >= self.reads:
            self.stuck.set()
            await asyncio.Event().wait()  # the socket's buffers are full: forever
        await super().send(event)


async def test_a_client_that_stops_reading_is_let_go_with_a_reason():
    chunk_ms = 500
    answer = [speech(f"Part {n}.", chunk_ms) for n in range(120)]  # a minute of speech
    brain = FakeBrain(scripts=[answer])
    runner = runner_for(brain, send_backlog_s=5)
    client = StopsReading(reads=3)
    served = asyncio.create_task(runner.serve(client, Context()))
    await client.wait_for("conversation.created")
    (live,) = runner.sessions.values()
    outbound = live.outbound(client)
    client.put({"type": "session.update", "session": {"instructions": "Talk a lot."}})
    text_turn(client, "Tell me everything.")
    ended = await asyncio.wait_for(served, 10)
    assert client.stuck.is_set()
    assert close_code(ended) == Ending.POLICY and ended.startswith("slow reader")
    # The queue never held much more than the 5 s of audio allowed: two events per chunk
    # (its audio and its words), and a few more.
    assert outbound.peak <= 2 * 5000 // chunk_ms + 12, outbound.peak
    assert len(outbound) == 0  # and what it held was let go, though the brain said it all
    assert brain.finished and not runner.sessions


async def test_a_slow_reader_within_the_backlog_gets_everything():
    class Slow(FakeTransport):
        async def send(self, event: dict) -> None:
            await asyncio.sleep(0.002)
            await super().send(event)

    brain = FakeBrain(scripts=[[speech(f"Part {n}.", 500) for n in range(10)]])
    client, served = await open_session(runner_for(brain), Slow())
    text_turn(client, "Go on.")
    done = await client.wait_for("response.done")
    assert done["response"]["status"] == "completed"
    assert len(client.of_type("response.output_audio.delta")) == 10
    await leave(client, served)


async def test_audio_faster_than_real_time_is_bounded_and_told_once():
    brain = FakeBrain(scripts=[[TextDelta("Heard you.")]])
    client, served = await open_session(runner_for(brain))
    client.put({"type": "session.update", "session": {
        "audio": {"input": {"turn_detection": None}}, "output_modalities": ["text"]}})
    await client.wait_for("session.updated")
    tone = voice(1000)
    for _ in range(MAX_BUFFER_MS // 1000 * 3):  # six minutes of audio, as fast as it goes
        client.put(InputAudio(tone))
    overflow = await client.wait_for("error")
    assert overflow["error"]["code"] == "input_audio_buffer_overflow"
    client.put({"type": "input_audio_buffer.commit"})
    committed = await client.wait_for("input_audio_buffer.committed")
    # Exactly the newest two minutes were kept.
    await until(lambda: brain.transcribed)
    assert brain.transcribed == [MAX_BUFFER_MS / 1000]
    assert len(client.of_type("error")) == 1  # told once, not with every append
    client.put({"type": "response.create"})
    done = await client.wait_for("response.done")
    assert done["response"]["status"] == "completed"
    assert committed["item_id"]
    await leave(client, served)


async def test_a_session_ends_at_its_maximum_length():
    hold = Wait()
    brain = FakeBrain(scripts=[[TextDelta("Long"), hold]])
    runner = runner_for(brain, max_session_s=0.3)
    client, served = await open_session(runner)
    text_turn(client, "Talk.", output_modalities=["text"])
    ended = await asyncio.wait_for(served, 5)
    assert (ended, close_code(ended)) == ("session expired", Ending.POLICY)
    error = client.of_type("error")[-1]["error"]
    assert error["code"] == "session_expired"
    assert "maximum duration of 0.005 minutes" in error["message"]
    assert brain.closed  # what was being made stopped
    hold.go()


async def test_the_input_buffer_never_holds_more_than_its_cap():
    from tests.fakes import FakeVAD
    from vivavoce.session.session import Session

    session = Session(session_id="s", model="m", vad=FakeVAD())
    session.receive({"type": "session.update", "session": {
        "audio": {"input": {"turn_detection": None}}}})
    largest = 0
    for _ in range(200):  # 200 s of audio with nobody committing
        session.append_audio(voice(1000))
        largest = max(largest, session._turns.buffer.duration_ms)
    assert largest == MAX_BUFFER_MS
    events, _ = session.drain()
    assert [e["error"]["code"] for e in events if e["type"] == "error"] == \
        ["input_audio_buffer_overflow"]
    session.receive({"type": "input_audio_buffer.clear"})
    session.append_audio(silence(100))
    assert session._turns.buffer.duration_ms == 100
    session.drain()
    np.testing.assert_equal(len(session._turns.buffer.take()), 2400)


async def test_a_background_task_that_fails_is_reported_and_the_session_goes_on(
        caplog, monkeypatch):
    """The response's own task fails where the driver cannot turn it into a failed
    response (keeping its item fails even as it reports that): the driver's last line
    of defence tells the client, and the session still answers."""
    break_log_on_final_items(monkeypatch)
    brain = FakeBrain(scripts=[[TextDelta("An answer to store.")]])
    client, served = await open_session(runner_for(brain))
    text_turn(client, "Hi", output_modalities=["text"])
    await until(lambda: any("_respond" in r.getMessage() for r in caplog.records))
    failures = [e["error"] for e in client.of_type("error")]
    assert failures and {f["type"] for f in failures} == {"server_error"}
    client.put({"type": "session.update", "session": {"instructions": "Still there?"}})
    assert (await client.wait_for("session.updated"))["session"]["instructions"] == \
        "Still there?"
    await leave(client, served)


class FailsOnce(FakeTransport):
    """A transport whose send raises once, for the first event of `type_`."""

    def __init__(self, type_: str, failure: Exception) -> None:
        super().__init__()
        self.type_ = type_
        self.failure: Exception | None = failure

    async def send(self, event: dict) -> None:
        if event["type"] == self.type_ and self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        await super().send(event)


async def test_an_event_the_transport_fails_to_send_is_one_error_and_the_session_goes_on(
        caplog):
    brain = FakeBrain(scripts=[[speech("First.")], [speech("Second.")]])
    client, served = await open_session(runner_for(brain), FailsOnce(
        "response.output_audio_transcript.done", RuntimeError("the channel is closing")))
    text_turn(client, "One?")
    failure = await client.wait_for("error")
    assert failure["error"]["type"] == "server_error"
    assert "response.output_audio_transcript.done" in failure["error"]["message"]
    first = await client.wait_for("response.done")
    # One incident, logged with what was being sent (never the event itself).
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "sending a response.output_audio_transcript.done" in record.getMessage()
    assert record.exc_info
    text_turn(client, "Two?")
    second = await client.wait_for(lambda e: e["type"] == "response.done"
                                   and e["response"]["id"] != first["response"]["id"])
    assert second["response"]["output"][0]["content"][0]["transcript"] == "Second."
    assert len(client.of_type("error")) == 1
    await leave(client, served)


class SmallMessages(FakeTransport):
    """A transport that carries at most `limit` bytes of JSON per message (a data channel)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.refused: list[str] = []

    async def send(self, event: dict) -> None:
        size = len(json.dumps(event))
        if size > self.limit:
            self.refused.append(event["type"])
            raise TooLarge(size, self.limit)
        await super().send(event)


async def test_an_item_too_large_with_its_audio_is_retrieved_without_it():
    brain = FakeBrain(scripts=[[TextDelta("Heard.")]], transcript="A long question.")
    client, served = await open_session(runner_for(brain), SmallMessages(20_000))
    client.put({"type": "session.update", "session": {"audio": {"input": {
        "turn_detection": None, "transcription": {"model": "whisper-1"}}}}})
    await client.wait_for("session.updated")
    client.audio(voice(2000))  # 2 s: ~128 KB of base64
    client.put({"type": "input_audio_buffer.commit"})
    committed = await client.wait_for("input_audio_buffer.committed")
    await client.wait_for("conversation.item.input_audio_transcription.completed")
    client.put({"type": "conversation.item.retrieve", "item_id": committed["item_id"]})
    retrieved = await client.wait_for("conversation.item.retrieved")
    assert client.refused == ["conversation.item.retrieved"]
    (part,) = retrieved["item"]["content"]
    assert "audio" not in part and part["transcript"] == "A long question."
    assert not client.of_type("error")  # documented behaviour, not a failure
    # A short one fits with its audio.
    client.audio(voice(100))
    client.put({"type": "input_audio_buffer.commit"})
    seen = len(client.events)
    short = await client.wait_for("input_audio_buffer.committed", after=seen)
    client.put({"type": "conversation.item.retrieve", "item_id": short["item_id"]})
    small = await client.wait_for("conversation.item.retrieved", after=len(client.events))
    assert small["item"]["content"][0]["audio"]
    await leave(client, served)


async def test_an_event_that_never_fits_is_one_error_and_the_session_goes_on(caplog):
    brain = FakeBrain(scripts=[[TextDelta("Still here.")]])
    client, served = await open_session(runner_for(brain), SmallMessages(20_000))
    client.put({"type": "session.update", "event_id": "evt_big", "session": {
        "instructions": "Be brief. " * 3000}})
    error = await client.wait_for("error")
    assert client.refused == ["session.updated"]
    assert error["error"]["code"] == "event_too_large"
    assert "session.updated" in error["error"]["message"]
    assert "20000 bytes" in error["error"]["message"]
    assert [r.levelno for r in caplog.records if r.levelno >= logging.ERROR] == [logging.ERROR]
    # The update took effect (only its announcement was too large), and the session goes on.
    text_turn(client, "Hi", output_modalities=["text"])
    done = await client.wait_for("response.done")
    assert done["response"]["status"] == "completed"
    assert brain.requests[-1].instructions.startswith("Be brief. Be brief.")
    await leave(client, served)


async def test_a_transport_that_fails_every_send_is_let_go():
    class Broken(FakeTransport):
        async def send(self, event: dict) -> None:
            if event["type"] not in ("session.created", "conversation.created"):
                raise OSError("the network is down")
            await super().send(event)

    brain = FakeBrain(scripts=[[TextDelta(f"Word {n}. ") for n in range(60)]])
    client, served = await open_session(runner_for(brain), Broken())
    text_turn(client, "Talk.", output_modalities=["text"])
    ended = await asyncio.wait_for(served, 5)
    assert close_code(ended) == Ending.INTERNAL
    assert ended == f"{MAX_FAILURES_IN_A_ROW} events in a row could not be delivered"
