"""Is a tool call grounded in what the user said?

A small model asked to "say hello" sometimes calls get_weather for a city from the
tool's own description, or get_time for the city of an example; an argument found
nowhere in the user's words (other than its default) means the call was not what they
asked for. What people say is spoken: "four two one seven" is the code 4217, "half
past seven" carries the 7 of "7:30 pm", "ten in the evening" the 10 of "10 pm".
"""

from __future__ import annotations

import json
import re

from .base import Message, ToolCall, ToolSchema

_NUMBERS = {word: str(n) for n, word in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty"))}
_NUMBERS.update({"oh": "0", "nought": "0", "noon": "12", "midnight": "12",
                 "thirty": "30", "forty": "40", "fifty": "50", "half": "30",
                 "quarter": "15"})


def _words(text: str) -> list[str]:
    """The words of `text`, lower-cased, numbers said in words also as digits."""
    words = re.findall(r"\w+", text.lower())
    return [*words, *(_NUMBERS[w] for w in words if w in _NUMBERS)]


def _digits_said(text: str) -> str:
    """The digits said in `text` one after another, in numerals or in digit words ("one
    nine eight four", "1 9 8 4" and "1984" are all 1984)."""
    digits = []
    for word in re.findall(r"[a-z]+|\d+", text.lower()):
        if word.isdigit():
            digits.append(word)
        elif len(_NUMBERS.get(word, "")) == 1:
            digits.append(_NUMBERS[word])
    return "".join(digits)


def said_in(value: str, text: str) -> bool:
    """Whether `value` (an argument) comes from `text` (what the user said)."""
    words = set(_words(value))
    compact = re.sub(r"\W+", "", value.lower())
    return bool(words & set(_words(text))) or (len(compact) >= 3 and (
        compact in re.sub(r"\W+", "", text.lower())
        or (compact.isdigit() and compact in _digits_said(text))))


def last_user_text(messages: list[Message]) -> str:
    return next((m.get("content") or "" for m in reversed(messages) if m["role"] == "user"),
                "")


def grounded(call: ToolCall, tool: ToolSchema, said: str) -> bool:
    """Whether each of the call's free-text arguments (not its enums, not its default)
    comes from what the user `said`."""
    properties = (tool.get("parameters") or {}).get("properties", {})
    for name, value in json.loads(call.arguments).items():
        spec = properties.get(name, {})
        if spec.get("type") == "string" and "enum" not in spec and isinstance(value, str) \
                and value != spec.get("default") and re.search(r"\w", value) \
                and not said_in(value, said):
            return False
    return True
