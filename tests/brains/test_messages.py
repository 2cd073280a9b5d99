"""Conversation items as the LLM sees them."""

from __future__ import annotations

from vivavoce.brains.messages import to_messages


def message(role: str, text: str) -> dict:
    kind = "input_text" if role == "user" else "output_audio"
    key = "text" if role == "user" else "transcript"
    return {"type": "message", "role": role, "content": [{"type": kind, key: text}]}


def test_a_filler_said_while_a_call_was_written_is_not_the_models():
    items = [
        message("user", "What time is it?"),
        message("assistant", "Let me check."),  # the persona's filler
        {"type": "function_call", "call_id": "c1", "name": "get_time", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": '{"time": "10:30"}'},
        message("assistant", "It is half past ten."),
    ]
    messages = to_messages("Be brief.", items)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert messages[2]["content"] == "" and messages[2]["tool_calls"][0]["id"] == "c1"
    assert "Let me check." not in str(messages)
    assert messages[-1]["content"] == "It is half past ten."
