"""Conversations survive on WebRTC calls too: a call that drops is followed by a new call
that resumes the same session (a client secret minted to resume it is all the caller
sends, as to the hosted API), redrawn and continued; a second call takes a session
over and the first is told why; and a call held by one instance is reached through
another (its sideband passed through, its hangup passed on). Real servers (aiortc,
runner, store) in the test's network namespace, aiortc callers, a scripted brain."""

from __future__ import annotations

import asyncio
import json

import websockets

from tests.fakes import FakeBrain, speech
from tests.helpers import free_port
from tests.validation import validate_ga
from tests.webrtc.test_calls import KEY, http, text_turn
from vivavoce.bench.call_client import CallClient

ANSWERS = [[speech("Hello Ada.", 300)], [speech("You are Ada.", 300)]]


def said(item: dict) -> str:
    part = item["content"][0]
    return part.get("text") or part.get("transcript") or ""


async def redraw(client: CallClient, count: int) -> list[dict]:
    """The items a resumed session announces again, in order."""
    items = []
    for _ in range(count):
        _, added = await client.next("conversation.item.added")
        _, done = await client.next("conversation.item.done")
        assert added["item"]["id"] == done["item"]["id"]
        items.append(done["item"])
    return items


async def test_a_dropped_call_is_resumed_by_a_new_call(serve, callers):
    brain = FakeBrain(scripts=ANSWERS)
    live = serve(brain=brain, api_key=KEY)
    key = {"Authorization": f"Bearer {KEY}"}
    async with http(live) as web:
        minted = (await web.post("/v1/realtime/client_secrets", json={}, headers=key)).json()
    first = callers()
    assert (await first.call(live.http, token=minted["value"])).status_code == 201
    _, created = await first.next("session.created", 15)
    session_id = created["session"]["id"]
    assert session_id == minted["session_id"]
    text_turn(first, "My name is Ada.")
    _, done = await first.next("response.done")
    assert done["response"]["status"] == "completed"
    await first.close()  # the caller's network goes: no goodbye

    async with http(live) as web:
        # A secret minted for another session cannot resume this one.
        other = (await web.post("/v1/realtime/client_secrets", json={}, headers=key)).json()
        resumed = (await web.post("/v1/realtime/client_secrets", json={"resume": {
            "session_id": session_id, "resume_token": minted["resume_token"]}})).json()
    stranger = callers()
    refused = await stranger.call(live.http, token=other["value"], query=f"?resume={session_id}")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_resume_credential"

    second = callers()  # the secret alone says which session: no query of vivavoce's own
    assert (await second.call(live.http, token=resumed["value"])).status_code == 201
    _, created = await second.next("session.created", 15)
    assert created["session"]["id"] == session_id
    items = await redraw(second, 2)
    assert [said(i) for i in items] == ["My name is Ada.", "Hello Ada."]
    text_turn(second, "What is my name?")
    _, done = await second.next("response.done")
    assert said(done["response"]["output"][0]) == "You are Ada."
    history = [said(i) for i in brain.requests[-1].items]
    assert history == ["My name is Ada.", "Hello Ada.", "What is my name?"]

    # Resumed again elsewhere (the server's key may): this call is told why it ends.
    third = callers()
    assert (await third.call(live.http, token=KEY, query=f"?resume={session_id}")
            ).status_code == 201
    _, ended = await second.next(lambda e: e["type"] == "error", 15)
    assert ended["error"]["code"] == "session_ended"
    assert ended["error"]["message"] == "session resumed by another connection"
    _, created = await third.next("session.created", 15)
    assert created["session"]["id"] == session_id
    assert len(await redraw(third, 4)) == 4
    for event in second.log + third.log:
        validate_ga(event)


async def test_a_call_held_by_one_instance_is_reached_through_another(serve, callers):
    def instance():
        port = free_port()
        return serve(brain=FakeBrain(scripts=ANSWERS), api_key=KEY, port=port,
                     advertise_url=f"http://127.0.0.1:{port}")

    a, b = instance(), instance()  # one store: the tests' data directory
    caller = callers()
    assert (await caller.call(b.http, token=KEY)).status_code == 201
    _, created = await caller.next("session.created", 15)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with websockets.connect(f"{a.ws}/v1/realtime?call_id={caller.call_id}",
                                  additional_headers=headers) as sideband:
        await sideband.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "instructions": "Greet Ada."}}))
        _, updated = await caller.next("session.updated")
        assert updated["session"]["instructions"] == "Greet Ada."
        text_turn(caller, "Hi.")
        while (event := json.loads(await asyncio.wait_for(sideband.recv(), 15)))["type"] \
                != "response.done":
            validate_ga(event)
        assert event["response"]["status"] == "completed"

        async with http(a) as web:  # asked of A, ended by B
            reply = await web.post(f"/v1/realtime/calls/{caller.call_id}/hangup",
                                   headers=headers)
        assert reply.status_code == 200
        _, ended = await caller.next(lambda e: e["type"] == "error", 15)
        assert ended["error"]["code"] == "session_ended"
        assert ended["error"]["message"] == "hung up"
        try:
            while True:
                await asyncio.wait_for(sideband.recv(), 10)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd.reason == "session ended"
    async with http(a) as web:
        await asyncio.sleep(0.5)
        gone = await web.delete(f"/v1/realtime/calls/{caller.call_id}", headers=headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "call_not_found"
    assert created["session"]["id"] not in b.app.state.runner.sessions
