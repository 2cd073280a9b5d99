"""The sideband: a backend's WebSocket into a WebRTC call's session (`?call_id=`), with the
server's key. It hears what the call's data channel hears, steers the session and answers
the tools it declared; the caller never answers them."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from tests.fakes import FakeBrain, speech
from tests.validation import validate_ga
from tests.webrtc.test_calls import KEY, text_turn
from vivavoce.engines.base import ToolCall, ToolCallStarted

LOOKUP = {"type": "function", "name": "lookup_order", "description": "Where an order is.",
          "parameters": {"type": "object", "properties": {"order": {"type": "string"}}}}


async def sideband(live, call_id: str, key: str | None = KEY):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await websockets.connect(f"{live.ws}/v1/realtime?call_id={call_id}",
                                    additional_headers=headers, max_size=None)


async def until_event(ws, type_: str, seen: list[dict]) -> dict:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 30))
        validate_ga(event)
        seen.append(event)
        if event["type"] == type_:
            return event


async def test_a_backend_steers_the_call_and_answers_its_tool(serve, callers):
    brain = FakeBrain(scripts=[[ToolCallStarted(),
                                ToolCall("lookup_order", '{"order": "A17"}', "call_17")],
                               [speech("It ships today.", 400)]])
    live = serve(brain=brain, api_key=KEY)
    async with httpx.AsyncClient(base_url=live.http, trust_env=False) as web:
        secret = (await web.post("/v1/realtime/client_secrets", json={},
                                 headers={"Authorization": f"Bearer {KEY}"})).json()["value"]
    browser = callers()
    assert (await browser.call(live.http, token=secret)).status_code == 201
    await browser.next("session.created", 15)
    backend, observer = await sideband(live, browser.call_id), \
        await sideband(live, browser.call_id)
    seen: list[dict] = []
    watched: list[dict] = []
    # Mid-call, the backend changes the instructions and declares its own tool.
    await backend.send(json.dumps({"type": "session.update", "session": {
        "type": "realtime", "instructions": "You help with orders.", "tools": [LOOKUP]}}))
    await until_event(backend, "session.updated", seen)
    _, updated = await browser.next("session.updated")
    assert updated["session"]["instructions"] == "You help with orders."
    text_turn(browser, "Where is my order A17?")
    call = await until_event(backend, "response.function_call_arguments.done", seen)
    assert call["name"] == "lookup_order" and call["call_id"] == "call_17"
    assert brain.requests[0].instructions == "You help with orders."
    await until_event(backend, "response.done", seen)
    await backend.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": "call_17",
        "output": json.dumps({"status": "shipped"})}}))
    await backend.send(json.dumps({"type": "response.create"}))
    # (The first response said a filler, then called the tool: the answer is the next.)
    _, answer = await browser.next(lambda e: e["type"] == "response.done" and not any(
        i["type"] == "function_call" for i in e["response"]["output"]))
    assert answer["response"]["status"] == "completed"
    assert "It ships today." in json.dumps(answer["response"]["output"])
    # The model read the backend's answer; the browser sent no tool output of its own.
    outputs = [i for i in brain.requests[1].items if i["type"] == "function_call_output"]
    assert [json.loads(i["output"]) for i in outputs] == [{"status": "shipped"}]
    assert not any(e["type"] == "conversation.item.create" and
                   e["item"]["type"] == "function_call_output" for e in browser.sent)
    # A second observer heard the same conversation.
    await until_event(observer, "output_audio_buffer.started", watched)
    assert {"response.function_call_arguments.done", "session.updated"} <= \
        {e["type"] for e in watched}
    for event in browser.log:
        validate_ga(event)
    # The call ends: everyone on the sideband is let go.
    async with httpx.AsyncClient(base_url=live.http, trust_env=False) as web:
        reply = await web.post(f"/v1/realtime/calls/{browser.call_id}/hangup",
                               headers={"Authorization": f"Bearer {KEY}"})
        assert reply.status_code == 200
    for ws in (backend, observer):
        while True:
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                assert closed.rcvd.reason == "session ended"
                break
    # An ended call cannot be joined.
    late = await sideband(live, browser.call_id)
    error = json.loads(await late.recv())
    validate_ga(error)
    assert error["error"]["code"] == "call_not_found"
    await asyncio.wait_for(late.wait_closed(), 5)


async def test_unknown_calls_and_missing_keys_are_refused(serve, callers):
    live = serve(api_key=KEY)
    browser = callers()
    assert (await browser.call(live.http, token=KEY)).status_code == 201
    for call_id, key, code in (("rtc_unknown", KEY, "call_not_found"),
                               (browser.call_id, None, "invalid_api_key"),
                               (browser.call_id, "sk-wrong", "invalid_api_key")):
        ws = await sideband(live, call_id, key)
        error = json.loads(await ws.recv())
        validate_ga(error)
        assert error["error"]["code"] == code
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.close_code == 1008
