"""Server tools in the session state machine: run, answer, cancel — no sockets."""

from __future__ import annotations

import json

from tests.helpers import drain, types
from vivavoce.session.commands import CancelTool, Respond, RunTool
from vivavoce.session.session import Session

TOOL = {"type": "function", "name": "get_time", "description": "Time now.",
        "parameters": {"type": "object", "properties": {}}}


def started() -> tuple[Session, str]:
    s = Session(session_id="s", model="m", vad=None, server_tools=[TOOL],
                private_instructions="secret")
    drain(s)
    s.receive({"type": "response.create"})
    _, (respond,) = drain(s)
    assert respond.request.tools == [TOOL]
    assert respond.request.private_instructions == "secret"
    return s, respond.request.response_id


def test_slow_server_tool_answers_in_a_follow_up_response():
    s, rid = started()
    s.response_tool_call(rid, "get_time", "{}", "call_1")
    events, commands = drain(s)
    assert commands == [RunTool("call_1", "get_time", "{}")]
    s.response_finish(rid)
    events, commands = drain(s)
    assert "response.done" in types(events) and commands == []  # waits for the tool
    assert s.tools_pending
    s.tool_result("call_1", json.dumps({"time": "14:05"}))
    events, commands = drain(s)
    assert types(events) == ["conversation.item.added", "conversation.item.done",
                             "response.created"]
    assert events[0]["item"]["type"] == "function_call_output"
    assert events[0]["item"]["call_id"] == "call_1"
    (respond,) = commands
    assert isinstance(respond, Respond)
    kinds = [i["type"] for i in respond.request.items]
    assert kinds[-2:] == ["function_call", "function_call_output"]


def test_fast_tool_result_before_response_end_still_gets_answered():
    s, rid = started()
    s.response_tool_call(rid, "get_time", "{}", "call_1")
    s.tool_result("call_1", "{}")
    drain(s)
    s.response_finish(rid)
    events, commands = drain(s)
    assert types(events)[-2:] == ["rate_limits.updated", "response.created"]
    assert isinstance(commands[0], Respond)


def test_client_tools_are_left_to_the_client():
    s, rid = started()
    s.response_tool_call(rid, "open_door", "{}", "call_9")
    s.response_finish(rid)
    events, commands = drain(s)
    assert commands == [] and "response.created" not in types(events)


def test_a_client_tool_shadows_the_server_tool_of_the_same_name():
    s = Session(session_id="s", model="m", vad=None, server_tools=[TOOL])
    drain(s)
    mine = dict(TOOL, description="The client's own clock.")
    s.receive({"type": "session.update", "session": {"type": "realtime", "tools": [mine]}})
    s.receive({"type": "response.create"})
    _, (prefill, respond) = drain(s)  # the new tools are read in at once, then the response
    assert prefill.request.tools == respond.request.tools == [mine]
    rid = respond.request.response_id
    s.response_tool_call(rid, "get_time", "{}", "call_2")
    s.response_finish(rid)
    events, commands = drain(s)
    # The client answers its own tool: the server neither runs it nor waits for it.
    assert commands == [] and not s.tools_pending
    assert "response.created" not in types(events)


def test_interruption_cancels_a_running_tool():
    s, rid = started()
    s.response_tool_call(rid, "get_time", "{}", "call_1")
    s.response_finish(rid)
    drain(s)
    s.receive({"type": "response.create"})  # another turn starts...
    drain(s)
    s.receive({"type": "response.cancel"})  # ...and is cancelled: the tool goes too
    events, commands = drain(s)
    assert CancelTool("call_1") in commands
    outputs = [e for e in events if e["type"] == "conversation.item.added"
               and e["item"]["type"] == "function_call_output"]
    assert "Cancelled" in json.loads(outputs[0]["item"]["output"])["error"]
    s.tool_result("call_1", "{}")  # a late result is dropped
    assert drain(s) == ([], [])
