"""Phone calls end to end on scripted parts: the real webhook, stream endpoint, runner and
session, a simulated Twilio on loopback (vivavoce.bench.phone) and a scripted brain.
A test joins the call's session to see its events (each validated like a client's)."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import numpy as np
import pytest

from tests.fakes import Wait, speech, until, voice
from tests.helpers import fail_once, silence
from tests.telephony.conftest import AUTH_TOKEN, brain
from vivavoce.engines.base import ToolCall
from vivavoce.personas import get_persona
from vivavoce.store import store_for
from vivavoce.transports.twilio.stream import TwilioStream

COUNTING = [speech("One two three. ", 1000), speech("Four five six. ", 1000),
            speech("Seven eight nine.", 1000)]


def heard_ms(name: str) -> int:
    """What a mark says has played of its item: '<item>@<ms>ms#<n>'."""
    return int(re.fullmatch(r".+@(\d+)ms#\d+", name).group(1))


async def answered_call(phone_server, phones, *scripts, **settings):
    live = await phone_server(brain=brain(*scripts), **settings)
    phone = phones(live.caller())
    assert (await phone.dial()).status_code == 200
    await phone.connect()
    return live, phone, await live.watch(phone)


async def test_a_spoken_turn_is_answered_in_paced_frames_with_marks(phone_server, phones):
    _, phone, session = await answered_call(phone_server, phones, COUNTING[:2])
    phone.say(np.concatenate([voice(600), silence(800)]))
    done = (await session.wait_for("response.done", 10))["response"]
    assert done["status"] == "completed"
    await session.wait_for("output_audio_buffer.stopped", 10)
    loud = [f for f in phone.received if f.loud]
    # 2 s of answer, sent close to real time: never more than a small lead ahead.
    assert 1.9 <= len(loud) * 0.02 <= 2.1
    assert 1.7 <= loud[-1].at - loud[0].at <= 2.1
    item_id = done["output"][0]["id"]
    played = [heard_ms(e.name) for e in phone.echoes if e.played]
    assert played == sorted(played) and played[-1] >= 1990
    assert all(e.name.startswith(item_id) for e in phone.echoes)
    # The session heard it all, from the marks: started when the first one came back.
    assert [e["type"] for e in session.events if e["type"].startswith("output_audio_buffer")] \
        == ["output_audio_buffer.started", "output_audio_buffer.stopped"]
    assert not phone.clears


async def test_barge_in_clears_the_line_and_truncates_to_the_echoed_marks(phone_server, phones):
    _, phone, session = await answered_call(phone_server, phones, COUNTING,
                                            [speech("Yes?", 300)])
    phone.say(np.concatenate([voice(600), silence(800)]))
    first = (await session.wait_for("response.done", 10))["response"]
    item_id = first["output"][0]["id"]
    await session.wait_for("output_audio_buffer.started", 10)
    await asyncio.sleep(1.0)  # a second of the three played
    interrupted = await phone.started_at(phone.say(np.concatenate([voice(800), silence(800)])))
    await until(lambda: phone.clears, 5)
    cleared_at = phone.clears[0]
    assert cleared_at - interrupted < 0.5
    truncated = await session.wait_for("conversation.item.truncated", 5)
    proven = [heard_ms(e.name) for e in phone.echoes if e.played and e.at < cleared_at]
    assert truncated["item_id"] == item_id
    assert truncated["audio_end_ms"] == proven[-1]
    assert 900 <= truncated["audio_end_ms"] <= 1500
    # Marks pending at the clear were handed back at once, and prove nothing.
    assert any(not e.played for e in phone.echoes)
    # No more of the old answer while the caller talks: what comes next is the new answer,
    # once the caller has stopped (800 ms of voice, then the silence window).
    await session.wait_for(lambda e: e["type"] == "output_audio_buffer.stopped", 10)
    after = [f for f in phone.received if f.at > cleared_at and f.loud]
    assert len(after) == 15 and after[0].at > interrupted + 0.8
    session.put({"type": "conversation.item.retrieve", "item_id": item_id})
    item = (await session.wait_for("conversation.item.retrieved"))["item"]
    said = item["content"][0]["transcript"]
    # A second or so was heard: the first sentence, perhaps some of the second, no more.
    assert said.startswith("One two three.") and "Four five six. Seven" not in said
    assert "One two three. Four five six. Seven eight nine.".startswith(said)


async def test_key_presses_reach_the_model_as_words(phone_server, phones):
    live, phone, session = await answered_call(phone_server, phones, [speech("Hm.", 200)])
    scripted = live.app.state.runner.backend.brain
    await phone.press("4829#")
    await session.wait_for("response.done", 5)
    said = scripted.requests[-1].items[-1]
    assert said["role"] == "user"
    assert said["content"][0]["text"] == "The caller pressed 4 8 2 9"
    # Without `#`, a pause ends the sequence.
    started = time.monotonic()
    await phone.press("1*")
    await session.wait_for(lambda e: e["type"] == "response.done"
                           and len(scripted.requests) == 2, 5)
    assert time.monotonic() - started >= 1.9
    assert scripted.requests[-1].items[-1]["content"][0]["text"] == "The caller pressed 1 star"


async def test_keys_pressed_over_an_answer_cut_it(phone_server, phones):
    _, phone, session = await answered_call(phone_server, phones, COUNTING,
                                               [speech("Noted.", 200)])
    phone.say(np.concatenate([voice(600), silence(800)]))
    await session.wait_for("output_audio_buffer.started", 10)
    await asyncio.sleep(0.5)
    await phone.press("7#")
    await until(lambda: phone.clears, 5)
    truncated = await session.wait_for("conversation.item.truncated", 5)
    first = session.of_type("response.done")[0]["response"]
    assert truncated["item_id"] == first["output"][0]["id"]
    assert 400 <= truncated["audio_end_ms"] <= 900
    answer = await session.wait_for(lambda e: e["type"] == "response.done"
                                    and e["response"]["id"] != first["id"], 10)
    assert answer["response"]["output"][0]["content"][0]["transcript"] == "Noted."


async def test_malformed_frames_are_logged_and_the_call_goes_on(phone_server, phones, caplog):
    _, phone, session = await answered_call(phone_server, phones, [speech("Fine.", 300)])
    caplog.set_level(logging.WARNING, "vivavoce.transports.twilio")
    bad = [
        {"event": "media", "streamSid": phone.stream_sid, "media": {"payload": "!!not base64"}},
        {"event": "media", "streamSid": "MZsomeoneelse", "media": {"payload": "/w=="}},
        {"event": "transmogrify", "streamSid": phone.stream_sid},
        {"event": "dtmf", "streamSid": phone.stream_sid, "dtmf": {"digit": "x"}},
    ]
    for message in bad:
        await phone.send(message)
    await phone.send("{not json")
    await until(lambda: len([r for r in caplog.records if "skipped" in r.message]) >= 5)
    messages = " ".join(r.message for r in caplog.records)
    for reason in ("not base64", "another stream", "unknown event 'transmogrify'",
                   "unknown key", "not JSON"):
        assert reason in messages
    phone.say(np.concatenate([voice(500), silence(800)]))
    done = (await session.wait_for("response.done", 10))["response"]
    assert done["status"] == "completed"
    await until(lambda: phone.loud_since(0))


@pytest.mark.parametrize("ending", ["stop", "socket closed"])
async def test_hanging_up_ends_the_session_and_the_store_keeps_the_conversation(
        phone_server, phones, tmp_path, ending):
    live, phone, session = await answered_call(phone_server, phones, [speech("Hello!", 300)],
                                               data_dir=str(tmp_path), persona="butler")
    session_id = await live.session_of(phone)
    phone.say(np.concatenate([voice(500), silence(800)]))
    await session.wait_for("output_audio_buffer.stopped", 10)
    await (phone.hang_up() if ending == "stop" else phone.close())
    await until(lambda: session_id not in live.runner.sessions)
    assert phone.call_sid not in live.app.state.phone_calls.streams
    # Read back from the SQLite file by a store of its own, as `vivavoce sessions` would.
    store = store_for(data_dir=str(tmp_path))
    await store.open()
    try:
        record = await store.session(session_id)
        items = await store.items(session_id)
    finally:
        await store.close()
    assert record is not None and record.persona == "butler"
    assert [(i["type"], i.get("role")) for i in items] == [("message", "user"),
                                                           ("message", "assistant")]
    assert items[1]["content"][0]["transcript"] == "Hello!"


async def test_the_persona_greets_the_caller_first(phone_server, phones):
    live = await phone_server(brain=brain([speech("unused", 100)]), phone_greeting=True)
    phone = phones(live.caller())
    assert (await phone.dial("?persona=butler")).status_code == 200
    assert phone.parameters["persona"] == "butler" and phone.parameters["greeting"] == "1"
    await phone.connect()
    await until(lambda: phone.loud_since(0), 5)
    scripted = live.runner.backend.brain
    assert scripted.spoken == [get_persona("butler").greeting]
    assert not scripted.requests  # said as it is, not made up by the model


async def test_end_call_hangs_up_after_the_goodbye_has_played(phone_server, phones):
    goodbye = [ToolCall("end_call", '{"reason": "the caller is done"}', "call_1")]
    live, phone, session = await answered_call(phone_server, phones, goodbye,
                                               [speech("Goodbye!", 600)])
    session_id = await live.session_of(phone)
    phone.say(np.concatenate([voice(500), silence(800)]))
    await session.wait_for(lambda e: e["type"] == "conversation.item.done"
                           and e["item"]["type"] == "function_call_output", 10)
    await asyncio.wait_for(phone.closed.wait(), 10)
    assert phone.close_code == 1000
    # ...only once the goodbye had been heard.
    assert len([f for f in phone.played if f.loud]) * 0.02 >= 0.55
    await until(lambda: session_id not in live.runner.sessions)


async def test_a_stream_the_server_did_not_set_up_is_refused(phone_server, phones):
    live = await phone_server(brain=brain([speech("Hi.", 200)]), twilio_auth_token=AUTH_TOKEN)
    forger = phones(live.caller())
    await forger.connect(parameters={"persona": "assistant"})  # no token
    await asyncio.wait_for(forger.closed.wait(), 5)
    assert forger.close_code == 1008
    # A token for another call does not open this one.
    caller = phones(live.caller())
    assert (await caller.dial()).status_code == 200
    thief = phones(live.caller())
    await thief.connect(parameters=caller.parameters)
    await asyncio.wait_for(thief.closed.wait(), 5)
    assert thief.close_code == 1008
    # The real call, with its own token, is answered.
    await caller.connect()
    await live.session_of(caller)
    assert not caller.closed.is_set()


async def test_the_call_waits_for_a_response_still_being_made(phone_server, phones):
    hold = Wait()
    _, phone, session = await answered_call(phone_server, phones,
                                               [COUNTING[0], hold, COUNTING[1]])
    phone.say(np.concatenate([voice(500), silence(800)]))
    await session.wait_for("output_audio_buffer.started", 10)
    await asyncio.sleep(1.3)  # the first second has played; the rest is not made yet
    assert not session.of_type("output_audio_buffer.stopped")
    hold.go()
    await session.wait_for("output_audio_buffer.stopped", 10)
    assert 1.9 <= len([f for f in phone.received if f.loud]) * 0.02 <= 2.1


async def test_a_phone_stream_send_that_fails_once_is_not_a_dropped_call(
        phone_server, phones, monkeypatch, caplog):
    failed = fail_once(monkeypatch, TwilioStream, "response.output_audio.done")
    live = await phone_server(brain=brain([speech("One.", 600)], [speech("Two.", 600)]))
    phone = phones(live.caller())
    assert (await phone.dial()).status_code == 200
    await phone.connect()
    session = await live.watch(phone)
    phone.say(np.concatenate([voice(600), silence(800)]))
    first = await session.wait_for("response.done", 10)
    # One incident, logged; the stream was told too (it logs what it is told).
    await until(lambda: failed, 10)
    await until(lambda: [r for r in caplog.records if r.name.endswith("twilio.stream")
                         and "response.output_audio.done" in r.getMessage()], 10)
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    await until(lambda: sum(f.loud for f in phone.received) >= 25, 10)
    heard = len(phone.received)
    phone.say(np.concatenate([voice(600), silence(800)]))
    second = await session.wait_for(lambda e: e["type"] == "response.done"
                                    and e["response"]["id"] != first["response"]["id"], 10)
    assert second["response"]["status"] == "completed"
    # The second answer reached the caller too: the call is up.
    await until(lambda: sum(f.loud for f in phone.received[heard:]) >= 25, 10)
