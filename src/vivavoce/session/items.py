"""Conversation items: construction, client-item validation, wire copies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.types import Item

_CONTENT_TYPES = {
    "user": {"input_text", "input_audio"},
    "system": {"input_text"},
    "assistant": {"output_text", "output_audio"},
}


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


def _need_str(obj: dict[str, Any], key: str, param: str, allow_empty: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        raise ProtocolError("missing_required_parameter",
                            f"Missing required parameter: '{param}'.", param)
    if not isinstance(value, str) or (not allow_empty and not value):
        raise ProtocolError("invalid_type", f"'{param}' must be a non-empty string.", param)
    return value


def parse_client_item(raw: Any, decode_audio: Callable[[str, str], np.ndarray]
                      ) -> tuple[Item, np.ndarray | None]:
    """Validate a client-supplied item; returns it and any input audio it carries."""
    if not isinstance(raw, dict):
        raise ProtocolError("missing_required_parameter" if raw is None else "invalid_type",
                            "'item' must be an object.", "item")
    item_id = raw.get("id") or ids.item_id()
    if not isinstance(item_id, str):
        raise ProtocolError("invalid_type", "'item.id' must be a string.", "item.id")
    type_ = raw.get("type", "message")
    if type_ == "function_call":
        item = function_call_item(item_id, _need_str(raw, "call_id", "item.call_id"),
                                  _need_str(raw, "name", "item.name"),
                                  _need_str(raw, "arguments", "item.arguments", True))
        item["status"] = "completed"
        return item, None
    if type_ == "function_call_output":
        return {**_base(item_id, "function_call_output", "completed"),
                "call_id": _need_str(raw, "call_id", "item.call_id"),
                "output": _need_str(raw, "output", "item.output", True)}, None
    if type_ != "message":
        raise ProtocolError("invalid_value",
                            f"Unsupported item type '{type_}'. Supported: message, "
                            "function_call, function_call_output.", "item.type")
    role = raw.get("role")
    if role not in _CONTENT_TYPES:
        raise ProtocolError("invalid_value", "'item.role' must be user, assistant or system.",
                            "item.role")
    content = raw.get("content")
    if not isinstance(content, list) or not content:
        raise ProtocolError("invalid_value", "'item.content' must be a non-empty array.",
                            "item.content")
    parts: list[dict[str, Any]] = []
    audio = None
    for index, part in enumerate(content):
        param = f"item.content[{index}]"
        if not isinstance(part, dict) or part.get("type") not in _CONTENT_TYPES[role]:
            raise ProtocolError("invalid_value",
                                f"'{param}.type' must be one of "
                                f"{sorted(_CONTENT_TYPES[role])} for role '{role}'.",
                                f"{param}.type")
        kind = part["type"]
        if kind in ("input_text", "output_text"):
            parts.append({"type": kind, "text": _need_str(part, "text", f"{param}.text", True)})
        elif kind == "input_audio":
            if audio is not None:
                raise ProtocolError("invalid_value", "Only one audio part per item.", param)
            audio = decode_audio(_need_str(part, "audio", f"{param}.audio"), f"{param}.audio")
            parts.append({"type": "input_audio", "transcript": part.get("transcript")})
        else:  # output_audio: an assistant turn given as its transcript
            parts.append({"type": "output_audio",
                          "transcript": _need_str(part, "transcript", f"{param}.transcript",
                                                  True)})
    item = {**_base(item_id, "message", "completed"), "role": role, "content": parts}
    return item, audio
