"""The conversation log: every finalized item of one session, in conversation order.

Built from the GA server events a client is sent, so it records the same thing for
any brain: the user's words (once transcribed), the assistant's, tool calls and their
outputs. It is what a relay replays into a fresh upstream session after a drop, and
what a `ConversationStore` saves. Pure: no I/O.
"""

from __future__ import annotations

import copy

from vivavoce.types import Event, Item


class ConversationLog:
    def __init__(self, session_id: str, restored: list[Item] | None = None) -> None:
        """`restored`: the finalized items a resumed session starts with, in order."""
        self.session_id = session_id
        self._order: list[str] = [item["id"] for item in restored or []]
        self._items: dict[str, Item] = {item["id"]: copy.deepcopy(item)
                                        for item in restored or []}
        self._final: set[str] = set(self._order)

    def observe(self, event: Event) -> bool:
        """Take in one GA server event; True when a finalized item changed."""
        type_ = event.get("type")
        item = event.get("item")
        if type_ == "conversation.item.added" and isinstance(item, dict) \
                and item.get("status") != "completed":
            self._place(item, event)
            return False
        # An item added complete (the client's own, a tool's output) is final at once.
        if type_ in ("conversation.item.added", "conversation.item.done",
                     "response.output_item.done") and isinstance(item, dict) and item.get("id"):
            if item["id"] not in self._items:
                self._place(item, event)
            elif item["id"] in self._final and self._items[item["id"]] == item:
                return False  # told again (done after added, a resumed session's redraw)
            self._items[item["id"]] = copy.deepcopy(item)
            self._final.add(item["id"])
            return True
        item_id = event.get("item_id")
        if item_id not in self._items:
            return False
        if type_ == "conversation.item.input_audio_transcription.completed":
            parts = self._items[item_id].get("content") or []
            index = event.get("content_index", 0)
            if 0 <= index < len(parts):
                parts[index]["transcript"] = event.get("transcript")
            return item_id in self._final
        if type_ == "conversation.item.deleted":
            self._order.remove(item_id)
            del self._items[item_id]
            self._final.discard(item_id)
            return True
        return False

    def _place(self, item: Item, event: Event) -> None:
        """Where the event says: after `previous_item_id`, first when that is null,
        last when the event does not say."""
        item_id = item.get("id")
        if not isinstance(item_id, str) or item_id in self._items:
            return
        previous = event.get("previous_item_id", "")
        if previous is None:
            at = 0
        elif previous in self._items:
            at = self._order.index(previous) + 1
        else:
            at = len(self._order)
        self._order.insert(at, item_id)
        self._items[item_id] = copy.deepcopy(item)

    def items(self) -> list[Item]:
        return [copy.deepcopy(self._items[i]) for i in self._order if i in self._final]

    def replay(self) -> list[Item]:
        """The log as `conversation.item.create` items for a fresh session: text stands
        in for audio (a transcript is all that was kept); items with no words are left out."""
        out = []
        for item in self.items():
            replayed = _replay_item(item)
            if replayed is not None:
                out.append(replayed)
        return out


def _replay_item(item: Item) -> Item | None:
    type_ = item.get("type")
    if type_ == "function_call":
        return {"id": item["id"], "type": "function_call", "call_id": item.get("call_id"),
                "name": item.get("name"), "arguments": item.get("arguments") or ""}
    if type_ == "function_call_output":
        return {"id": item["id"], "type": "function_call_output",
                "call_id": item.get("call_id"), "output": item.get("output") or ""}
    if type_ != "message":
        return None
    role = item.get("role")
    kind = "output_text" if role == "assistant" else "input_text"
    texts = [part.get("text") or part.get("transcript") or ""
             for part in item.get("content") or []]
    text = " ".join(t.strip() for t in texts if t and t.strip())
    if not text:
        return None
    return {"id": item["id"], "type": "message", "role": role,
            "content": [{"type": kind, "text": text}]}
