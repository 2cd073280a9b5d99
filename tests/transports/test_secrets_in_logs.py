"""Keys and secrets never reach the logs: the whole log output of full sessions — keys by
header and subprotocol, minted secrets, a refused key, a relay with its upstream key, an
HTTP stage whose server quotes the key back, an unexpected failure with its traceback —
is scanned for every one of them, with everything logged at debug level."""

from __future__ import annotations

import json
import logging

import httpx
import websockets

from tests.engines.test_openai_http import fake_openai  # noqa: F401  (the server)
from tests.fakes import FakeVAD, break_log_on_final_items
from tests.helpers import UPSTREAM_KEY, raw_events, scripted_server, start_relay, start_server
from vivavoce.brains.factory import build_cascade
from vivavoce.settings import Settings
from vivavoce.transports.app import create_app

# This test's own client logs what it sends (keys included): under a name of its own.
CLIENT_LOG = logging.getLogger("tests.client")
KEY = "sk-server-key-6b1f0c9d2e"
HTTP_KEY = "sk-http-stage-key-4a8e1c"
WRONG = "sk-wrong-guess-93d2aa"


async def a_session(url: str, *, headers=None, subprotocols=None) -> list[dict]:
    async with websockets.connect(f"{url}/v1/realtime", additional_headers=headers or {},
                                  subprotocols=subprotocols, logger=CLIENT_LOG) as ws:
        await raw_events(ws, "session.created")
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": ["user"], "content": []}}))
        await ws.send(json.dumps({"type": "session.update", "session": {
            "output_modalities": ["text"], "audio": {"input": {"turn_detection": None}}}}))
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Hello?"}]}}))
        await ws.send(json.dumps({"type": "response.create"}))
        return await raw_events(ws, "response.done")


async def test_no_key_or_secret_is_ever_logged(caplog, fake_openai, monkeypatch):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    minted: list[str] = []
    url, requests = fake_openai
    requests.status = 401  # the HTTP stage's server refuses, quoting the key it was sent
    # A server on HTTP stages whose conversation log fails: its sessions fail in ways that
    # log tracebacks.
    break_log_on_final_items(monkeypatch)
    settings = Settings(api_key=KEY, stt="http", llm="http", tts="http", stt_url=url,
                        llm_url=url, tts_url=url, http_api_key=HTTP_KEY)
    local = start_server(create_app(settings, build_cascade(settings), FakeVAD()), settings)
    try:
        with scripted_server(api_key=UPSTREAM_KEY) as upstream:
            relay = start_relay(upstream, api_key=KEY)
            try:
                for server in (local, relay):
                    if server is relay:
                        monkeypatch.undo()  # the relay's log works: its turns complete
                    async with httpx.AsyncClient(base_url=server.http) as http:
                        for response in (
                                await http.post("/v1/realtime/client_secrets", json={},
                                                headers={"Authorization": f"Bearer {KEY}"}),
                                await http.post("/session", json={},
                                                headers={"Sec-Fetch-Site": "same-origin"})):
                            assert response.status_code == 200
                            minted.append(response.json()["value"])
                    done = await a_session(server.ws, subprotocols=[
                        "realtime", f"openai-insecure-api-key.{KEY}"])
                    if server is local:
                        assert done[-1]["response"]["status"] == "failed"
                    await a_session(server.ws, headers={"Authorization": f"Bearer {minted[-2]}"})
                    async with websockets.connect(
                            f"{server.ws}/v1/realtime", logger=CLIENT_LOG,
                            additional_headers={"Authorization": f"Bearer {WRONG}"}) as refused:
                        assert json.loads(await refused.recv())["error"]["code"] == \
                            "invalid_api_key"
            finally:
                relay.stop()
    finally:
        local.stop()
    server_records = [r for r in caplog.records if r.name != CLIENT_LOG.name]
    logged = "\n".join(caplog.handler.format(r) for r in server_records)
    assert "Traceback" in logged and "unexpected error" in logged  # failures were logged
    assert "401 Unauthorized" in logged  # and so was the stage's refusal
    for secret in (KEY, UPSTREAM_KEY, HTTP_KEY, WRONG, *minted):
        assert secret not in logged, secret
