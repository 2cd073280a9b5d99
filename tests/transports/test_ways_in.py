"""Every way in, from a client's side on a live server (scripted brain, no models): which
pages may open sessions, the page's own secret minting, limits, and the close codes and
reasons a client reads when the server ends a session."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.fakes import FakeBrain, Wait, speech, until
from tests.helpers import raw_events, scripted_server
from vivavoce.engines.base import TextDelta

KEY = "sk-test-ways-in-7d3e9a1b"


async def opens(url: str, **headers: str) -> dict:
    """The first event a WebSocket client gets, or the HTTP status its upgrade was refused with."""
    try:
        async with websockets.connect(f"{url}/v1/realtime", additional_headers=headers) as ws:
            return json.loads(await ws.recv())
    except InvalidStatus as refused:
        return {"status": refused.response.status_code,
                "body": json.loads(refused.response.body or b"{}")}


async def test_websocket_upgrades_are_checked_by_origin():
    with scripted_server() as live:
        own = f"http://127.0.0.1:{live.port}"
        assert (await opens(live.ws))["type"] == "session.created"  # not a browser
        assert (await opens(live.ws, Origin=own))["type"] == "session.created"
        refused = await opens(live.ws, Origin="http://evil.example")
        assert refused["status"] == 403
        assert "http://evil.example" in refused["body"]["error"]["message"]
        # A foreign name that resolves here (DNS rebinding) is no loopback server's own.
        rebound = await opens(live.ws, Origin=f"http://evil.example:{live.port}",
                              Host=f"evil.example:{live.port}")
        assert rebound["status"] == 403
        assert (await opens(live.ws, Origin=f"http://127.0.0.1:{live.port + 1}"))["status"] \
            == 403
        # The two sessions that opened end once their clients left; no refusal opened one.
        await until(lambda: not live.server.config.app.state.runner.sessions, 10)


async def test_an_allowed_origin_may_connect_in_every_mode():
    with scripted_server(api_key=KEY, allowed_origins="https://app.example") as live:
        allowed = await opens(live.ws, Origin="https://app.example",
                              Authorization=f"Bearer {KEY}")
        assert allowed["type"] == "session.created"
        # Refused before the key is even looked at.
        refused = await opens(live.ws, Origin="https://other.example",
                              Authorization=f"Bearer {KEY}")
        assert refused["status"] == 403
        with httpx.Client(base_url=live.http) as http:
            preflight = http.options("/v1/realtime/client_secrets", headers={
                "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize("headers, status", [
    ({}, 403),  # curl: neither a matching Origin nor Sec-Fetch-Site
    ({"Sec-Fetch-Site": "same-origin"}, 200),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "OWN"}, 200),
    ({"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "null"}, 403),
])
@pytest.mark.parametrize("key", [None, KEY])
def test_the_page_session_needs_a_same_origin_browser_request(headers, status, key):
    with scripted_server(api_key=key) as live:
        headers = {k: v.replace("OWN", live.http) for k, v in headers.items()}
        with httpx.Client(base_url=live.http) as http:
            minted = http.post("/session", json={}, headers=headers)
    assert minted.status_code == status, minted.text
    if status == 200:
        assert minted.json()["value"].startswith("ek_")


def test_minting_is_rate_limited_per_client():
    with scripted_server(api_key=KEY, mint_per_minute=2) as live, \
            httpx.Client(base_url=live.http) as http:
        minted = [http.post("/v1/realtime/client_secrets", json={},
                            headers={"Authorization": f"Bearer {KEY}"}) for _ in range(3)]
        assert [m.status_code for m in minted] == [200, 200, 429]
        assert 1 <= int(minted[2].headers["retry-after"]) <= 30
        page = http.post("/session", json={}, headers={"Sec-Fetch-Site": "same-origin"})
        assert page.status_code == 429
        # A foreign page is refused before it counts.
        foreign = http.post("/v1/realtime/client_secrets", json={},
                            headers={"Authorization": f"Bearer {KEY}",
                                     "Origin": "http://evil.example"})
        assert foreign.status_code == 403


async def test_over_max_sessions_a_client_is_told_to_try_again_later():
    with scripted_server(max_sessions=1) as live:
        async with websockets.connect(f"{live.ws}/v1/realtime") as first:
            await raw_events(first, "conversation.created")
            async with websockets.connect(f"{live.ws}/v1/realtime") as second:
                error = json.loads(await second.recv())
                assert error["error"]["code"] == "server_busy"
                with pytest.raises(ConnectionClosed) as closed:
                    await second.recv()
            assert closed.value.rcvd.code == 1013
            assert "max-sessions 1" in closed.value.rcvd.reason
        await asyncio.sleep(0.2)  # the first one's place is free again
        assert (await opens(live.ws))["type"] == "session.created"


async def test_a_key_may_hold_only_so_many_sessions():
    with scripted_server(api_key=KEY, max_sessions_per_key=1) as live:
        auth = {"Authorization": f"Bearer {KEY}"}
        async with websockets.connect(f"{live.ws}/v1/realtime", additional_headers=auth) as ws:
            await raw_events(ws, "conversation.created")
            async with websockets.connect(f"{live.ws}/v1/realtime",
                                          additional_headers=auth) as second:
                assert json.loads(await second.recv())["error"]["code"] == "server_busy"
                with pytest.raises(ConnectionClosed) as closed:
                    await second.recv()
            assert closed.value.rcvd.code == 1013 and "per-key" in closed.value.rcvd.reason
            # A client secret is a key of its own.
            async with httpx.AsyncClient() as http:
                secret = (await http.post(f"{live.http}/v1/realtime/client_secrets",
                                          json={}, headers=auth)).json()["value"]
            assert (await opens(live.ws, Authorization=f"Bearer {secret}"))["type"] \
                == "session.created"


async def test_a_session_past_its_maximum_length_is_closed_with_a_reason():
    with scripted_server(max_session_s=0.5) as live:
        async with websockets.connect(f"{live.ws}/v1/realtime") as ws:
            events = await raw_events(ws, "error")
            assert events[-1]["error"]["code"] == "session_expired"
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "session expired")


async def test_a_client_that_stops_reading_is_closed_with_1008_and_a_reason():
    """Ten minutes of speech come back at once; the client reads none of it. The server
    lets it go (its queue never grows past the backlog); when the client reads at last,
    the close code and the reason follow what was already on the wire."""
    brain = FakeBrain(scripts=[[speech(f"Part {n}.", 1000) for n in range(600)]])
    with scripted_server(brain, send_backlog_s=2) as live:
        runner = live.server.config.app.state.runner
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window
        sock.connect(("127.0.0.1", live.port))
        async with websockets.connect(f"{live.ws}/v1/realtime", sock=sock, max_size=None,
                                      max_queue=1) as ws:
            await ws.send(json.dumps({"type": "response.create"}))
            for _ in range(200):  # the server side gives up on the reader
                await asyncio.sleep(0.05)
                if not runner.sessions:
                    break
            assert not runner.sessions
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
    assert closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason.startswith("slow reader")


async def test_an_internal_failure_closes_with_1011(monkeypatch):
    with scripted_server() as live:
        runner = live.server.config.app.state.runner

        async def broken(transport, context):
            raise RuntimeError("a bug beyond the last line of defence")

        monkeypatch.setattr(runner, "serve", broken)
        async with websockets.connect(f"{live.ws}/v1/realtime") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1011, "internal error")


async def test_malformed_events_over_the_socket_never_drop_the_session():
    """The reported crash over a real socket, in both dialects, then a normal turn."""
    hold = Wait()
    hold.go()
    brain = FakeBrain(scripts=[[TextDelta("Hello.")]])
    with scripted_server(brain) as live:
        for beta_header in ({}, {"OpenAI-Beta": "realtime=v1"}):
            async with websockets.connect(f"{live.ws}/v1/realtime",
                                          additional_headers=beta_header) as ws:
                await raw_events(ws, "session.created") if not beta_header else await ws.recv()
                for role in (["user"], {"x": 1}, None, 5):
                    await ws.send(json.dumps({"type": "conversation.item.create", "item": {
                        "type": "message", "role": role, "content": []}}))
                    error = json.loads(await ws.recv())
                    while error["type"] != "error":
                        error = json.loads(await ws.recv())
                    assert error["error"]["param"] == "item.role"
                await ws.send(b"\x00binary")
                await ws.send("[" * 100_000)
                await ws.send(json.dumps({"type": "response.create", "response": {
                    "modalities" if beta_header else "output_modalities": ["text"]}}))
                while (event := json.loads(await ws.recv()))["type"] != "response.done":
                    pass
                assert event["response"]["status"] == "completed"


def test_python_dash_m_vivavoce_is_the_vivavoce_command():
    ran = subprocess.run([sys.executable, "-m", "vivavoce", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout.startswith("vivavoce ")
    helped = subprocess.run([sys.executable, "-m", "vivavoce", "serve", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert "--max-sessions" in helped.stdout and "--allowed-origin" in helped.stdout


async def test_a_key_that_is_not_ascii_is_simply_wrong():
    """Keys are compared in constant time, as bytes: any string is a wrong guess."""
    with scripted_server(api_key=KEY) as live:
        for guess in ("ünïcødé", KEY[:-1] + "é", ""):
            refused = await opens(live.ws, Authorization=f"Bearer {guess}")
            assert refused["error"]["code"] == "invalid_api_key"
        assert (await opens(live.ws, Authorization=f"Bearer {KEY}"))["type"] == "session.created"


def test_webrtc_calls_are_checked_by_origin_and_room_before_any_media():
    """The calls endpoint refuses a foreign page, and a server with no room, before it
    looks at the offer (no ICE or media needed to see it)."""
    offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    sdp = {"Content-Type": "application/sdp"}
    with scripted_server(max_sessions=0) as live, httpx.Client(base_url=live.http) as http:
        foreign = http.post("/v1/realtime/calls", content=offer,
                            headers={**sdp, "Origin": "http://evil.example"})
        assert foreign.status_code == 403
        assert "evil.example" in foreign.json()["error"]["message"]
        full = http.post("/v1/realtime/calls", content=offer,
                         headers={**sdp, "Origin": live.http})
        assert full.status_code == 503
        assert full.json()["error"]["code"] == "server_busy"


async def test_the_sideband_is_checked_by_origin_too():
    with scripted_server(api_key=KEY) as live:
        refused = await opens(f"{live.ws}", Origin="http://evil.example",
                              Authorization=f"Bearer {KEY}")
        assert refused["status"] == 403
        async with websockets.connect(f"{live.ws}/v1/realtime?call_id=rtc_nope",
                                      additional_headers={"Authorization": f"Bearer {KEY}"}
                                      ) as ws:
            assert json.loads(await ws.recv())["error"]["code"] == "call_not_found"
        try:
            async with websockets.connect(f"{live.ws}/v1/realtime?call_id=rtc_nope",
                                          additional_headers={"Origin": "http://evil.example"}):
                raise AssertionError("a foreign page joined a sideband")
        except InvalidStatus as err:
            assert err.response.status_code == 403
