"""What a pydantic complaint about a client's input means on the wire: one ProtocolError
naming the parameter the way the hosted API does (`item.content[0].text`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from vivavoce.protocol.errors import ProtocolError

# Union members are tagged "~name" (see client_events.one_of): not a parameter name.
TAG_MARK = "~"
_TYPE_ERRORS = {
    "string_type": "a string", "int_type": "an integer", "float_type": "a number",
    "bool_type": "a boolean", "list_type": "an array", "dict_type": "an object",
    "model_type": "an object", "model_attributes_type": "an object",
    "literal_error": None, "none_required": "null", "int_from_float": "an integer",
    "is_instance_of": "an object",
}
_LONGEST_SHOWN = 40


def param_path(prefix: str, loc: tuple[int | str, ...]) -> str | None:
    """`prefix` and a pydantic location as a parameter name, e.g. `item.content[0].text`."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith(TAG_MARK):
            path = f"{path}.{part}" if path else part
    return path or None


def json_kind(value: Any) -> str:
    """What a JSON value is, in the words of an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def shown(value: Any) -> str:
    """A client's value quoted in a message, cut short (it may be megabytes of audio)."""
    text = repr(value)
    return text if len(text) <= _LONGEST_SHOWN else text[:_LONGEST_SHOWN] + "…"


def problem(err: ValidationError, prefix: str = "") -> ProtocolError:
    """The first complaint in `err` as the error a client is sent."""
    first = err.errors(include_url=False)[0]
    param = param_path(prefix, first["loc"])
    kind = first["type"]
    value = first.get("input")
    if kind == "extra_forbidden":
        return ProtocolError("unknown_parameter", f"Unknown parameter: '{param}'.", param)
    if kind == "missing":
        return ProtocolError("missing_required_parameter",
                             f"Missing required parameter: '{param}'.", param)
    if kind == "literal_error":
        expected = (first.get("ctx") or {}).get("expected", "")
        return ProtocolError("invalid_value", f"Invalid value for '{param}': {shown(value)}. "
                             f"Supported values are: {expected}.", param)
    if kind in _TYPE_ERRORS:
        return ProtocolError("invalid_type", f"Invalid type for '{param}': expected "
                             f"{_TYPE_ERRORS[kind]}, but got {json_kind(value)}.", param)
    return ProtocolError("invalid_value", f"Invalid value for '{param}': {first['msg']}.", param)
