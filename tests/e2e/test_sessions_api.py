"""Stored sessions over the wire, model-free (a scripted brain behind real servers on
loopback): resume tokens, client secrets and sessions shared by two instances on one
PostgreSQL, the operators' routes, and a call's sideband proxied to its instance."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import websockets

from tests.fakes import FakeBrain, FakeVAD
from tests.helpers import LiveServer, free_port, raw_events, start_server, text_turn
from vivavoce.engines.base import TextDelta
from vivavoce.settings import Settings
from vivavoce.transports.app import create_app

KEY = "sk-server-2d9f"
TEXT = {"type": "realtime", "output_modalities": ["text"],
        "audio": {"input": {"turn_detection": None}}}


def key_header() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def servers() -> Iterator:
    started: list[LiveServer] = []

    def start(**settings) -> LiveServer:
        port = free_port()
        settings = Settings(api_key=KEY, port=port, advertise_url=f"http://127.0.0.1:{port}",
                            **settings)
        brain = FakeBrain(scripts=[[TextDelta("Hello Ada.")], [TextDelta("You are Ada.")]])
        live = start_server(create_app(settings, brain, FakeVAD()), settings, port)
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()




async def open_with(server: LiveServer, headers: dict[str, str], query: str = ""):
    return websockets.connect(f"{server.ws}/v1/realtime{query}", additional_headers=headers)


async def test_resume_tokens_work_once_and_deleted_sessions_stay_gone(servers):
    server = servers()
    async with httpx.AsyncClient(base_url=server.http) as http:
        minted = (await http.post("/v1/realtime/client_secrets", headers=key_header(),
                                  json={"session": TEXT})).json()
        session_id, token = minted["session_id"], minted["resume_token"]
        assert token.startswith("rt_")
        async with await open_with(server, bearer(minted["value"])) as ws:
            created = (await raw_events(ws, "session.created"))[-1]
            assert created["session"]["id"] == session_id  # the secret's session
            await text_turn(ws, "My name is Ada.")

        # No credential, or a secret minted for another session: refused, clearly.
        async with await open_with(server, {}, f"?resume={session_id}") as ws:
            (error,) = await raw_events(ws, "error")
            assert error["error"]["code"] == "invalid_api_key"
        other = (await http.post("/v1/realtime/client_secrets", headers=key_header(),
                                 json={})).json()
        async with await open_with(server, bearer(other["value"]),
                                   f"?resume={session_id}") as ws:
            (error,) = await raw_events(ws, "error")
            assert error["error"]["code"] == "invalid_resume_credential"
            assert session_id in error["error"]["message"]

        def exchange(rt: str | None, sid: str = session_id):
            return http.post("/v1/realtime/client_secrets",
                             json={"resume": {"session_id": sid, "resume_token": rt}})

        wrong = await exchange("rt_not-the-token")
        assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
        swapped = await exchange(token)
        assert swapped.status_code == 200
        again = swapped.json()
        assert again["session_id"] == session_id and again["resume_token"] != token
        assert again["session"]["output_modalities"] == ["text"]
        reused = await exchange(token)  # rotated: the old one is spent
        assert reused.status_code == 401 and "work once" in reused.json()["detail"]

        async with await open_with(server, bearer(again["value"]),
                                   f"?resume={session_id}") as ws:
            events = await raw_events(ws, "conversation.item.done")
            assert events[0]["type"] == "session.created"
            assert events[0]["session"]["id"] == session_id
            assert events[-1]["item"]["content"][0]["text"] == "My name is Ada."
            events = await raw_events(ws, "conversation.item.done")
            assert events[-1]["item"]["content"][0]["text"] == "Hello Ada."
            answer = await text_turn(ws, "What is my name?")
            assert answer["output"][0]["content"][0]["text"] == "You are Ada."

        # The operator can always hand out a fresh token (the one before stops working).
        described = (await http.get(f"/v1/sessions/{session_id}", headers=key_header())).json()
        assert described["config"]["output_modalities"] == ["text"]
        assert described["usage"]["total_tokens"] >= 0 and len(described["responses"]) == 2
        assert (await exchange(again["resume_token"])).status_code == 401
        assert (await exchange(described["resume_token"])).status_code == 200

        assert (await http.delete(f"/v1/sessions/{session_id}")).status_code == 401
        deleted = await http.delete(f"/v1/sessions/{session_id}", headers=key_header())
        assert deleted.json() == {"id": session_id, "object": "vivavoce.session.deleted",
                                  "deleted": True}
        gone = await exchange(described["resume_token"])
        assert gone.status_code == 404 and "deleted" in gone.json()["detail"]
        async with await open_with(server, key_header(), f"?resume={session_id}") as ws:
            (error,) = await raw_events(ws, "error")
            assert error["error"]["code"] == "session_not_found"
        assert (await http.get(f"/v1/sessions/{session_id}/items",
                               headers=key_header())).status_code == 404


async def test_two_instances_share_sessions_secrets_and_calls(servers, postgres):
    url = postgres.new_database()
    a, b = servers(database_url=url), servers(database_url=url)
    async with httpx.AsyncClient() as http:
        # A client secret minted on A opens a session on B.
        minted = (await http.post(f"{a.http}/v1/realtime/client_secrets", headers=key_header(),
                                  json={"session": TEXT})).json()
        async with await open_with(b, bearer(minted["value"])) as client:
            created = (await raw_events(client, "session.created"))[-1]
            session_id = created["session"]["id"]
            assert session_id == minted["session_id"]
            await text_turn(client, "My name is Ada.")
            # Its items answer on either instance.
            for server in (a, b):
                items = (await http.get(f"{server.http}/v1/sessions/{session_id}/items",
                                        headers=key_header())).json()["items"]
                assert [i["content"][0]["text"] for i in items] == ["My name is Ada.",
                                                                    "Hello Ada."]
            listed = (await http.get(f"{a.http}/v1/sessions?limit=1",
                                     headers=key_header())).json()
            assert listed["data"][0]["id"] == session_id and listed["data"][0]["holder"]

            # A call held by B (registered as the WebRTC transport will): its sideband,
            # asked of A, is passed through to B and joins the session there.
            runner_b = b.server.config.app.state.runner
            await runner_b.calls.register("rtc_test", session_id)
            async with await open_with(a, key_header(), "?call_id=rtc_test") as sideband:
                await sideband.send(json.dumps({"type": "response.create"}))
                done = (await raw_events(client, "response.done"))[-1]["response"]
                heard = (await raw_events(sideband, "response.done"))[-1]["response"]
                assert heard["id"] == done["id"]
            await runner_b.calls.release("rtc_test")
            async with await open_with(a, key_header(), "?call_id=rtc_test") as sideband:
                (error,) = await raw_events(sideband, "error")
                assert error["error"]["code"] == "call_not_found"

        # Resumed on A what B served: A takes it over, with the history.
        async with await open_with(a, key_header(), f"?resume={session_id}") as again:
            events = await raw_events(again, "conversation.item.done")
            assert events[0]["session"]["id"] == session_id
            assert events[-1]["item"]["content"][0]["text"] == "My name is Ada."
            record = (await http.get(f"{b.http}/v1/sessions/{session_id}",
                                     headers=key_header())).json()
            assert record["holder"] == a.server.config.app.state.runner.instance.id


async def test_sessions_are_listed_a_page_at_a_time(servers):
    server = servers()
    ids = []
    for _ in range(3):
        async with await open_with(server, key_header()) as ws:
            ids.append((await raw_events(ws, "session.created"))[-1]["session"]["id"])
    async with httpx.AsyncClient(base_url=server.http, headers=key_header()) as http:
        first = (await http.get("/v1/sessions?limit=2")).json()
        assert first["has_more"] and first["last_id"] == first["data"][-1]["id"]
        rest = (await http.get(f"/v1/sessions?limit=2&after={first['last_id']}")).json()
        listed = [s["id"] for s in first["data"] + rest["data"]]
        assert listed[:3] == ids[::-1]  # newest first (the scratch store may hold older ones)
        assert (await http.get("/v1/sessions", headers={"Authorization": "Bearer x"})
                ).status_code == 401


async def test_a_relay_session_resumes_with_its_log_replayed_upstream(servers):
    from vivavoce.brains.relay import Relay
    from vivavoce.tools import ToolRegistry

    upstream = servers()
    upstream_brain = upstream.server.config.app.state.runner.backend.brain
    settings = Settings(brain="relay")
    relay = Relay(f"{upstream.ws}/v1/realtime", None, KEY, ToolRegistry())
    front = start_server(create_app(settings, relay, None), settings)
    try:
        async with websockets.connect(f"{front.ws}/v1/realtime") as ws:
            session_id = (await raw_events(ws, "session.created"))[-1]["session"]["id"]
            await ws.send(json.dumps({"type": "session.update", "session": TEXT}))
            await raw_events(ws, "session.updated")
            first = await text_turn(ws, "My name is Ada.")
        async with websockets.connect(f"{front.ws}/v1/realtime?resume={session_id}") as ws:
            events = await raw_events(ws, "session.created")
            assert events[-1]["session"]["id"] == session_id
            assert events[-1]["session"]["output_modalities"] == ["text"]
            redraw = [(await raw_events(ws, "conversation.item.done"))[-1]["item"]
                      for _ in range(2)]
            assert redraw[1]["id"] == first["output"][0]["id"]
            assert redraw[0]["content"][0]["text"] == "My name is Ada."
            answer = await text_turn(ws, "What is my name?")
            assert answer["output"][0]["content"][0]["text"] == "You are Ada."
        # The new upstream session was given the conversation before the question.
        history = upstream_brain.requests[-1].items
        assert [p.get("text") for i in history for p in i["content"]] == [
            "My name is Ada.", "Hello Ada.", "What is my name?"]
    finally:
        front.stop()


async def test_stored_audio_is_returned_by_the_items_route_when_asked(servers):
    server = servers(store_audio=True)
    said = (np.sin(np.arange(24 * 400) / 24000 * 2 * np.pi * 220) * 3000).astype("<i2")
    async with await open_with(server, key_header()) as ws:
        session_id = (await raw_events(ws, "session.created"))[-1]["session"]["id"]
        await ws.send(json.dumps({"type": "session.update", "session": TEXT}))
        await raw_events(ws, "session.updated")
        await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                  "audio": base64.b64encode(said.tobytes()).decode()}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        await ws.send(json.dumps({"type": "response.create"}))
        await raw_events(ws, "response.done")
    async with httpx.AsyncClient(base_url=server.http, headers=key_header()) as http:
        plain = (await http.get(f"/v1/sessions/{session_id}/items")).json()["items"]
        assert plain[0]["content"][0]["type"] == "input_audio"
        assert "audio" not in plain[0]["content"][0]  # only when asked: it is large
        items = (await http.get(f"/v1/sessions/{session_id}/items?include=audio")).json()
    user, answer = items["items"]
    assert base64.b64decode(user["content"][0]["audio"]) == said.tobytes()
    assert "audio" not in answer["content"][0]  # a text answer has none
