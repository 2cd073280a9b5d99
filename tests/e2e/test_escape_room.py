"""The escape room, won by a scripted player over the real protocol with the real models.

The player types (text turns, text answers: the same model and tools as spoken turns,
minus the audio). It "solved the riddles" by reading the code from the server's live
sessions, the hook operators and tests get; the client itself never sees the code.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openai import AsyncOpenAI

from tests.realtime_client import Recorder
from vivavoce.tools import ToolContext
from vivavoce.tools.escape_room import CODE, DOOR_OPEN, normalise_code

TURN_TIMEOUT_S = 180


async def say(player: Recorder, text: str) -> dict[str, Any]:
    """One typed turn; the response.done of the model's first response to it."""
    await player.send({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
    await player.send({"type": "response.create"})
    done = await player.wait_for("response.done", timeout=TURN_TIMEOUT_S)
    assert done["response"]["status"] == "completed", done["response"]
    return done["response"]


def message_text(response: dict[str, Any]) -> str:
    return " ".join(part.get("text") or part.get("transcript") or ""
                    for item in response["output"] if item["type"] == "message"
                    for part in item["content"]).strip()


async def try_code(player: Recorder, text: str, code: str) -> tuple[dict[str, Any], str]:
    """Say `text`; the model must call unlock_door with `code`.

    Returns the tool's output (parsed) and the words of the follow-up answer.
    """
    first = await say(player, text)
    calls = [i for i in first["output"] if i["type"] == "function_call"]
    assert [c["name"] for c in calls] == ["unlock_door"], message_text(first)
    (call,) = calls
    assert normalise_code(str(json.loads(call["arguments"])["code"])) == code, call

    # The server runs the tool itself: the client sees its output item (a quick tool's
    # may come before the calling response's response.done), then the answer.
    def is_output(e: dict) -> bool:
        return e["type"] == "conversation.item.done" \
            and e["item"]["type"] == "function_call_output" \
            and e["item"]["call_id"] == call["call_id"]

    told = [e for e in player.events if is_output(e)]
    output_item = (told[0] if told else await player.wait_for(is_output, timeout=30))["item"]
    follow_up = (await player.wait_for("response.done", timeout=TURN_TIMEOUT_S))["response"]
    assert follow_up["status"] == "completed", follow_up
    assert [i["type"] for i in follow_up["output"]] == ["message"], follow_up["output"]
    return json.loads(output_item["output"]), message_text(follow_up)


async def test_the_enigma_is_beaten_by_a_player_who_knows_the_code(server):
    client = AsyncOpenAI(base_url=f"{server.http}/v1", api_key="local")
    async with client.realtime.connect(model="vivavoce-local",
                                       extra_query={"persona": "enigma"}) as connection:
        player = Recorder(connection)
        created = await player.wait_for("session.created")
        session_id = created["session"]["id"]
        room: ToolContext = server.server.config.app.state.sessions[session_id]
        code = room.state[CODE]
        assert len(code) == 4 and code.isdigit()
        # The code lives in the model's private notes, never in what clients are told.
        instructions = created["session"]["instructions"]
        assert "The Enigma" in instructions
        assert code not in instructions and " ".join(code) not in instructions
        # unlock_door is the server's own tool: not one the client declared.
        assert created["session"]["tools"] == []

        await player.send({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"],
            "audio": {"input": {"turn_detection": None}}}})
        await player.wait_for("session.updated")

        riddle = await say(player, "Give me the riddle for the first digit, please.")
        assert [i["type"] for i in riddle["output"]] == ["message"], riddle["output"]
        assert message_text(riddle)
        assert not room.state[DOOR_OPEN]

        wrong = "0000" if code != "0000" else "1111"
        result, answer = await try_code(player, f"Try the code {wrong} on the door.", wrong)
        assert result["unlocked"] is False, result
        assert answer
        assert not room.state[DOOR_OPEN]

        # Digits written together: the local LLM's grounding check rejects a call whose
        # code ("4719") is not a word the player used ("4 7 1 9"); see the engine.
        result, answer = await try_code(player, f"Try the code {code} on the door.", code)
        assert result["unlocked"] is True, result
        assert room.state[DOOR_OPEN] is True
        assert answer  # the Enigma congratulates the player in words

        assert not player.of_type("error"), player.of_type("error")
        player.close()
    # The session is gone from the live list once its socket closes.
    await _eventually_gone(server, session_id)


async def _eventually_gone(server: Any, session_id: str) -> None:
    for _ in range(100):
        if session_id not in server.server.config.app.state.sessions:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{session_id} is still listed after its socket closed")
