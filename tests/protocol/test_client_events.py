"""Client events are parsed into typed models at the edge: the known crashers, the names
of bad parameters, and how the models line up with the `openai` package's own."""

from __future__ import annotations

import logging
import typing

import pytest
from openai.types.realtime import RealtimeClientEvent

from tests.fakes import FakeVAD, settle
from vivavoce.bench.mutations import examples, nested, param, replace, string_paths
from vivavoce.protocol.client_events import EVENT_TYPES
from vivavoce.session.session import Session

# String fields a client may also leave null (in every event, or "in this one: ...").
NULLABLE = {
    "event_id", "previous_item_id", "item.id", "item.object", "item.status",
    "evt_user: item.content[1].transcript", "evt_call: item.call_id", "response_id",
    "session.audio.input.transcription.language", "session.audio.input.transcription.prompt",
    "session.audio.input.noise_reduction.type", "session.tracing.workflow_name",
    "session.tracing.group_id", "session.prompt.version", "session.reasoning.effort",
}
# Every string field of every client event, with each wrong kind of value in its place.
CRASHERS = [(example, path, bad) for example in examples()
            for path in string_paths(example) for bad in ([], {"a": 1}, 7, None)]


def new_session() -> Session:
    session = Session(session_id="sess_test", model="vivavoce-test", vad=FakeVAD())
    settle(session)
    return session


def a_turn_works(session: Session) -> None:
    """After whatever came before, a plain text turn is answered."""
    if session.responding:
        session.receive({"type": "response.cancel"})
    session.receive({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi?"}]}})
    session.receive({"type": "response.create", "response": {
        "output_modalities": ["text"], "tool_choice": "none"}})
    done = [e for e in settle(session) if e["type"] == "response.done"]
    assert done[-1]["response"]["status"] == "completed", done
    assert done[-1]["response"]["output"][0]["content"][0]["text"] == "Hi there."


@pytest.mark.parametrize("example, path, bad", CRASHERS, ids=[
    f"{example['type']}:{param(path)}={type(bad).__name__}" for example, path, bad in CRASHERS])
def test_a_wrong_kind_of_value_in_a_string_field_is_one_error(example, path, bad, caplog):
    session = new_session()
    for before in examples():  # the items the event may refer to exist
        if before["type"] == "conversation.item.create":
            session.receive(before)
    settle(session)
    session.receive(replace(example, path, bad))
    events = settle(session)
    errors = [e["error"] for e in events if e["type"] == "error"]
    name = param(path)
    if bad is None and NULLABLE & {name, f"{example['event_id']}: {name}"}:
        assert all(e["param"] != name for e in errors), errors
    else:
        assert len(errors) == 1, events
        # At the field, or inside the object put there.
        assert errors[0]["param"] == name or errors[0]["param"].startswith(
            (f"{name}.", f"{name}[")), errors
        assert errors[0]["type"] == "invalid_request_error" and errors[0]["message"]
        expected_id = example["event_id"] if name != "event_id" else None
        assert errors[0]["event_id"] == expected_id
    # Handled as a client mistake, never as a server failure.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    a_turn_works(session)


def test_the_reported_crash_a_list_as_an_items_role():
    session = new_session()
    for role in (["user"], {"role": "user"}, 3):
        session.receive({"type": "conversation.item.create", "event_id": "evt_1", "item": {
            "type": "message", "role": role, "content": [{"type": "input_text", "text": "x"}]}})
        (error,) = [e["error"] for e in settle(session)]
        assert (error["code"], error["param"], error["event_id"]) == \
            ("invalid_value", "item.role", "evt_1")
        assert "Supported values are: 'user', 'assistant' or 'system'" in error["message"]
    a_turn_works(session)


@pytest.mark.parametrize("event, code, param_name", [
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
      "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": 5}]}},
     "invalid_type", "item.content[1].text"),
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "assistant",
      "content": [{"type": "input_text", "text": "a"}]}},
     "invalid_value", "item.content[0].type"),
    ({"type": "conversation.item.create", "item": {"type": "function_call", "name": "f"}},
     "missing_required_parameter", "item.arguments"),
    ({"type": "conversation.item.create", "item": {
        "role": "user", "content": [{"type": "input_text", "text": "a"}], "colour": "red"}},
     "unknown_parameter", "item.colour"),
    ({"type": "response.create", "response": {"input": [{"type": "message", "role": "user",
      "content": [{"type": "input_audio", "audio": "!!"}]}]}},
     "invalid_base64", "response.input[0].content[0].audio"),
    ({"type": "response.create", "response": {"metadata": {"k": ["v"]}}},
     "invalid_type", "response.metadata.k"),
    ({"type": "session.update", "session": {"tools": [{"type": "function", "name": 7}]}},
     "invalid_type", "session.tools[0].name"),
    ({"type": "session.update", "session": {"tool_choice": {"type": "function"}}},
     "missing_required_parameter", "session.tool_choice.name"),
    ({"type": "session.update", "session": {"max_output_tokens": 1.5}},
     "invalid_type", "session.max_output_tokens"),
    ({"type": "session.update", "session": {"audio": {"input": {"turn_detection": {
        "type": "server_vad", "threshold": "0.5"}}}}},
     "invalid_type", "session.audio.input.turn_detection.threshold"),
    ({"type": "conversation.item.truncate", "item_id": "x", "audio_end_ms": True},
     "invalid_type", "audio_end_ms"),
    ({"type": "input_audio_buffer.append", "audio": "AAAA", "extra": 1},
     "unknown_parameter", "extra"),
    ({"type": "session.update", "session": {"tracing": nested(40)}}, "invalid_value", None),
])
def test_a_bad_parameter_is_named(event, code, param_name):
    """Where a bad value is, in the hosted API's notation; coerced nowhere (a string is
    not a number, true is not 1)."""
    session = new_session()
    session.receive(event)
    (error,) = [e["error"] for e in settle(session)]
    assert (error["code"], error["param"]) == (code, param_name), error
    a_turn_works(session)


def test_every_hosted_client_event_is_parsed_here():
    """Every event type of the openai package's RealtimeClientEvent has a model here, with
    at least the fields the hosted API accepts (vivavoce may accept more)."""
    theirs = {member.model_fields["type"].annotation.__args__[0]: member
              for member in typing.get_args(typing.get_args(RealtimeClientEvent)[0])}
    assert set(theirs) == set(EVENT_TYPES)
    for type_, model in theirs.items():
        assert set(model.model_fields) <= set(EVENT_TYPES[type_].model_fields), type_


def test_the_examples_are_valid_hosted_events():
    """The examples the crasher table mutates are valid for the hosted API too (save for
    item references in a response's input, which its types leave out)."""
    from pydantic import TypeAdapter

    hosted = TypeAdapter(RealtimeClientEvent)
    for example in examples():
        if example["type"] == "response.create":
            example["response"]["input"] = example["response"]["input"][1:]
        hosted.validate_python(example)
