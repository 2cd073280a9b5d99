"""The escape room: random codes, private hints, and unlock_door."""

from __future__ import annotations

import json

import pytest

from vivavoce.tools import ToolContext
from vivavoce.tools.builtin import registry
from vivavoce.tools.escape_room import (
    CODE,
    escape_room_hints,
    new_escape_room,
    unlock_door,
)


@pytest.fixture
def room() -> ToolContext:
    ctx = ToolContext(session_id="sess_1", state={})
    new_escape_room(ctx.state)
    ctx.state[CODE] = "4719"  # a known code; riddles stay as drawn
    return ctx


def test_codes_are_random_four_digit_strings() -> None:
    codes = set()
    for _ in range(50):
        state: dict = {}
        new_escape_room(state)
        assert len(state[CODE]) == 4 and state[CODE].isdigit()
        assert state["door_open"] is False
        codes.add(state[CODE])
    assert len(codes) > 40


def test_hints_hold_the_code_and_one_riddle_per_digit() -> None:
    state: dict = {}
    new_escape_room(state)
    hints = escape_room_hints(state)
    assert " ".join(state[CODE]) in hints
    for ordinal in ("first", "second", "third", "fourth"):
        assert f"{ordinal} digit:" in hints
    assert "unlock_door" in hints
    assert escape_room_hints(state) == hints  # stable, so the prompt cache holds


def test_wrong_codes_are_refused_and_counted(room: ToolContext) -> None:
    first = unlock_door("1234", room)
    assert first["unlocked"] is False and first["attempts"] == 1
    assert "4719" not in first["message"] and "4 7 1 9" not in first["message"]
    assert unlock_door("0000", room)["attempts"] == 2
    assert room.state["door_open"] is False


def test_malformed_codes_do_not_count(room: ToolContext) -> None:
    result = unlock_door("12", room)
    assert result["unlocked"] is False and result["attempts"] == 0
    assert "four digits" in result["message"]


@pytest.mark.parametrize("spoken", ["4719", "4 7 1 9", "4-7-1-9", "four seven one nine",
                                    "for seven won nine", "the code is 4719"])
def test_right_code_in_any_spelling_opens(room: ToolContext, spoken: str) -> None:
    unlock_door("1111", room)
    result = unlock_door(spoken, room)
    assert result == {"unlocked": True, "attempts": 2,
                      "message": "The code 4 7 1 9 is right. The door swings open!"}
    assert room.state["door_open"] is True
    assert unlock_door("0000", room)["unlocked"] is True  # it stays open


def test_no_game_no_door() -> None:
    assert unlock_door("1234", ToolContext("s", {}))["unlocked"] is False


async def test_unlock_through_the_registry(room: ToolContext) -> None:
    # A small model often sends the code as a number.
    output = json.loads(await registry.call("unlock_door", '{"code": 4719}', room))
    assert output["unlocked"] is True
    assert "context" not in json.dumps(registry.schemas(["unlock_door"]))
