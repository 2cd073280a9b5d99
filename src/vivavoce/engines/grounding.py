"""Is a tool call grounded in what the user said?

A small model asked to "say hello" sometimes calls get_weather for a city from the
tool's own description, or get_time for the city of an example; an argument found
nowhere in the user's words (other than its default) means the call was not what they
asked for. What people say is spoken: "four two one seven" is the code 4217, "half
past seven" carries the 7 of "7:30 pm", "ten in the evening" the 10 of "10 pm".

A code or a number said digit by digit is a run of digits: "two one zero nine" is 2109,
never 109 (the 1.5B writes "109" for it, reading "two" as "to"), so the model reads
such runs as numerals, spaced as said ("2 1 0 9": joined, "one nine eight four" reads
as the novel 1984), and an argument made of digits must be a whole run.
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


_DIGIT = r"(?:zero|one|two|three|four|five|six|seven|eight|nine|\d+)"
# Three or more digits said one by one ("two one zero nine", "4, 2, 1, 7"): a code, a
# number, never words that happen to follow each other.
_SPOKEN_RUN = re.compile(rf"\b{_DIGIT}(?:[\s,-]+{_DIGIT}){{2,}}\b", re.IGNORECASE)
_DIGIT_RUN = re.compile(rf"\b{_DIGIT}(?:[\s,-]+{_DIGIT})*\b", re.IGNORECASE)


def _numerals(run: str) -> list[str]:
    return [_NUMBERS.get(w, w) for w in re.findall(r"\w+", run.lower())]


def with_numerals(text: str) -> str:
    """`text` with each run of digits said one by one in numerals, spaced as said."""
    return _SPOKEN_RUN.sub(lambda m: " ".join(_numerals(m.group())), text)


def digit_runs(text: str) -> set[str]:
    """The numbers said in `text`, each a run of digits in numerals or in digit words
    ("one nine eight four", "1 9 8 4" and "1984" are all 1984)."""
    return {"".join(_numerals(m.group())) for m in _DIGIT_RUN.finditer(text)} | set(
        re.findall(r"\d+", text))


def said_in(value: str, text: str) -> bool:
    """Whether `value` (an argument) comes from `text` (what the user said)."""
    shared = set(_words(value)) & set(_words(text))
    compact = re.sub(r"\W+", "", value.lower())
    if shared or len(compact) < 3:
        return bool(shared)
    if compact.isdigit():
        return compact in digit_runs(text)
    return compact in re.sub(r"\W+", "", text.lower())


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
