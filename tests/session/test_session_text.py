"""The session state machine on its own: events in, events out, no sockets or models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import drain, types
from vivavoce.session.commands import Cancel, Respond, Transcribe
from vivavoce.session.session import Session


def make() -> Session:
    return Session(session_id="sess_test", model="m", vad=None)


def test_starts_with_session_and_conversation_created():
    events, _ = drain(make())
    assert types(events) == ["session.created", "conversation.created"]
    assert events[0]["session"]["model"] == "m"


def test_text_turn_lifecycle_and_ids():
    s = make()
    drain(s)
    s.receive(json.dumps({"type": "session.update", "event_id": "c1",
                          "session": {"type": "realtime", "output_modalities": ["text"]}}))
    s.receive(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}}))
    s.receive(json.dumps({"type": "response.create"}))
    events, commands = drain(s)
    assert types(events) == ["session.updated", "conversation.item.added",
                             "conversation.item.done", "response.created"]
    assert events[0]["session"]["output_modalities"] == ["text"]
    (respond,) = commands
    assert isinstance(respond, Respond)
    rid = respond.request.response_id
    assert respond.request.items[0]["content"][0]["text"] == "Hi"
    s.response_text(rid, "Hello")
    s.response_text(rid, " there.")
    s.response_finish(rid)
    events, _ = drain(s)
    assert types(events) == [
        "response.output_item.added", "conversation.item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "conversation.item.done",
        "response.done", "rate_limits.updated"]
    item_id = events[0]["item"]["id"]
    assert {e.get("item_id") for e in events[2:7]} == {item_id}
    assert all(e["response_id"] == rid for e in events if "response_id" in e)
    assert events[5]["text"] == "Hello there."
    done = events[9]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == \
        "Hello there."
    assert len({e["event_id"] for e in events}) == len(events)


def test_audio_response_truncate_keeps_what_was_heard():
    s = make()
    drain(s)
    s.receive({"type": "response.create"})
    _, (respond,) = drain(s)
    rid = respond.request.response_id
    second = np.zeros(24000, np.int16)
    s.response_audio(rid, second, "One two three four.")
    s.response_audio(rid, second, " Five six seven eight.")
    s.response_finish(rid)
    events, _ = drain(s)
    assert "response.output_audio.delta" in types(events)
    transcript = next(e for e in events if e["type"] == "response.output_audio_transcript.done")
    assert transcript["transcript"] == "One two three four. Five six seven eight."
    item_id = transcript["item_id"]
    s.receive({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
               "audio_end_ms": 1500})
    events, _ = drain(s)
    assert types(events) == ["conversation.item.truncated"]
    s.receive({"type": "conversation.item.retrieve", "item_id": item_id})
    events, _ = drain(s)
    assert events[0]["item"]["content"][0]["transcript"] == "One two three four. Five six"
    s.receive({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
               "audio_end_ms": 99999})
    events, _ = drain(s)
    assert events[0]["type"] == "error" and events[0]["error"]["param"] == "audio_end_ms"


def test_cancel_closes_response_and_ignores_late_output():
    s = make()
    drain(s)
    s.receive({"type": "response.create", "event_id": "evt1"})
    _, (respond,) = drain(s)
    rid = respond.request.response_id
    s.response_audio(rid, np.ones(4800, np.int16), "Hello.")
    s.receive({"type": "response.cancel"})
    events, commands = drain(s)
    assert isinstance(commands[0], Cancel) and commands[0].response_id == rid
    done = next(e for e in events if e["type"] == "response.done")["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "client_cancelled"
    s.response_audio(rid, np.ones(4800, np.int16), "late")
    s.response_finish(rid)
    assert drain(s) == ([], [])
    s.receive({"type": "response.cancel", "event_id": "evt2"})
    events, _ = drain(s)
    assert events[0]["error"]["code"] == "response_cancel_not_active"
    assert events[0]["error"]["event_id"] == "evt2"


def test_manual_commit_waits_for_transcript_before_responding():
    s = make()
    drain(s)
    s.receive({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
        "turn_detection": None, "transcription": {"model": "whisper-1"}}}}})
    audio = np.zeros(4800, "<i2").tobytes()
    import base64
    s.receive({"type": "input_audio_buffer.append", "audio": base64.b64encode(audio).decode()})
    s.receive({"type": "input_audio_buffer.commit"})
    s.receive({"type": "response.create"})
    events, commands = drain(s)
    assert types(events)[-4:] == ["input_audio_buffer.committed", "conversation.item.added",
                                  "conversation.item.done", "response.created"]
    assert [type(c) for c in commands] == [Transcribe]
    item_id = commands[0].item_id
    assert len(commands[0].audio) == 4800
    s.transcription_done(item_id, "What time is it?", 0.2)
    events, commands = drain(s)
    assert types(events) == ["conversation.item.input_audio_transcription.delta",
                             "conversation.item.input_audio_transcription.completed"]
    (respond,) = commands
    assert respond.request.items[-1]["content"][0]["transcript"] == "What time is it?"


@pytest.mark.parametrize("raw, code, param", [
    ("{not json", "invalid_json", None),
    ("[1, 2]", "invalid_json", None),
    (json.dumps({"type": "no.such.event"}), "invalid_value", "type"),
    (json.dumps({"no_type": 1}), "missing_required_parameter", "type"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "%%%not-base64"}),
     "invalid_base64", "audio"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": 42}), "invalid_type", "audio"),
    (json.dumps({"type": "input_audio_buffer.commit"}), "input_audio_buffer_commit_empty", None),
    (json.dumps({"type": "response.cancel"}), "response_cancel_not_active", None),
    (json.dumps({"type": "conversation.item.delete", "item_id": "nope"}), "item_not_found",
     "item_id"),
    (json.dumps({"type": "conversation.item.truncate", "item_id": "nope", "audio_end_ms": 1}),
     "item_not_found", "item_id"),
    (json.dumps({"type": "session.update", "session": {"type": "realtime", "bogus": 1}}),
     "unknown_parameter", "session.bogus"),
    (json.dumps({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "server_vad", "threshold": "high"}}}}}),
     "invalid_type", "session.audio.input.turn_detection.threshold"),
    (json.dumps({"type": "conversation.item.create", "item": {"type": "message",
                 "role": "robot", "content": []}}), "invalid_value", "item.role"),
    (json.dumps({"type": "response.create", "response": {"output_modalities": ["smell"]}}),
     "invalid_value", "response.output_modalities[0]"),
])
def test_bad_input_gives_error_and_session_continues(raw, code, param):
    s = make()
    drain(s)
    s.receive(raw)
    events, _ = drain(s)
    assert types(events) == ["error"], events
    assert events[0]["error"]["code"] == code
    assert events[0]["error"]["param"] == param
    assert events[0]["error"]["message"]
    s.receive({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "ok"}]}})
    events, _ = drain(s)
    assert types(events) == ["conversation.item.added", "conversation.item.done"]


def test_oversized_append_is_refused():
    s = make()
    drain(s)
    s.receive({"type": "input_audio_buffer.append", "audio": "A" * (15 * 1024 * 1024 + 4),
               "event_id": "big"})
    events, _ = drain(s)
    assert events[0]["error"]["code"] == "audio_too_large"
    assert events[0]["error"]["event_id"] == "big"
