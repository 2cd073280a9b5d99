"""examples/enigma_backend.py: a backend starts the call for the browser, joins its
sideband and referees the Enigma's door with a code the browser never sees."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from aiortc import RTCSessionDescription

from tests.fakes import FakeBrain, speech
from tests.validation import validate_ga
from tests.webrtc.test_calls import KEY, text_turn
from vivavoce.engines.base import ToolCall, ToolCallStarted

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "enigma_backend.py"


def load_example():
    spec = importlib.util.spec_from_file_location("enigma_backend", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_backend_referees_the_door_over_the_sideband(serve, callers):
    brain = FakeBrain()
    live = serve(brain=brain, api_key=KEY)
    backend = load_example().EnigmaBackend(live.http, KEY)
    browser = callers()
    await browser.pc.setLocalDescription(await browser.pc.createOffer())
    answer = await backend.start_call(browser.pc.localDescription.sdp)
    await browser.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    _, created = await browser.next("session.created", 15)
    (call_id,) = backend.rooms
    code = backend.code(call_id)
    # The model tries a wrong code, then the right one; the backend answers both.
    wrong = "0000" if code != "0000" else "1111"
    brain.scripts = [[ToolCallStarted(), ToolCall("unlock_door", json.dumps({"code": wrong}),
                                                   "call_1")],
                     [ToolCallStarted(), ToolCall("unlock_door", json.dumps({"code": code}),
                                                   "call_2")],
                     [speech("The door swings open.", 300)]]
    text_turn(browser, f"Try {wrong}, then {code}.")
    outputs = []
    while len(outputs) < 2:
        _, added = await browser.next(lambda e: e["type"] == "conversation.item.done"
                                      and e["item"]["type"] == "function_call_output", 30)
        outputs.append(json.loads(added["item"]["output"]))
    assert [o["unlocked"] for o in outputs] == [False, True]
    # The browser heard the riddles, never the code: nothing it received says it
    # (beyond the guess the model itself made), and its session has the backend's tool.
    assert [t["name"] for t in created["session"]["tools"]] == ["unlock_door"]
    assert code not in created["session"]["instructions"]
    for event in browser.log:
        validate_ga(event)
