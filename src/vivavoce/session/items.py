"""Conversation items: construction, items from clients, wire copies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from vivavoce.protocol import client_events as ce
from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.types import Item


def wire(item: Item) -> Item:
    """A copy safe to put in an event: later changes to the item don't leak into it."""
    return copy.deepcopy(item)


def _base(item_id: str, type_: str, status: str) -> Item:
    return {"id": item_id, "object": "realtime.item", "type": type_, "status": status}


def user_audio_item(item_id: str) -> Item:
    return {**_base(item_id, "message", "completed"), "role": "user",
            "content": [{"type": "input_audio", "transcript": None}]}


def assistant_item(item_id: str, audio: bool) -> Item:
    part = {"type": "output_audio", "transcript": ""} if audio else \
        {"type": "output_text", "text": ""}
    return {**_base(item_id, "message", "in_progress"), "role": "assistant", "content": [part]}


def function_call_item(item_id: str, call_id: str, name: str, arguments: str) -> Item:
    return {**_base(item_id, "function_call", "in_progress"), "call_id": call_id, "name": name,
            "arguments": arguments}


def audio_content_index(item: Item) -> int | None:
    for index, part in enumerate(item.get("content") or []):
        if part.get("type") in ("input_audio", "output_audio"):
            return index
    return None


def set_user_transcript(item: Item, text: str) -> None:
    index = audio_content_index(item)
    if index is not None:
        item["content"][index]["transcript"] = text


def set_assistant_transcript(item: Item, text: str) -> None:
    part = item["content"][0]
    part["transcript" if part["type"] == "output_audio" else "text"] = text


def client_item(item: ce.ClientItem, decode_audio: Callable[[str, str], np.ndarray],
                where: str = "item") -> tuple[Item, np.ndarray | None]:
    """A conversation item from a client's (already typed) item, and any input audio it
    carries; `where` names it in errors."""
    item_id = item.id or ids.item_id()
    if isinstance(item, ce.FunctionCall):
        made = function_call_item(item_id, item.call_id or ids.call_id(), item.name,
                                  item.arguments)
        made["status"] = "completed"
        return made, None
    if isinstance(item, ce.FunctionCallOutput):
        return {**_base(item_id, "function_call_output", "completed"), "call_id": item.call_id,
                "output": item.output}, None
    parts: list[dict[str, Any]] = []
    audio = None
    for index, part in enumerate(item.content):
        param = f"{where}.content[{index}]"
        if isinstance(part, ce.InputAudio):
            if audio is not None:
                raise ProtocolError("invalid_value", "Only one audio part per item.", param)
            audio = decode_audio(part.audio, f"{param}.audio")
            parts.append({"type": "input_audio", "transcript": part.transcript})
        elif isinstance(part, ce.OutputAudio):
            parts.append({"type": "output_audio", "transcript": part.transcript})
        else:
            parts.append({"type": part.type, "text": part.text})
    return {**_base(item_id, "message", "completed"), "role": item.role, "content": parts}, audio
