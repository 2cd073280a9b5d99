"""Fuzzing the sans-I/O session with Hypothesis: client events generated and mutated
(fields dropped, retyped, oversized, unknown; garbage text and bytes; deep nesting), in
both dialects. Whatever comes in: no exception escapes and no server_error stands in for
one, every event sent validates strictly, a bad event gets exactly one `error` (naming
the parameter), and a normal turn still works afterwards.

The budget is bounded for CI (VIVAVOCE_FUZZ_EXAMPLES scales it for a longer run);
`benchmarks/fuzz.py` does the long version over a live server.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeVAD, settle
from tests.protocol.test_client_events import a_turn_works
from tests.validation import validate_beta
from vivavoce.bench.mutations import AUDIO, examples, nested, param, replace
from vivavoce.protocol import beta
from vivavoce.protocol.client_events import EVENT_TYPES
from vivavoce.session.session import Session

BUDGET = int(os.environ.get("VIVAVOCE_FUZZ_EXAMPLES", "250"))
FUZZ = settings(max_examples=BUDGET, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXAMPLES = examples()
BETA_EXAMPLES: list[dict[str, Any]] = [
    {"type": "session.update", "session": {
        "modalities": ["text", "audio"], "voice": "alloy", "input_audio_format": "pcm16",
        "output_audio_format": "g711_ulaw", "input_audio_transcription": {"model": "whisper-1"},
        "turn_detection": {"type": "server_vad"}, "max_response_output_tokens": 64,
        "instructions": "Be brief.", "temperature": 0.7}},
    {"type": "conversation.item.create", "item": {
        "type": "message", "role": "assistant",
        "content": [{"type": "text", "text": "Hello."}, {"type": "audio", "transcript": "Hi."}]}},
    {"type": "response.create", "response": {"modalities": ["text"], "voice": "alloy",
                                             "output_audio_format": "pcm16",
                                             "max_response_output_tokens": 8}},
    {"type": "input_audio_buffer.append", "audio": AUDIO},
]
# Words the protocol uses, so that mutations often land near something meaningful.
WORDS = ["type", "event_id", "item", "role", "content", "text", "audio", "session", "response",
         "message", "user", "assistant", "system", "input_text", "input_audio", "output_text",
         "output_audio", "function_call", "auto", "none", "inf", "realtime", "audio/pcm",
         "server_vad", "item_user", "item_assistant", "call_1", "tools", "name", AUDIO]

leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                   st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
                   st.sampled_from(WORDS))
json_values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


def nodes(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every place in an event: (path, value), the free-form JSON of tool parameters aside."""
    found = [(path, value)]
    children = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        if key != "parameters":
            found += nodes(child, (*path, key))
    return found


@st.composite
def mutated(draw: st.DrawFn, pool: list[dict[str, Any]] = EXAMPLES) -> dict[str, Any]:
    """An example event with a few mutations: a field dropped, one added, a value
    replaced by anything, a string grown long."""
    event = copy.deepcopy(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(0, 3))):
        path, node = draw(st.sampled_from(nodes(event)))
        how = draw(st.sampled_from(["drop", "add", "replace", "grow"]))
        if how == "drop" and isinstance(node, dict) and node:
            del node[draw(st.sampled_from(sorted(node)))]
        elif how == "add" and isinstance(node, dict):
            node[draw(st.sampled_from(WORDS))] = draw(json_values)
        elif how == "grow" and isinstance(node, str) and path:
            event = replace(event, path, node * draw(st.integers(2, 400)))
        elif path:
            event = replace(event, path, draw(json_values))
    return event


def client_input(pool: list[dict[str, Any]] = EXAMPLES) -> st.SearchStrategy[Any]:
    """What a client may send: objects, their JSON text, garbage text or bytes."""
    typed = st.fixed_dictionaries({"type": st.sampled_from(sorted(EVENT_TYPES))},
                                  optional={w: json_values for w in WORDS[1:12]})
    return st.one_of(
        mutated(pool), mutated(pool).map(json.dumps), typed,
        st.dictionaries(st.sampled_from(WORDS), json_values, max_size=5),
        st.text(max_size=40), st.binary(max_size=40),
        st.integers(20, 1200).map(lambda depth: json.dumps(nested(depth))))


def new_session() -> Session:
    session = Session(session_id="sess_fuzz", model="vivavoce-test", vad=FakeVAD())
    settle(session)
    return session


def errors_in(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors = [e["error"] for e in events if e["type"] == "error"]
    # A server_error is the last line of defence catching a crash: a bug, even if survived.
    assert not [e for e in errors if e["type"] == "server_error"], errors
    return errors


@FUZZ
@given(st.lists(client_input(), min_size=1, max_size=12))
def test_whatever_a_client_sends_the_session_goes_on(inputs):
    session = new_session()
    for sent in inputs:
        session.receive(sent)
        assert len(errors_in(settle(session))) <= 1  # settle validates every event
    a_turn_works(session)


# Values of each JSON kind that no field of that other kind accepts.
OTHER_KINDS = {str: "§?", float: 1.5, bool: True, list: [[1]], dict: {"zz": 1}}


def _kind(value: Any) -> type:
    if value is None:  # a null field takes a string: leave those out
        return str
    if isinstance(value, bool):
        return bool
    return float if isinstance(value, int | float) else type(value)


@FUZZ
@given(st.data())
def test_a_value_of_the_wrong_kind_anywhere_is_one_error_naming_it(data):
    example = data.draw(st.sampled_from(EXAMPLES))
    path, value = data.draw(st.sampled_from(nodes(example)[1:]))
    wrong = data.draw(st.sampled_from([v for k, v in OTHER_KINDS.items() if k is not
                                       _kind(value)]))
    session = new_session()
    for before in EXAMPLES:  # the items events refer to exist
        if before["type"] == "conversation.item.create":
            session.receive(before)
    settle(session)
    session.receive(replace(example, path, wrong))
    (error,) = errors_in(settle(session))
    name = param(path)
    assert error["param"] == name or error["param"].startswith((f"{name}.", f"{name}[")), \
        (name, error)
    a_turn_works(session)


@FUZZ
@given(st.lists(client_input(BETA_EXAMPLES), min_size=1, max_size=10))
def test_the_beta_dialect_translates_whatever_comes_and_answers_in_beta(inputs):
    session = new_session()
    for sent in inputs:
        if isinstance(sent, dict):
            sent = beta.client_to_ga(sent)  # total: never raises
        session.receive(sent)
        events, _ = session.drain()
        for event in events:
            out = beta.server_to_beta(event)
            if out is not None and not out["type"].startswith("vivavoce."):
                validate_beta(out)
        settle(session)
    a_turn_works(session)


@FUZZ
@given(st.sampled_from(["session.update", "conversation.item.create", "response.create"]),
       st.dictionaries(st.sampled_from(WORDS), json_values, max_size=5))
def test_beta_translation_is_total(type_, fields):
    event = beta.client_to_ga({**fields, "type": type_})
    assert event["type"] == type_
