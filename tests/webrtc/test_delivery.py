"""A call never drops on an ordinary request: no data-channel message is larger than the
caller accepts (its SCTP max-message-size), and an event that cannot be delivered is one
`error`, not the end of the call. A real server and an aiortc caller in the test's
network namespace, on scripted parts."""

from __future__ import annotations

import json

import numpy as np

from tests.fakes import FakeBrain, speech, voice
from tests.helpers import fail_once, silence
from tests.validation import validate_ga
from tests.webrtc.test_calls import KEY, text_turn
from tests.webrtc.test_sideband import sideband, until_event
from vivavoce.bench.call_client import CallClient
from vivavoce.bench.wer import wer
from vivavoce.transports.webrtc.call import WebRTCCall, remote_max_message_size


def sizes_of(client: CallClient) -> list[tuple[str, int]]:
    """Every data-channel message the caller gets: its type and size in bytes, as sent."""
    sizes: list[tuple[str, int]] = []
    client.channel.on("message", lambda m: sizes.append(
        (json.loads(m)["type"], len(m.encode() if isinstance(m, str) else m))))
    return sizes


async def test_a_long_utterance_is_retrieved_within_the_callers_limit(serve, callers):
    brain = FakeBrain(scripts=[[speech("Check the fan, the disk and the updates.", 600)]],
                      transcript="My laptop gets really slow after a few hours of use.")
    live = serve(brain=brain)
    client = callers()
    sizes = sizes_of(client)
    await client.call(live.http)
    limit = remote_max_message_size(client.pc.localDescription.sdp)
    assert limit == 262144  # what aiortc (as Chromium) announces
    await client.next("session.created", 15)
    # Ten seconds of speech: 480 KB of PCM16 at 24 kHz, 640 KB in base64.
    client.say(np.concatenate([voice(10_000), silence(800)]))
    _, committed = await client.next("input_audio_buffer.committed", 30)
    # As the Agents SDK does: fetch the user's item to keep its history in sync.
    client.send({"type": "conversation.item.retrieve", "item_id": committed["item_id"]})
    _, retrieved = await client.next("conversation.item.retrieved", 15)
    (part,) = retrieved["item"]["content"]
    assert part["type"] == "input_audio" and "audio" not in part
    done = await client.wait_for(lambda e: e["type"] == "response.done", 15)
    assert done["response"]["status"] == "completed"
    await client.wait_for(lambda e: e["type"] == "output_audio_buffer.stopped", 15)
    assert len(client.loud_since(0)) >= 20  # the answer was heard: 600 ms of it
    # The transcript came with it once known; nothing was refused or over the limit.
    client.send({"type": "conversation.item.retrieve", "item_id": committed["item_id"]})
    _, again = await client.next("conversation.item.retrieved", 15)
    assert again["item"]["content"][0]["transcript"] == brain.transcript
    assert max(size for _, size in sizes) <= limit
    assert ("conversation.item.retrieved", max(s for t, s in sizes
                                               if t == "conversation.item.retrieved")) \
        and not [e for e in client.log if e["type"] == "error"]
    for event in client.log:
        validate_ga(event)
    # A short item still comes with its audio.
    client.say(np.concatenate([voice(600), silence(800)]))
    _, short = await client.next("input_audio_buffer.committed", 30)
    client.send({"type": "conversation.item.retrieve", "item_id": short["item_id"]})
    _, whole = await client.next(lambda e: e["type"] == "conversation.item.retrieved"
                                 and e["item"]["id"] == short["item_id"], 15)
    assert len(whole["item"]["content"][0]["audio"]) > 40_000


async def test_an_event_too_large_for_the_channel_is_one_error_and_the_call_goes_on(
        serve, callers):
    brain = FakeBrain(scripts=[[speech("Still here.", 400)]])
    live = serve(brain=brain, api_key=KEY)
    client = callers()
    await client.call(live.http, token=KEY)
    await client.next("session.created", 15)
    backend = await sideband(live, client.call_id)
    seen: list[dict] = []
    # Over the sideband a backend may set instructions larger than a data channel carries.
    await backend.send(json.dumps({"type": "session.update", "session": {
        "type": "realtime", "instructions": "Answer briefly. " * 20_000}}))
    updated = await until_event(backend, "session.updated", seen)
    assert len(updated["session"]["instructions"]) == 320_000
    _, error = await client.next("error", 15)
    assert error["error"]["code"] == "event_too_large"
    assert "session.updated" in error["error"]["message"]
    # The call is up and the session answers with what was set.
    text_turn(client, "Are you there?")
    _, done = await client.next("response.done", 15)
    assert done["response"]["status"] == "completed"
    assert brain.requests[-1].instructions.startswith("Answer briefly.")
    assert [e["type"] for e in client.log].count("error") == 1
    await backend.close()


async def test_a_send_that_fails_once_does_not_end_the_call(serve, callers, monkeypatch):
    brain = FakeBrain(scripts=[[speech("One.", 400)], [speech("Two.", 400)]])
    live = serve(brain=brain)
    send = WebRTCCall._send_text
    failed: list[str] = []

    def fails_once(self: WebRTCCall, text: str) -> None:
        if '"response.output_audio_transcript.done"' in text and not failed:
            failed.append(text)
            raise RuntimeError("the channel is closing")  # as aiortc's InvalidStateError
        send(self, text)

    monkeypatch.setattr(WebRTCCall, "_send_text", fails_once)
    client = callers()
    await client.call(live.http)
    await client.next("session.created", 15)
    text_turn(client, "One?")
    _, error = await client.next("error", 15)
    assert error["error"]["type"] == "server_error" and failed
    _, first = await client.next("response.done", 15)
    text_turn(client, "Two?")
    _, second = await client.next(lambda e: e["type"] == "response.done"
                                  and e["response"]["id"] != first["response"]["id"], 15)
    assert second["response"]["output"][0]["content"][0]["transcript"] == "Two."
    assert client.pc.connectionState == "connected"


async def test_a_sideband_send_that_fails_once_leaves_it_and_the_call_going(
        serve, callers, monkeypatch):
    from vivavoce.transports.realtime_ws import WebSocketTransport

    brain = FakeBrain(scripts=[[speech("One.", 400)], [speech("Two.", 400)]])
    live = serve(brain=brain, api_key=KEY)
    client = callers()
    await client.call(live.http, token=KEY)
    await client.next("session.created", 15)
    failed = fail_once(monkeypatch, WebSocketTransport, "response.done")
    backend = await sideband(live, client.call_id)
    seen: list[dict] = []
    text_turn(client, "One?")
    error = await until_event(backend, "error", seen)
    assert failed and error["error"]["type"] == "server_error"
    assert "response.done" in error["error"]["message"]
    text_turn(client, "Two?")
    second = await until_event(backend, "response.done", seen)
    assert second["response"]["output"][0]["content"][0]["transcript"] == "Two."
    # The caller lost nothing: both answers reached it.
    await client.wait_for(lambda e: e["type"] == "response.done"
                          and e["response"]["id"] == second["response"]["id"], 15)
    assert len([e for e in client.log if e["type"] == "response.done"]) == 2
    assert not [e for e in client.log if e["type"] == "error"]
    await backend.close()


LONG_QUESTION = ("My laptop gets really slow after a few hours of use and the fan is loud. "
                 "It is about four years old and I mostly use it for email and video calls. "
                 "So what are the first three things I should check?")


async def test_a_long_spoken_question_keeps_the_call_up_on_the_real_models(
        serve, callers, cascade, vad_engine, speak, transcribe):
    live = serve(brain=cascade, vad=vad_engine)
    client = callers()
    sizes = sizes_of(client)
    await client.call(live.http)
    limit = remote_max_message_size(client.pc.localDescription.sdp)
    await client.next("session.created", 15)
    question = speak(LONG_QUESTION)
    assert len(question) / 24000 >= 9.5  # about ten seconds of speech
    client.send({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"transcription": {"model": "whisper-1"}}}}})
    client.say(np.concatenate([question, silence(1500)]))
    _, committed = await client.next("input_audio_buffer.committed", 60)
    client.send({"type": "conversation.item.retrieve", "item_id": committed["item_id"]})
    retrieved = await client.wait_for(lambda e: e["type"] == "conversation.item.retrieved", 30)
    assert "audio" not in retrieved["item"]["content"][0]
    done = await client.wait_for(lambda e: e["type"] == "response.done", 120)
    assert done["response"]["status"] == "completed"
    stopped = await client.wait_for(lambda e: e["type"] == "output_audio_buffer.stopped", 60)
    assert stopped["response_id"] == done["response"]["id"]
    # The answer was heard on the call, and it is what the transcript says it is.
    answer = done["response"]["output"][0]["content"][0]["transcript"]
    heard = transcribe(client.voice())
    assert len(heard.split()) >= 5 and wer(answer, heard) <= 0.5, (answer, heard)
    heard_question = next(e for e in client.log if e["type"] == "conversation.item."
                          "input_audio_transcription.completed")["transcript"]
    assert wer(LONG_QUESTION, heard_question) <= 0.25, heard_question
    assert max(size for _, size in sizes) <= limit
    assert not [e for e in client.log if e["type"] == "error"]
    assert client.pc.connectionState == "connected"
    for event in client.log:
        validate_ga(event)
