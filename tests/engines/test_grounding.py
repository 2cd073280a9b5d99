"""Is a tool call grounded in what the user said (engines/grounding): arguments come
from the user's words, numbers said digit by digit are whole runs of digits."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from vivavoce.engines.base import ToolCall
from vivavoce.engines.grounding import digit_runs, grounded, said_in, with_numerals

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
UNLOCK = {"name": "unlock_door", "parameters": {
    "type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}}
WEATHER = {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
CLOCK = {"name": "get_time", "parameters": {"type": "object", "properties": {
    "timezone": {"type": "string", "default": "local"}}}}


def unlock(code: str) -> ToolCall:
    return ToolCall("unlock_door", json.dumps({"code": code}))


def test_a_call_must_be_grounded_in_what_the_user_said():
    assert grounded(unlock("0000"), UNLOCK, "Is the code 0000?")
    assert grounded(unlock("0 0 0 0"), UNLOCK, "Is the code 0000?")
    assert grounded(unlock("1234"), UNLOCK, "Try 1 2 3 4.")
    assert not grounded(unlock("1234"), UNLOCK, "Hello there!")
    tokyo = ToolCall("get_weather", json.dumps({"city": "Tokyo"}))
    assert grounded(tokyo, WEATHER, "Is it raining in Tokyo?")
    assert not grounded(tokyo, WEATHER, "Say hello to me.")
    # An optional place, too, must be one the user named (or the tool's default).
    london = ToolCall("get_time", json.dumps({"timezone": "London"}))
    assert grounded(london, CLOCK, "What time is it in London?")
    assert not grounded(london, CLOCK, "Who wrote Romeo and Juliet?")
    assert grounded(ToolCall("get_time", json.dumps({"timezone": "local"})), CLOCK,
                    "What time is it?")


def test_a_number_is_a_whole_run_of_the_digits_said_not_a_part_of_one():
    said = "Let's try two one zero nine."
    assert grounded(unlock("2109"), UNLOCK, said)
    assert not grounded(unlock("109"), UNLOCK, said)  # "two" is not "to"
    assert not grounded(unlock("1090"), UNLOCK, said)
    assert not grounded(unlock("106"), UNLOCK, "One one zero six?")
    assert said_in("4217", "Is it 4, 2, 1, 7?")
    assert said_in("1234", "Call 555 1234.") and said_in("5551234", "Call 555 1234.")
    assert said_in("7:30", "Book it for half past seven.")


@given(st.lists(st.integers(0, 9), min_size=3, max_size=8),
       st.sampled_from(["Try {}.", "The code is {}?", "{} please", "Is it {}, maybe"]))
def test_digits_said_one_by_one_read_as_numerals_and_as_one_number(digits, saying):
    number = "".join(map(str, digits))
    spoken = saying.format(" ".join(DIGITS[d] for d in digits))
    assert with_numerals(spoken) == saying.format(" ".join(number))
    assert number in digit_runs(spoken) and said_in(number, spoken)
    assert not said_in(number[1:], spoken)  # a part of it is not what was said


def test_words_that_are_not_a_run_of_digits_are_left_as_they_are():
    for text in ("I have two one-year-olds.", "One or two, please.", "Someone won nine times",
                 "Born on 12 05 1990."):
        assert with_numerals(text) == text

