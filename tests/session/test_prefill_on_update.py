"""A session.update that changes the prompt prefix asks for it to be read at once."""

from __future__ import annotations

import json

from vivavoce.session.commands import Prefill
from vivavoce.session.session import Session

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def update(session: Session, **fields) -> list:
    session.receive(json.dumps({"type": "session.update",
                                "session": {"type": "realtime", **fields}}))
    return session.drain()[1]


def test_new_instructions_or_tools_are_prefilled_right_away():
    s = Session(session_id="sess_test", model="m", vad=None)
    s.drain()
    s.receive(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}}))
    s.drain()
    (prefill,) = update(s, instructions="You are Max, a pirate.")
    assert isinstance(prefill, Prefill)
    assert prefill.request.instructions == "You are Max, a pirate."
    assert [item["type"] for item in prefill.request.items] == ["message"]  # the conversation
    (prefill,) = update(s, tools=[WEATHER])
    assert [t["name"] for t in prefill.request.tools] == ["get_weather"]
    # Nothing in the prompt changed: nothing to read.
    assert update(s, output_modalities=["text"]) == []
    assert update(s, instructions="You are Max, a pirate.") == []
