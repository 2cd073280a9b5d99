"""Conversation items → chat-completions messages for an LLM."""

from __future__ import annotations

from typing import Any

from vivavoce.engines.base import Message

SILENT_TURN = "(The user has been silent for a while.)"


def _text_of(item: dict[str, Any]) -> str:
    parts = []
    for part in item.get("content") or []:
        text = part.get("text") if part.get("type") in ("input_text", "output_text") \
            else part.get("transcript")
        if text:
            parts.append(text)
    return " ".join(parts).strip()


def _next_type(items: list[dict[str, Any]], index: int) -> str | None:
    return items[index + 1].get("type") if index + 1 < len(items) else None


def to_messages(instructions: str, items: list[dict[str, Any]]) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": instructions}]
    for index, item in enumerate(items):
        kind = item.get("type")
        if kind == "message" and item["role"] == "assistant" and \
                _next_type(items, index) == "function_call":
            # Words said while a call was being written (the persona's filler) are the
            # server's, not the model's: seen as its own, it starts calls with words.
            continue
        if kind == "message":
            text = _text_of(item)
            if item["role"] == "user" and not text:
                text = SILENT_TURN
            if text:
                messages.append({"role": item["role"], "content": text})
        elif kind == "function_call":
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]}}
            last = messages[-1]
            # Parallel calls of one turn belong to one assistant message.
            if last["role"] == "assistant" and last.get("tool_calls") and not last["content"]:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"],
                             "content": item["output"]})
    return messages
