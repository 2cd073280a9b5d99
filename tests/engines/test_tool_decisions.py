"""The local LLM's tool decisions (engines/llama_llm: decide, then fill): the escape room
opens on a code however the player says it, a client tool gets valid arguments, and
no call is made with arguments the user did not give. The scores that chose each call
are printed with their margin over the threshold (pytest -s)."""

from __future__ import annotations

import json
import re
import threading

import pytest

from vivavoce.brains.cascade import SPOKEN_STYLE
from vivavoce.brains.factory import build_llm
from vivavoce.engines.base import LLMRequest, Message, TextDelta, ToolCall, ToolCallStarted
from vivavoce.personas import get_persona
from vivavoce.settings import Settings
from vivavoce.tools.builtin import registry
from vivavoce.tools.escape_room import CODE, RIDDLES, escape_room_hints, new_escape_room

pytestmark = pytest.mark.slow

ROOMS = 10
SAYINGS = ["Try {code}.", "The code is {code}.", "Is it {code}?", "Let's try {spoken}."]
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
LIGHTS = {
    "type": "function", "name": "set_lights",
    "description": "Switch the lights of a room on or off, or dim them.",
    "parameters": {"type": "object", "required": ["room", "state"], "properties": {
        "room": {"type": "string", "enum": ["kitchen", "bedroom", "living room"]},
        "state": {"type": "string", "enum": ["on", "off", "dim"]}}}}


def reply(llm, messages: list[Message], tools: list[dict]) -> list:
    return list(llm.stream(LLMRequest(messages, tools, max_tokens=40), threading.Event()))


def decided(chunks: list) -> tuple[ToolCall | None, ToolCallStarted | None, str]:
    calls = [c for c in chunks if isinstance(c, ToolCall)]
    started = [c for c in chunks if isinstance(c, ToolCallStarted)]
    words = "".join(c.text for c in chunks if isinstance(c, TextDelta))
    return (calls[0] if calls else None), (started[0] if started else None), words


def test_the_escape_room_opens_on_a_code_however_it_is_said(llm_engine):
    enigma = get_persona("enigma")
    tools = registry.schemas(enigma.tools)
    margins = []
    # Random rooms, and codes whose spoken digits the model once misread ("two" as "to").
    for room, given in enumerate([*[None] * ROOMS, "2109", "1106"]):
        state: dict = {}
        new_escape_room(state, given)
        code = state[CODE]
        system = {"role": "system", "content": "\n\n".join(
            (SPOKEN_STYLE, enigma.instructions, escape_room_hints(state)))}
        riddle = {"role": "assistant", "content": f"Here is the first digit: {state[RIDDLES][0]}"}
        saying = (SAYINGS[room % len(SAYINGS)] if given is None else SAYINGS[-1]).format(
            code=code, spoken=" ".join(DIGITS[int(d)] for d in code))
        for history in ([], [{"role": "user", "content": "Give me a clue."}, riddle]):
            chunks = reply(llm_engine, [system, *history, {"role": "user", "content": saying}],
                           tools)
            call, started, words = decided(chunks)
            assert call is not None and call.name == "unlock_door", (saying, words)
            assert json.loads(call.arguments)["code"].replace(" ", "") == code, call
            assert started is not None and started.score is not None
            margins.append(started.score - started.threshold)
            print(f"room {room}: {saying!r}{' after a riddle' if history else ''}: "
                  f"score {started.score:.3f}, threshold {started.threshold:.3f}")
    print(f"margins: least {min(margins):.3f}, median {sorted(margins)[len(margins) // 2]:.3f}")


def test_a_client_tool_gets_valid_enum_values_and_no_invented_arguments(llm_engine):
    persona = get_persona("assistant")
    system = {"role": "system", "content": f"{SPOKEN_STYLE}\n\n{persona.instructions}"}
    tools = [*registry.schemas(persona.tools), LIGHTS]
    call, started, _ = decided(reply(llm_engine, [system, {
        "role": "user", "content": "Turn off the lights in the kitchen, please."}], tools))
    assert call is not None and call.name == "set_lights", call
    assert json.loads(call.arguments) == {"room": "kitchen", "state": "off"}, call
    print(f"set_lights: score {started.score:.3f}, threshold {started.threshold:.3f}")
    # Said without what the tools need: asked for, not made up.
    for said in ("What's the weather like?", "Unlock the door."):
        call, _, words = decided(reply(llm_engine, [system, {"role": "user", "content": said}],
                                       [*tools, *registry.schemas(["unlock_door"])]))
        assert call is None and words.strip(), (said, call)



def test_without_a_tool_that_could_know_it_says_it_cannot_check():
    llm = build_llm(Settings())  # its own: it keeps the server's prompt, as a server does
    persona = get_persona("assistant")
    server = {"role": "system", "content": f"{SPOKEN_STYLE}\n\n{persona.instructions}"}
    llm.keep(LLMRequest([server], registry.schemas(persona.tools)))
    client = {"role": "system", "content": "You are Max, a friendly helper. Answer briefly."}
    for question in ("Is it raining in London?", "What time is it in Tokyo?"):
        call, _, words = decided(reply(llm, [client, {"role": "user", "content": question}], []))
        assert call is None and re.search(r"\bcan'?t check\b", words), (question, words)
        assert not re.search(r"\b(it is|it's) (raining|not raining|sunny|\d)", words), words
    # What it knows it still answers; with the tool, it calls it.
    _, _, words = decided(reply(llm, [client, {"role": "user", "content":
                                               "What is the capital of France?"}], []))
    assert "Paris" in words and "check" not in words, words
    call, _, _ = decided(reply(llm, [server, {"role": "user", "content":
                                              "Is it raining in London?"}],
                               registry.schemas(persona.tools)))
    assert call is not None and call.name == "get_weather", call
