"""The escape room in the browser: the door rattles on a wrong code and swings open on the
right one.

The first test scripts the server's events (exact control: which call the output answers,
malformed outputs); the second plays the Enigma for real through the page's text box,
with the code read from the server's live sessions (the player "solved the riddles").
"""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import silence
from tests.web.conftest import connect, debug, open_page, shot, wait_until, write_wav
from vivavoce.tools.escape_room import CODE, DOOR_OPEN

TURN_TIMEOUT_S = 240


def door(page: Any) -> str | None:
    return page.evaluate("() => document.body.dataset.door ?? null")


def tool_call(fake: Any, call_id: str, name: str, arguments: dict[str, Any]) -> None:
    item = {"id": f"item_{call_id}", "object": "realtime.item", "type": "function_call",
            "status": "completed", "call_id": call_id, "name": name,
            "arguments": json.dumps(arguments)}
    fake.send({"type": "conversation.item.added", "item": item, "previous_item_id": None})
    fake.send({"type": "conversation.item.done", "item": item, "previous_item_id": None})


def tool_output(fake: Any, call_id: str, output: str) -> None:
    item = {"id": f"item_out_{call_id}", "object": "realtime.item",
            "type": "function_call_output", "status": "completed", "call_id": call_id,
            "output": output}
    # As the server sends a server tool's output: added, then done.
    fake.send({"type": "conversation.item.added", "item": item, "previous_item_id": None})
    fake.send({"type": "conversation.item.done", "item": item, "previous_item_id": None})


def test_door_follows_the_lock_and_nothing_else(light_server, launch):
    live = light_server()
    page = open_page(launch(), f"{live.http}/")
    fake = connect(page)
    assert door(page) is None and page.is_hidden("#door")

    # Another tool saying "unlocked" is not the door.
    tool_call(fake, "call_other", "get_weather", {"city": "Paris"})
    tool_output(fake, "call_other", json.dumps({"unlocked": True}))
    # A cancelled lock call carries no verdict.
    tool_call(fake, "call_cancel", "unlock_door", {"code": "1234"})
    tool_output(fake, "call_cancel", json.dumps({"error": "Cancelled: the user interrupted."}))
    page.wait_for_timeout(300)
    assert door(page) is None and page.is_hidden("#door") and page.is_hidden("#door-shut")

    tool_call(fake, "call_wrong", "unlock_door", {"code": "0000"})
    tool_output(fake, "call_wrong", json.dumps(
        {"unlocked": False, "attempts": 1, "message": "The code 0 0 0 0 is wrong."}))
    wait_until(lambda: page.is_visible("#door-shut"), 5, "the door to rattle", page)
    assert door(page) == "shut"
    page.wait_for_timeout(700)  # the rattle is over; the notice stays a moment longer
    shot(page, "door-shut")
    assert page.is_hidden("#door")
    assert debug(page, "doorTries") == [{"call_id": "call_wrong", "unlocked": False}]
    assert debug(page, "doorOpen") is False
    wait_until(lambda: page.is_hidden("#door-shut"), 5, "the rattle to pass", page)

    tool_call(fake, "call_right", "unlock_door", {"code": "4719"})
    message = "The code 4 7 1 9 is right. The door swings open!"
    tool_output(fake, "call_right", json.dumps({"unlocked": True, "attempts": 2,
                                                "message": message}))
    wait_until(lambda: debug(page, "doorOpen"), 5, "the door to open", page)
    assert door(page) == "open"
    assert page.is_visible("#door")
    assert page.text_content("#door .door-message") == message
    # Each output arrives twice (added, then done) and counts once.
    assert [t["call_id"] for t in debug(page, "doorTries")] == ["call_wrong", "call_right"]

    page.wait_for_timeout(2200)
    shot(page, "door-open-scripted")
    page.click("#door-close")  # the overlay goes; the door stays open for the session
    assert page.is_hidden("#door") and door(page) == "open"
    assert page.problems == []


def responses_done(page: Any) -> list[dict[str, Any]]:
    return [e["response"] for e in debug(page, "log") if e["type"] == "response.done"]


def play_turn(page: Any, text: str) -> dict[str, Any]:
    """Type `text`; the model must call unlock_door. Returns the call item, once the
    follow-up answer has been spoken and the page is idle again."""
    before = len(responses_done(page))
    page.fill("#text-input", text)
    page.press("#text-input", "Enter")
    first = wait_until(lambda: responses_done(page)[before:], TURN_TIMEOUT_S,
                       f"the answer to {text!r}", page)[0]
    assert first["status"] == "completed", first
    calls = [i for i in first["output"] if i["type"] == "function_call"]
    assert [c["name"] for c in calls] == ["unlock_door"], first["output"]
    wait_until(lambda: len(responses_done(page)) >= before + 2 and debug(page, "state") == "idle",
               TURN_TIMEOUT_S, "the Enigma's spoken answer to the lock", page)
    follow_up = responses_done(page)[before + 1]
    assert follow_up["status"] == "completed", follow_up
    assert follow_up["output"][0]["content"][0]["transcript"].strip()
    return calls[0]


def test_the_player_wins_and_the_door_swings_open(light_server, launch, tmp_path):
    live = light_server()
    # A quiet room: the player only types.
    page = open_page(launch(write_wav(tmp_path / "quiet.wav", silence(1000))), f"{live.http}/")
    page.click("#settings-btn")
    page.wait_for_selector("#persona-field:not([hidden])")
    page.select_option("select[name=persona]", "enigma")
    page.click("#settings-form button[type=submit]")
    page.click("#start")
    wait_until(lambda: "connected" in page.text_content("#conn"), 30, "the connection", page)
    created = next(e for e in debug(page, "log") if e["type"] == "session.created")
    assert "The Enigma" in created["session"]["instructions"]
    room = live.app.state.sessions[created["session"]["id"]]
    code = room.state[CODE]
    assert door(page) is None

    wrong = "0000" if code != "0000" else "1111"
    play_turn(page, f"Try the code {wrong} on the door.")
    assert debug(page, "doorTries")[-1]["unlocked"] is False
    assert door(page) == "shut" and not debug(page, "doorOpen")
    assert page.is_hidden("#door") and not room.state[DOOR_OPEN]

    call = play_turn(page, f"Try the code {code} on the door.")
    assert debug(page, "doorTries")[-1] == {"call_id": call["call_id"], "unlocked": True}
    assert room.state[DOOR_OPEN] is True
    assert debug(page, "doorOpen") is True and door(page) == "open"
    assert page.is_visible("#door")
    assert " ".join(code) in page.text_content("#door .door-message")
    page.wait_for_timeout(2200)  # the swing is over
    shot(page, "door-open")
    assert debug(page, "errors") == []
    assert page.problems == []
