"""The conversation log, fed real session events (no sockets)."""

from __future__ import annotations

from tests.helpers import drain
from vivavoce.session.session import Session
from vivavoce.store import ConversationLog


def logged(session: Session, log: ConversationLog, event: dict) -> list[dict]:
    session.receive(event)
    events, _ = drain(session)
    for e in events:
        log.observe(e)
    return events


def text_item(role: str, text: str, item_id: str | None = None) -> dict:
    kind = "output_text" if role == "assistant" else "input_text"
    item = {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}
    return dict(item, id=item_id) if item_id else item


def test_items_are_kept_in_conversation_order_and_replayed_as_text():
    session, log = Session(session_id="s", model="m", vad=None), ConversationLog("s")
    drain(session)
    logged(session, log, {"type": "conversation.item.create", "item": text_item("user", "B", "b")})
    # Inserted before b, as the client asked: the log follows the conversation, not arrival.
    logged(session, log, {"type": "conversation.item.create", "previous_item_id": "root",
                          "item": text_item("user", "A", "a")})
    logged(session, log, {"type": "conversation.item.create",
                          "item": text_item("assistant", "C", "c")})
    logged(session, log, {"type": "conversation.item.create", "item": {
        "id": "f", "type": "function_call", "call_id": "call_1", "name": "get_time",
        "arguments": "{}"}})
    logged(session, log, {"type": "conversation.item.create", "item": {
        "id": "o", "type": "function_call_output", "call_id": "call_1", "output": "{}"}})
    assert [i["id"] for i in session.conversation] == [i["id"] for i in log.items()]
    assert [i["id"] for i in log.items()] == ["a", "b", "c", "f", "o"]
    assert log.replay() == [
        text_item("user", "A", "a"), text_item("user", "B", "b"),
        text_item("assistant", "C", "c"),
        {"id": "f", "type": "function_call", "call_id": "call_1", "name": "get_time",
         "arguments": "{}"},
        {"id": "o", "type": "function_call_output", "call_id": "call_1", "output": "{}"}]
    logged(session, log, {"type": "conversation.item.delete", "item_id": "b"})
    assert [i["id"] for i in log.items()] == ["a", "c", "f", "o"]


def test_a_spoken_turn_is_logged_with_its_transcript_once_it_arrives():
    log = ConversationLog("s")
    item = {"id": "u", "object": "realtime.item", "type": "message", "status": "completed",
            "role": "user", "content": [{"type": "input_audio", "transcript": None}]}
    # Added complete, it is final at once; told again as done, nothing changes.
    assert log.observe({"type": "conversation.item.added", "item": item,
                        "previous_item_id": None})
    assert log.items() == [item]
    assert not log.observe({"type": "conversation.item.done", "item": item})
    assert log.replay() == []  # no words yet: nothing to replay
    assert log.observe({"type": "conversation.item.input_audio_transcription.completed",
                        "item_id": "u", "content_index": 0, "transcript": "Hi there."})
    assert log.items()[0]["content"][0]["transcript"] == "Hi there."
    assert log.replay()[0]["content"] == [{"type": "input_text", "text": "Hi there."}]
